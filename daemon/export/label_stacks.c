/* export_stacks.c - frames as sorted labels, samples as label stacks. */
#include "export/label_stacks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 4096

struct label_ref {
	const char *text;
	uint32_t frame;
};

static int cmp_label_ref(const void *a, const void *b)
{
	const struct label_ref *x = a, *y = b;
	int c = strcmp(x->text, y->text);
	if (c)
		return c;
	return (x->frame > y->frame) - (x->frame < y->frame);
}

void label_stacks_free(struct label_stacks *ls)
{
	for (size_t i = 0; ls->text && i < ls->ntext; i++)
		free(ls->text[i]);
	free(ls->text);
	free(ls->frame_label);
	free(ls->label);
	free(ls->label_frame);
	free(ls->stacks);
	free(ls->ids);
	memset(ls, 0, sizeof(*ls));
}

static int texts(struct label_stacks *ls, const struct profile *p, void (*clean)(char *))
{
	char buf[LABEL_MAX];
	for (size_t i = 0; i < p->nframes; i++) {
		profile_frame_label(&p->frames[i], p->short_files, buf, sizeof(buf));
		clean(buf);
		ls->text[i] = strdup(buf);
		if (!ls->text[i])
			return -1;
	}
	ls->text[p->nframes] = strdup("[unknown]");
	return ls->text[p->nframes] ? 0 : -1;
}

static int labels(struct label_stacks *ls, const struct profile *p, void (*clean)(char *))
{
	size_t n = p->nframes + 1;
	struct label_ref *refs = calloc(n, sizeof(*refs));
	ls->ntext = n;
	ls->text = calloc(n, sizeof(*ls->text));
	ls->frame_label = calloc(n, sizeof(*ls->frame_label));
	ls->label = calloc(n, sizeof(*ls->label));
	ls->label_frame = calloc(n, sizeof(*ls->label_frame));
	if (!refs || !ls->text || !ls->frame_label || !ls->label || !ls->label_frame ||
	    texts(ls, p, clean)) {
		free(refs);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct label_ref){ls->text[i], (uint32_t)i};
	if (n)
		qsort(refs, n, sizeof(*refs), cmp_label_ref);
	for (size_t i = 0; i < n; i++) {
		if (i && strcmp(refs[i].text, refs[i - 1].text) == 0) {
			ls->frame_label[refs[i].frame] = (uint32_t)ls->nlabels - 1;
			continue;
		}
		ls->frame_label[refs[i].frame] = (uint32_t)ls->nlabels;
		ls->label[ls->nlabels] = refs[i].text;
		ls->label_frame[ls->nlabels++] = refs[i].frame;
	}
	free(refs);
	return 0;
}

int label_stack_cmp(const struct label_stack *x, const struct label_stack *y)
{
	uint32_t n = x->n < y->n ? x->n : y->n;
	for (uint32_t i = 0; i < n; i++) {
		if (x->ids[i] != y->ids[i])
			return x->ids[i] < y->ids[i] ? -1 : 1;
	}
	return (x->n > y->n) - (x->n < y->n);
}

static int cmp_stack(const void *a, const void *b)
{
	return label_stack_cmp(a, b);
}

static int stacks(struct label_stacks *ls, const struct profile *p)
{
	size_t nids = 0;
	for (size_t i = 0; i < p->nsamples; i++)
		nids += p->samples[i].nframes ? p->samples[i].nframes : 1;
	ls->stacks = calloc(p->nsamples ? p->nsamples : 1, sizeof(*ls->stacks));
	uint32_t *ids = ls->ids = calloc(nids ? nids : 1, sizeof(*ids));
	if (!ls->stacks || !ls->ids)
		return -1;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct prof_sample *s = &p->samples[i];
		uint64_t w = profile_weight(p, s);
		if (!w)
			continue;
		struct label_stack *st = &ls->stacks[ls->nstacks++];
		*st = (struct label_stack){ids, s->nframes ? s->nframes : 1, w};
		if (!s->nframes)
			*ids++ = ls->frame_label[p->nframes];
		for (uint32_t j = 0; j < s->nframes; j++) {
			uint32_t f = s->frames[s->nframes - 1 - j];
			*ids++ = ls->frame_label[f < p->nframes ? f : p->nframes];
		}
		ls->total += w;
		if (st->n > ls->maxlen)
			ls->maxlen = st->n;
	}
	if (ls->nstacks)
		qsort(ls->stacks, ls->nstacks, sizeof(*ls->stacks), cmp_stack);
	return 0;
}

int label_stacks_build(struct label_stacks *ls, const struct profile *p, void (*clean)(char *))
{
	memset(ls, 0, sizeof(*ls));
	if (labels(ls, p, clean) || stacks(ls, p)) {
		label_stacks_free(ls);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}
