/* dbprobes.h - database time: finds the driver libraries (native/drivers.c)
 * the registered processes map and puts uprobes on their entry points, at
 * registration and again as a process may load one later (an import): at
 * 0.5, 1, 2 and 4 s, then every DBPROBES_RESCAN_NS. */
#ifndef PYBPF_DBPROBES_H
#define PYBPF_DBPROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampling/bpf_loader.h"

#define DBPROBES_RESCAN_NS (5ULL * 1000000000ULL)

struct dbprobes {
	struct dbp_proc {
		pid_t pid;
		uint64_t next_ns, step_ns;
	} * procs;
	size_t n, cap;
	bool off;	    /* no probes (pybpfd's db_time = false) */
	uint64_t libraries; /* library files probed */
	uint64_t failures;  /* ... that could not be */
};

/* Scans pid now and schedules its next scans.  0, -1 out of memory. */
int dbprobes_add(struct dbprobes *d, struct bpf_session *s, pid_t pid, uint64_t now_ns);
void dbprobes_remove(struct dbprobes *d, pid_t pid);
/* Scans the processes due at now_ns. */
void dbprobes_tick(struct dbprobes *d, struct bpf_session *s, uint64_t now_ns);
void dbprobes_free(struct dbprobes *d);

#endif
