/* natsym.h - native instruction pointers of a process to object and symbol. */
#ifndef PYBPF_NATSYM_H
#define PYBPF_NATSYM_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sys/procmaps.h"

struct elfcache;

struct natsym_proc {
	pid_t pid;
	struct elfcache *cache; /* the owner's; not freed here */
	struct procmaps pm;
	time_t read_at; /* when pm was read; re-read at most once a second on a miss */
};

struct natsym {
	const char *module; /* path as the process sees it; valid until the next re-read */
	const char *name;   /* symbol, or NULL */
	uint64_t vaddr;	    /* link-time address in module */
	uint64_t func;	    /* no symbol: start of its function by the call frame
			     * information (link-time), 0 when unknown */
};

int natsym_open(struct natsym_proc *np, pid_t pid, struct elfcache *cache);
void natsym_close(struct natsym_proc *np);
/* Resolves ip; -1 when it lies in no executable mapping. */
int natsym_resolve(struct natsym_proc *np, uint64_t ip, struct natsym *out);

#endif
