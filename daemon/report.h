/* report.h - the GIL and off-CPU reports of `pybpfctl gil` and `pybpfctl io`,
 * from what a recording gathered. */
#ifndef PYBPF_REPORT_H
#define PYBPF_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "record.h"

struct report_input {
	struct aggregator *agg;	       /* thread names, stack frames, rate */
	const struct waitstats *waits; /* what the recording gathered */
	struct bpf_session *bpf;       /* per-thread GIL counters */
	/* baseline subtracted from bpf's per-thread counters (the daemon's
	 * counters run since it started); NULL for none */
	int (*thread_base)(void *ctx, uint32_t tid, struct gil_thread *out);
	void *base_ctx;
	const struct pyprocess *pp;
	double seconds;	   /* length of the recording */
	uint64_t switches; /* GIL switch_number delta over the recording */
	bool have_switches;
	struct gil_stats gil; /* the BPF GIL counters */
	uint64_t hist[GIL_HIST_BUCKETS];
};

/* Fills in from a recorder: its aggregator, wait statistics, BPF session
 * and GIL counters (before it is closed). */
void report_collect(struct report_input *in, struct recorder *rec);
/* The GIL counters of one thread over the recording. */
void report_thread_gil(const struct report_input *in, uint32_t tid, struct gil_thread *out);

void report_gil(const struct report_input *in, bool json, FILE *out);
void report_io(const struct report_input *in, bool json, FILE *out);

#endif
