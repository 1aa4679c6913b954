/* recorder.h - one profiling run: load BPF, follow target processes, gather
 * samples until told to stop.  The pipeline pybpfctl runs without a daemon
 * and the daemon runs for its windows. */
#ifndef PYBPF_RECORDER_H
#define PYBPF_RECORDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "sampling/aggregate.h"
#include "sampling/bpf_loader.h"
#include "sampling/dbprobes.h"
#include "sampling/intervals.h"
#include "sys/clock.h"

struct recorder {
	struct aggregator agg;
	struct bpf_session *bpf;
	uint64_t start_ns;   /* CLOCK_REALTIME at open */
	uint64_t start_mono; /* CLOCK_MONOTONIC at open */
	uint64_t last_drain;
	bool offcpu;	      /* off-CPU tracking (modes but cpu) */
	bool offcpu_stacks;   /* ... with a stack at each switch-out */
	struct intervals ivl; /* off-CPU time cut at drains */
	struct dbprobes db;   /* database drivers' calls (modes but cpu) */
	/* also sees every drained count (the daemon's reports), or NULL */
	bpfs_count_fn count_hook;
	void *hook_ctx;
};

/* Opens the BPF side at rate_hz; err says why not.  Modes other than cpu
 * also track threads off CPU. */
int recorder_open(struct recorder *r, uint32_t rate_hz, enum agg_mode mode, char *err,
		  size_t errlen);
void recorder_close(struct recorder *r);

/* Profiles pid from now on.  err says why not (not Python, unsupported...). */
int recorder_add_pid(struct recorder *r, const struct pyprocess *pp, char *err, size_t errlen);

/* Stops profiling pid and forgets what was known of it. */
void recorder_remove_pid(struct recorder *r, pid_t pid);

/* Forgets the stacks not seen in the last `keep` sweeps (those of threads
 * still off CPU stay); the kernel sends them again if they recur.  Returns
 * how many, -1 when out of memory. */
long recorder_sweep(struct recorder *r, uint32_t keep);
/* Forgets the stacks of processes gone for good (pids sorted), here and in
 * the kernel.  Returns how many, -1 on ENOMEM. */
long recorder_drop_pids(struct recorder *r, const uint32_t *pids, size_t n);

/* Whether switch-outs take a stack (they cost an unwind each); time off CPU
 * that began without one gets its stack from userspace once they do. */
void recorder_set_offcpu_stacks(struct recorder *r, bool on);

/* Waits up to timeout_ms for new stacks; drains counts once a second.
 * Returns 1 when it drained, 0 when not, -1 on error. */
/* The run's span starts now, before its first drain: a run of one process
 * begins once it is registered, so that the time registering took (its
 * threads asleep are seeded as asleep from then: seconds under a sanitizer
 * on a loaded machine) is not in its span as time they were not asleep. */
void recorder_begin(struct recorder *r);
int recorder_step(struct recorder *r, int timeout_ms);

/* Ends a tick now, whenever the last was: the counts sampled until now go
 * into the generation the next drain takes.  0 or -1. */
int recorder_cut(struct recorder *r);

/* Drains everything sampled until now (the window then holds it all);
 * sampling goes on.  0 or -1. */
int recorder_flush(struct recorder *r);

/* Stops sampling, drains everything and returns the profile since open (caller frees with
 * profile_free + free). */
struct profile *recorder_finish(struct recorder *r);

/* BPF counters plus the userspace ones (unknown stacks, unknown code). */
struct recorder_stats {
	uint64_t bpf[STAT__COUNT];
	struct agg_stats agg;
	uint64_t bpf_run_ns, bpf_run_cnt; /* with kernel.bpf_stats_enabled=1 */
};
int recorder_stats(struct recorder *r, struct recorder_stats *out);

/* Samples lost, by reason: every BPF counter of kind STATK_DROP
 * (include/pybpf_shared.h) and the stacks that never reached userspace
 * ("stack_lost").  The one definition of "dropped" that every summary,
 * status and /metrics shows. */
#define RECORDER_MAX_DROPS (STAT__COUNT + 1)
struct recorder_drop {
	const char *reason;
	uint64_t n;
};
/* Fills out (at most RECORDER_MAX_DROPS) and returns how many reasons. */
size_t recorder_drops(const struct recorder_stats *st, struct recorder_drop *out);
/* Their sum. */
uint64_t recorder_dropped(const struct recorder_stats *st);
uint64_t recorder_drops_total(const struct recorder_drop *d, size_t n);
/* "dropped N (reason n, ...)": the one way every text says it. */
void recorder_drops_text(FILE *out, const struct recorder_drop *d, size_t n);
/* "\"dropped\": N, \"drops\": {\"reason\": n, ...}": ... and every JSON. */
void recorder_drops_json(FILE *out, const struct recorder_drop *d, size_t n);

#endif
