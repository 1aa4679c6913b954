/* top.h - functions by self and total share of a profile's samples, the
 * table `pybpfctl top` shows (like py-spy top). */
#ifndef PYBPF_TOP_H
#define PYBPF_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "profile/profile.h"

struct top_row {
	const char *function; /* interned in the profile it came from */
	const char *file;
	int64_t line;	/* first line of the function (Python), else 0 */
	uint64_t self;	/* samples with this function innermost */
	uint64_t total; /* samples with this function anywhere in the stack */
};

struct top_table {
	struct top_row *rows; /* by self, then total, descending */
	size_t n;
	uint64_t samples;
};

/* Python functions (the innermost Python frame is "self"); samples without
 * a Python frame count for their leaf frame.  0 or -1 (ENOMEM). */
int top_compute(const struct profile *p, struct top_table *t);
/* p as top shows it: every frame (native ones are rows too), only the
 * samples of a thread holding the GIL (gil), or, of a wall profile, the
 * threads off CPU counted as CPU samples (idle: py-spy's --idle).  A new
 * profile the caller frees (profile_free + free), NULL on ENOMEM. */
struct profile *top_view(const struct profile *p, bool gil, bool idle);
void top_free(struct top_table *t);

/* Prints the table: at most max_rows rows, lines cut at width columns. */
void top_print(const struct top_row *rows, size_t n, uint64_t samples, double seconds,
	       size_t max_rows, int width, FILE *out);

#endif
