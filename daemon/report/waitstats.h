/* waitstats.h - where threads spend their time: on CPU, holding or waiting
 * for the GIL, and off CPU by reason, per thread and per stack.  What
 * `pybpfctl gil` and `pybpfctl io` report. */
#ifndef PYBPF_WAITSTATS_H
#define PYBPF_WAITSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "pybpf_shared.h"
#include "sys/htab.h"

struct ws_thread {
	uint32_t pid, tid;
	uint64_t cpu_samples;		 /* on CPU */
	uint64_t hold_samples;		 /* on CPU holding the GIL */
	uint64_t hold_contended_samples; /* ... while another thread waited */
	uint64_t offcpu_ns[REASON__COUNT];
	uint64_t held_offcpu_ns; /* off CPU while holding the GIL */
};

enum ws_category {
	WS_GIL_WAIT,	   /* stacks waiting for the GIL (ns) */
	WS_HOLD_CONTENDED, /* stacks holding the GIL while others wait (samples) */
	WS_HOLD,	   /* per thread: stacks holding the GIL (samples) */
	WS_REASON,	   /* + reason: stacks off CPU for that reason (ns) */
};

struct ws_stack {
	uint32_t category;
	uint32_t tid; /* WS_HOLD: the thread; else 0 */
	uint64_t hash;
	uint64_t count, ns;
};

/* Zero-initialised is empty.  Moving one (struct copy, then memset of the
 * source) hands over its memory. */
struct waitstats {
	struct ws_thread *threads;
	size_t nthreads, threads_cap;
	struct ws_stack *stacks;
	size_t nstacks, stacks_cap;
	struct htab thread_ix, stack_ix;
};

void waitstats_free(struct waitstats *w);
/* Adds one drained count. */
int waitstats_add(struct waitstats *w, const struct pybpf_count_key *key,
		  const struct pybpf_count *val);
/* The top n stacks of a category (and thread), heaviest first: fills out and
 * returns how many.  Weight: ns, or count where ns is 0. */
size_t waitstats_top(const struct waitstats *w, uint32_t category, uint32_t tid,
		     const struct ws_stack **out, size_t n);
const char *waitstats_reason_name(unsigned reason);

#endif
