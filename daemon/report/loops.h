/* loops.h - `pybpfctl asyncio`: each event loop thread's iterations (from
 * the return of one wait to the entry of the next), their busy time, the
 * stalls (iterations longer than a threshold) and what ran in them, by
 * stack and reason (include/pybpf_shared.h, "event loops"). */
#ifndef PYBPF_LOOPS_H
#define PYBPF_LOOPS_H

#include <stdbool.h>
#include <stdio.h>

#include "pybpf_shared.h"
#include "python/pyprocess.h"
#include "sampling/aggregate.h"
#include "sampling/bpf_loader.h"

#define LOOP_MAX_STALLS 100000 /* kept for a report; the rest counted */

struct loop_stalls {
	struct pybpf_stall *v;
	size_t n, cap;
	uint64_t dropped; /* past LOOP_MAX_STALLS, or malformed */
};

/* The ring buffer's callback (bpfs_loops_start): ctx a struct loop_stalls. */
int loop_stalls_add(void *ctx, const void *rec, size_t len);
void loop_stalls_free(struct loop_stalls *s);

struct loop_report_input {
	struct aggregator *agg;
	struct bpf_session *bpf;
	const struct pyprocess *pp;
	const struct loop_stalls *stalls;
	double seconds;
	uint64_t start_mono, end_mono; /* ns */
	double threshold_ms;
	uint32_t rate_hz;
	const char *hooks; /* bpfs_loop_hooks() while it measured */
};

void loop_report(const struct loop_report_input *in, bool json, FILE *out);

/* A stall's slot: its time (CPU samples at the rate's period, off CPU as
 * measured) and why ("cpu", or the off-CPU reason). */
uint64_t loop_slot_ns(const struct loop_slot *sl, uint32_t rate_hz);
const char *loop_slot_reason(const struct loop_slot *sl);

#endif
