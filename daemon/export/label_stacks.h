/* export_stacks.h - a profile as the text flamegraph formats see it: frames
 * as labels (equal text shares one id; ids sort like the text) and samples as
 * root-first stacks of label ids, sorted.  Shared by export_collapsed.c and
 * export_svg.c. */
#ifndef PYBPF_EXPORT_STACKS_H
#define PYBPF_EXPORT_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

struct label_stack {
	const uint32_t *ids; /* root first */
	uint32_t n;
	uint64_t weight; /* profile_weight(): samples, or microseconds */
};

struct label_stacks {
	size_t nlabels;
	const char **label;	    /* label id -> text */
	uint32_t *label_frame;	    /* label id -> a frame with that label (nframes: "[unknown]") */
	struct label_stack *stacks; /* samples with a weight, sorted */
	size_t nstacks;
	uint32_t maxlen; /* longest stack */
	uint64_t total;	 /* sum of weights */
	/* storage */
	uint32_t *frame_label; /* frame index -> label id; slot nframes: "[unknown]" */
	char **text;	       /* frame index -> cleaned label text */
	size_t ntext;
	uint32_t *ids;
};

/* clean() rewrites a label in place (never longer) to suit the format.
 * Returns 0, or -1 with errno set. */
int label_stacks_build(struct label_stacks *ls, const struct profile *p, void (*clean)(char *));
void label_stacks_free(struct label_stacks *ls);
int label_stack_cmp(const struct label_stack *a, const struct label_stack *b);

#endif
