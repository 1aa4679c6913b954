/* procmaps.h - a process's memory mappings, from /proc/PID/maps. */
#ifndef PYBPF_PROCMAPS_H
#define PYBPF_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct mapping {
	uint64_t start, end, offset;
	uint64_t inode;
	unsigned dev_major, dev_minor;
	bool exec;
	char *path; /* as the process sees it; "" for anonymous mappings */
};

struct procmaps {
	pid_t pid;
	struct mapping *m;
	size_t n;
};

/* Reads /proc/PID/maps (at most 65536 mappings).  Returns 0 or -1/errno. */
int procmaps_read(pid_t pid, struct procmaps *out);
/* The same from the text of a maps file read from f (out->pid is left as
 * it is; lines that do not parse are skipped). */
int procmaps_parse(FILE *f, struct procmaps *out);
void procmaps_free(struct procmaps *pm);

/* The mapping containing addr, or NULL. */
const struct mapping *procmaps_find(const struct procmaps *pm, uint64_t addr);

/* Opens exactly the object mapped at m (/proc/PID/map_files/START-END), which
 * works for processes in other mount namespaces.  Returns an fd or -1. */
int procmaps_open(const struct procmaps *pm, const struct mapping *m);

/* The lowest address at which the object of m (same device and inode) is
 * mapped with file offset 0, or 0. */
uint64_t procmaps_base(const struct procmaps *pm, const struct mapping *m);

#endif
