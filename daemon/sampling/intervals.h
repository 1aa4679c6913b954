/* intervals.h - off-CPU time cut at drain boundaries.  The BPF side counts
 * an interval off CPU only when it ends (the thread comes back), so a thread
 * asleep for minutes would show nothing for minutes and then all of it at
 * once, in whatever window or capture it wakes in.  Here each drain adds,
 * for every thread still off CPU, the part of its interval that falls in the
 * drain's span (a partial count), and takes what was already added off the
 * interval's count when it finally arrives.  Every window, capture and
 * report then holds exactly the off-CPU time of its own span, a thread
 * asleep throughout included, and nothing from before it.
 *
 * A drain k (at time D_k, after the flip of the generation) drains the
 * counts of [D_{k-2}, D_{k-1}): intervals that ended then.  Its partials are
 * those of the same span, for the threads that were off CPU at D_{k-1} (the
 * snapshot of the previous drain).  A drain that takes every generation (a
 * flush, the end of a run) adds the partials up to its own time too
 * (intervals_flush). */
#ifndef PYBPF_INTERVALS_H
#define PYBPF_INTERVALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampling/bpf_loader.h"
#include "sys/htab.h"

/* An interval seen open in some snapshot.  Seen last in the snapshot taken
 * while generation last_gen filled, it ended in last_gen (or, ending in the
 * moment between a flip and the snapshot after it, in last_gen + 1): its
 * count is in one of those two. */
struct open_ivl {
	uint32_t tid;
	uint64_t ts;
	struct pybpf_count_key key; /* what its count will be filed under */
	uint64_t accounted;	    /* ns already added as partials */
	uint64_t until;		    /* ... which cover [ts, until) */
	uint32_t last_gen;
	uint64_t last_seen; /* the last drain whose snapshot held it */
	uint64_t stack;	    /* for one that began without a stack (hash 0): one read
			     * since, which its partials and its count are filed under */
	bool asked;	    /* ... looked for already */
	bool dead;
};

struct intervals {
	struct open_ivl *v;
	size_t n, cap;
	struct htab by_tid;	  /* tid -> v[] (several per tid) */
	struct bpfs_offcpu *prev; /* the snapshot at the previous drain */
	size_t nprev;
	uint64_t d1;	 /* D_{k-1}: when it was taken */
	uint64_t drains; /* k */
};

int intervals_init(struct intervals *iv, uint64_t start_ns);
void intervals_free(struct intervals *iv);

/* One drain: now (the snapshot just taken at drain_ns, after the flip to
 * generation gen) replaces the previous; the partials of the span just
 * drained go to emit.  Then the counts are to be drained, each passed
 * through intervals_count().  Takes ownership of now. */
int intervals_drain(struct intervals *iv, struct bpfs_offcpu *now, size_t n, uint64_t drain_ns,
		    uint32_t gen, bpfs_count_fn emit, void *ctx);
/* A drained count (drained in ascending generations): what partials
 * already added of the intervals it sums is taken off val->ns, and a
 * stackless one gets the stack found for it (key->hash). */
void intervals_count(struct intervals *iv, struct pybpf_count_key *key, struct pybpf_count *val);

/* The stacks of threads of pid, tids[n], now (hashes[i], 0 if none), each
 * blocked since ts[i]: 0 too for one no longer in that interval once its
 * stack was read (it woke meanwhile: the stack is of what it did next). */
typedef int (*intervals_stacks_fn)(void *ctx, uint32_t pid, const uint32_t *tids,
				   const uint64_t *ts, size_t n, uint64_t *hashes);
/* Intervals that began while the kernel side took no stacks (off-CPU time
 * by reason only): once stacks are wanted, each open one gets the stack its
 * thread is blocked in, read from userspace, for the rest of it. */
int intervals_give_stacks(struct intervals *iv, intervals_stacks_fn fn, void *ctx);
/* After a drain that took every generation: the threads off CPU at it get
 * their time up to end_ns (its time). */
int intervals_flush(struct intervals *iv, uint64_t end_ns, bpfs_count_fn emit, void *ctx);

#endif
