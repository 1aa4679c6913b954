/* export_collapsed.c - "root;...;leaf COUNT" lines, the folded format that
 * flamegraph.pl, inferno and speedscope read.
 *
 * Frames are shown by label; stacks whose labels are equal are merged into one
 * line whatever their pid, tid or reason.  Lines are sorted frame by frame in
 * label order, so the output is deterministic.
 */
#include "export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 4096

/* Frame labels made safe for the format, deduplicated: equal labels share an
 * id and ids sort like the labels.  Slot nframes is for empty stacks. */
struct labels {
	uint32_t *id;	    /* frame index -> label id */
	const char **by_id; /* label id -> text (owned by text[]) */
	char **text;	    /* frame index -> text */
	size_t n;	    /* nframes + 1 */
};

struct label_ref {
	const char *text;
	uint32_t frame;
};

/* A stack of label ids, root first. */
struct stack {
	const uint32_t *ids;
	uint32_t n;
	uint64_t count;
};

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

static int cmp_label_ref(const void *a, const void *b)
{
	const struct label_ref *x = a, *y = b;
	int c = strcmp(x->text, y->text);
	if (c)
		return c;
	return (x->frame > y->frame) - (x->frame < y->frame);
}

static void labels_free(struct labels *l)
{
	for (size_t i = 0; l->text && i < l->n; i++)
		free(l->text[i]);
	free(l->text);
	free(l->id);
	free(l->by_id);
	memset(l, 0, sizeof(*l));
}

static int labels_text(struct labels *l, const struct profile *p)
{
	char buf[LABEL_MAX];

	for (size_t i = 0; i < p->nframes; i++) {
		profile_frame_label(&p->frames[i], buf, sizeof(buf));
		sanitize(buf);
		l->text[i] = strdup(buf);
		if (!l->text[i])
			return -1;
	}
	l->text[p->nframes] = strdup("[unknown]");
	return l->text[p->nframes] ? 0 : -1;
}

static int labels_build(struct labels *l, const struct profile *p)
{
	struct label_ref *refs = NULL;
	uint32_t next = 0;

	l->n = p->nframes + 1;
	l->text = calloc(l->n, sizeof(*l->text));
	l->id = calloc(l->n, sizeof(*l->id));
	l->by_id = calloc(l->n, sizeof(*l->by_id));
	refs = calloc(l->n, sizeof(*refs));
	if (!l->text || !l->id || !l->by_id || !refs || labels_text(l, p))
		goto fail;

	for (size_t i = 0; i < l->n; i++)
		refs[i] = (struct label_ref){l->text[i], (uint32_t)i};
	qsort(refs, l->n, sizeof(*refs), cmp_label_ref);
	for (size_t i = 0; i < l->n; i++) {
		if (i && strcmp(refs[i].text, refs[i - 1].text))
			next++;
		l->id[refs[i].frame] = next;
		l->by_id[next] = refs[i].text;
	}
	free(refs);
	return 0;
fail:
	free(refs);
	labels_free(l);
	errno = ENOMEM;
	return -1;
}

static int cmp_stack(const void *a, const void *b)
{
	const struct stack *x = a, *y = b;
	uint32_t n = x->n < y->n ? x->n : y->n;

	for (uint32_t i = 0; i < n; i++) {
		if (x->ids[i] != y->ids[i])
			return x->ids[i] < y->ids[i] ? -1 : 1;
	}
	return (x->n > y->n) - (x->n < y->n);
}

static uint32_t frame_label_id(const struct labels *l, uint32_t frame)
{
	return frame < l->n - 1 ? l->id[frame] : l->id[l->n - 1];
}

/* Fills stacks[] (root first, empty stacks as "[unknown]") from the samples
 * that have a count; ids[] is their storage.  Returns how many. */
static size_t fill_stacks(const struct profile *p, const struct labels *l, struct stack *stacks,
			  uint32_t *ids)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nsamples; i++) {
		const struct prof_sample *s = &p->samples[i];
		if (!s->count)
			continue;
		stacks[n] = (struct stack){ids, s->nframes ? s->nframes : 1, s->count};
		if (!s->nframes)
			*ids++ = l->id[l->n - 1];
		for (uint32_t j = 0; j < s->nframes; j++)
			*ids++ = frame_label_id(l, s->frames[s->nframes - 1 - j]);
		n++;
	}
	return n;
}

static void write_stack(const struct labels *l, const struct stack *s, uint64_t count, FILE *out)
{
	for (uint32_t i = 0; i < s->n; i++) {
		if (i)
			fputc(';', out);
		fputs(l->by_id[s->ids[i]], out);
	}
	fprintf(out, " %" PRIu64 "\n", count);
}

static void write_stacks(const struct labels *l, const struct stack *stacks, size_t n, FILE *out)
{
	for (size_t i = 0; i < n;) {
		uint64_t count = 0;
		size_t j = i;
		for (; j < n && cmp_stack(&stacks[i], &stacks[j]) == 0; j++)
			count += stacks[j].count;
		write_stack(l, &stacks[i], count, out);
		i = j;
	}
}

int export_collapsed(const struct profile *p, FILE *out)
{
	struct labels l = {0};
	struct stack *stacks = NULL;
	uint32_t *ids = NULL;
	size_t nids = 0, n;
	int ret = -1;

	if (!p || !out) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < p->nsamples; i++)
		nids += p->samples[i].nframes ? p->samples[i].nframes : 1;
	if (labels_build(&l, p))
		return -1;
	stacks = calloc(p->nsamples ? p->nsamples : 1, sizeof(*stacks));
	ids = calloc(nids ? nids : 1, sizeof(*ids));
	if (!stacks || !ids) {
		errno = ENOMEM;
		goto out;
	}
	n = fill_stacks(p, &l, stacks, ids);
	qsort(stacks, n, sizeof(*stacks), cmp_stack);
	errno = 0;
	write_stacks(&l, stacks, n, out);
	if (fflush(out) || ferror(out)) {
		if (!errno)
			errno = EIO;
		goto out;
	}
	ret = 0;
out:
	free(stacks);
	free(ids);
	labels_free(&l);
	return ret;
}
