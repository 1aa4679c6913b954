/* report.h - the GIL and off-CPU reports of `pybpfctl gil` and `pybpfctl io`,
 * from what a recording gathered: the same code for a recording made here
 * and one the daemon made (whose BPF counters run since it started, hence
 * the baseline). */
#ifndef PYBPF_REPORT_H
#define PYBPF_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sampling/aggregate.h"
#include "sampling/bpf_loader.h"
#include "sampling/recorder.h"

/* The BPF GIL counters of one process when a measurement starts. */
struct report_baseline {
	struct gil_stats gil;
	uint64_t hist[GIL_HIST_BUCKETS];
	uint64_t take_hist[GIL_HIST_BUCKETS];
	struct report_thread_base {
		uint32_t tid;
		struct gil_thread g;
		struct gil_take t;
	} * threads;
	size_t nthreads;
	uint64_t switches; /* the GIL's switch_number */
	bool have_switches;
	uint64_t mono_ns;	     /* when it was taken (CLOCK_MONOTONIC) */
	uint64_t stats[STAT__COUNT]; /* the sampler's counters (every process's) */
	uint64_t stack_lost;	     /* ... and the stacks that never reached it */
};

/* Reads the counters of pp's process and threads now.  0 or -1 (ENOMEM). */
int report_baseline_take(struct report_baseline *b, struct bpf_session *bpf,
			 const struct aggregator *agg, const struct pyprocess *pp);
void report_baseline_free(struct report_baseline *b);

struct report_input {
	struct aggregator *agg;	       /* thread names, stack frames, rate */
	const struct waitstats *waits; /* what the recording gathered */
	struct bpf_session *bpf;       /* per-thread GIL counters */
	const struct report_baseline *base;
	const struct report_baseline *end; /* the counters at its end; NULL: now */
	const struct pyprocess *pp;
	double seconds; /* length of the recording */
	/* when it ran (CLOCK_MONOTONIC ns, the host's: the same in every
	 * process), for a script to line it up with its own clock */
	uint64_t start_mono, end_mono;
	uint64_t switches; /* GIL switch_number delta over the recording */
	bool have_switches;
	struct gil_stats gil; /* the BPF GIL counters over the recording */
	uint64_t hist[GIL_HIST_BUCKETS];
	bool takes; /* the exact signal (uprobes on take_gil) ran */
	uint64_t take_hist[GIL_HIST_BUCKETS];
	/* samples lost over the span, by reason (recorder_drops): the
	 * sampler's, so through the daemon every process's */
	struct recorder_drop drops[RECORDER_MAX_DROPS];
	size_t ndrops;
};

/* The figures of pp's process from base until end (a snapshot taken with
 * report_baseline_take; NULL: the live counters now), base's subtracted. */
void report_collect(struct report_input *in, struct aggregator *agg, const struct waitstats *waits,
		    struct bpf_session *bpf, const struct pyprocess *pp,
		    const struct report_baseline *base, const struct report_baseline *end,
		    double seconds);
/* The GIL counters of one thread over the recording. */
void report_thread_gil(const struct report_input *in, uint32_t tid, struct gil_thread *out);
/* ... and its take_gil figures (the exact signal). */
void report_thread_take(const struct report_input *in, uint32_t tid, struct gil_take *out);

void report_gil(const struct report_input *in, bool json, FILE *out);
void report_io(const struct report_input *in, bool json, FILE *out);

/* The p-quantile of a GIL wait histogram (4 buckets per power of two of
 * nanoseconds), interpolated within its bucket, in ns. */
double report_percentile_ns(const uint64_t *hist, double q);

#endif
