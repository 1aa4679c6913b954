/* report.h - the GIL and off-CPU reports of `pybpfctl gil` and `pybpfctl io`,
 * from what a recording gathered. */
#ifndef PYBPF_REPORT_H
#define PYBPF_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "record.h"

struct report_input {
	struct recorder *rec;
	const struct pyprocess *pp;
	double seconds;	   /* length of the recording */
	uint64_t switches; /* GIL switch_number delta over the recording */
	bool have_switches;
	struct gil_stats gil; /* the BPF GIL counters */
	uint64_t hist[GIL_HIST_BUCKETS];
};

/* Reads the GIL counters of rec's BPF side into in (before it is closed). */
void report_collect(struct report_input *in);

void report_gil(const struct report_input *in, bool json, FILE *out);
void report_io(const struct report_input *in, bool json, FILE *out);

#endif
