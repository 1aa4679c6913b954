/* collapsed.c - "root;...;leaf N" lines, the folded format that
 * flamegraph.pl, inferno and speedscope read.  N is in the unit of
 * profile_weight(): samples in a CPU profile, microseconds of time in a wall,
 * off-CPU or GIL-wait one.
 *
 * Frames are shown by label; stacks whose labels are equal are merged into one
 * line whatever their pid, tid or reason.  Lines are sorted frame by frame in
 * label order, so the output is deterministic.
 */
#include "export/export.h"
#include "export/label_stacks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ';' separates frames and '\n' lines: keep them out of labels. */
static void sanitize(char *s)
{
	for (; *s; s++) {
		if (*s == ';')
			*s = ':';
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
	}
}

static void write_stack(const struct label_stacks *ls, const struct label_stack *s, uint64_t count,
			FILE *out)
{
	for (uint32_t i = 0; i < s->n; i++) {
		if (i)
			fputc(';', out);
		fputs(ls->label[s->ids[i]], out);
	}
	fprintf(out, " %" PRIu64 "\n", count);
}

/* Stacks are sorted: equal ones are neighbours, merged into one line. */
static void write_stacks(const struct label_stacks *ls, FILE *out)
{
	for (size_t i = 0; i < ls->nstacks;) {
		uint64_t count = 0;
		size_t j = i;
		for (; j < ls->nstacks && label_stack_cmp(&ls->stacks[i], &ls->stacks[j]) == 0; j++)
			count += ls->stacks[j].weight;
		write_stack(ls, &ls->stacks[i], count, out);
		i = j;
	}
}

int export_collapsed(const struct profile *p, FILE *out)
{
	struct label_stacks ls;
	int ret = -1;

	if (!p || !out) {
		errno = EINVAL;
		return -1;
	}
	if (label_stacks_build(&ls, p, sanitize))
		return -1;
	errno = 0;
	write_stacks(&ls, out);
	if (export_finish(out))
		goto out;
	ret = 0;
out:
	label_stacks_free(&ls);
	return ret;
}
