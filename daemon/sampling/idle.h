/* idle.h - threads already off CPU when a recording starts.  A context
 * switch shows a thread only when it leaves the CPU, so for these the Python
 * stack is read from userspace and the reason from /proc/PID/task/TID/syscall
 * (with the rules the BPF side uses, include/offcpu_reason.h), and the BPF
 * side is told they left the CPU now. */
#ifndef PYBPF_IDLE_H
#define PYBPF_IDLE_H

#include <stdint.h>

#include "sampling/aggregate.h"
#include "sampling/bpf_loader.h"
#include "python/pyprocess.h"

/* Seeds the off-CPU start of every sleeping thread of pp.  Returns how many,
 * or -1 when one failed (the others seeded all the same). */
int idle_threads_seed(struct aggregator *a, struct bpf_session *s, const struct pyprocess *pp);

/* The Python stacks of threads tids[n] of pp now, read from userspace and
 * added to the aggregator (hashes[i]).  0, or -1 when out of memory. */
int idle_stacks(struct aggregator *a, const struct pyprocess *pp, const uint32_t *tids, size_t n,
		uint64_t *hashes);

/* The off-CPU reason of a blocked thread, from its /proc syscall line. */
int idle_reason(const struct pyprocess *pp, uint32_t tid);

#endif
