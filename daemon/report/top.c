/* top.c - the `pybpfctl top` table. */
#include "report/top.h"

#include <stdlib.h>
#include <string.h>

#include "profile/view.h"
#include "sys/htab.h"

struct profile *top_view(const struct profile *p, bool gil, bool idle)
{
	struct prof_view v = {.native = PROF_NATIVE_ALL, .gil_only = gil, .idle = idle};
	return p ? profile_view(p, &v) : NULL;
}

struct row_key {
	const struct top_table *t;
	const struct prof_frame *f;
};

static uint64_t key_hash(const char *fn, const char *file)
{
	return hash_mix64((uint64_t)(uintptr_t)fn * 31 + (uint64_t)(uintptr_t)file);
}

static bool same_row(const void *ctx, uint32_t i)
{
	const struct row_key *k = ctx;
	const struct top_row *r = &k->t->rows[i];
	return r->function == k->f->name && r->file == k->f->file;
}

/* The row of (fn, file), added when new; -1 on ENOMEM.  Strings are
 * interned in the profile: equal text, equal pointer. */
static int64_t row_of(struct top_table *t, struct htab *ix, size_t *cap, const struct prof_frame *f)
{
	struct row_key k = {t, f};
	uint64_t h = key_hash(f->name, f->file);
	int64_t r = htab_get(ix, h, same_row, &k);
	if (r >= 0)
		return r;
	if (t->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 128;
		struct top_row *nr = realloc(t->rows, ncap * sizeof(*nr));
		if (!nr)
			return -1;
		t->rows = nr;
		*cap = ncap;
	}
	if (htab_put(ix, h, (uint32_t)t->n))
		return -1;
	t->rows[t->n] = (struct top_row){f->name, f->file, f->start_line, 0, 0};
	return (int64_t)t->n++;
}

static int by_self(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;
	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->function, y->function);
}

int top_compute(const struct profile *p, struct top_table *t)
{
	struct htab ix;
	uint64_t *stamp = NULL;
	size_t stamp_cap = 0, rows_cap = 0;
	int ret = -1;
	memset(t, 0, sizeof(*t));
	if (htab_init(&ix, 256))
		return -1;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct prof_sample *s = &p->samples[i];
		bool have_self = false;
		bool any_python = false;
		for (uint32_t k = 0; k < s->nframes; k++)
			any_python |= p->frames[s->frames[k]].kind == PROF_FRAME_PYTHON;
		t->samples += s->count;
		for (uint32_t k = 0; k < s->nframes; k++) {
			const struct prof_frame *f = &p->frames[s->frames[k]];
			if (any_python ? f->kind != PROF_FRAME_PYTHON : k != 0)
				continue;
			int64_t r = row_of(t, &ix, &rows_cap, f);
			if (r < 0)
				goto out;
			if ((size_t)r >= stamp_cap) {
				size_t ncap = rows_cap;
				uint64_t *ns = realloc(stamp, ncap * sizeof(*ns));
				if (!ns)
					goto out;
				memset(ns + stamp_cap, 0, (ncap - stamp_cap) * sizeof(*ns));
				stamp = ns;
				stamp_cap = ncap;
			}
			if (!have_self) {
				t->rows[r].self += s->count;
				have_self = true;
			}
			if (stamp[r] != i + 1) { /* once per stack, recursion or not */
				stamp[r] = i + 1;
				t->rows[r].total += s->count;
			}
		}
	}
	if (t->n)
		qsort(t->rows, t->n, sizeof(*t->rows), by_self);
	ret = 0;
out:
	htab_free(&ix);
	free(stamp);
	if (ret)
		top_free(t);
	return ret;
}

void top_free(struct top_table *t)
{
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

void top_print(const struct top_row *rows, size_t n, uint64_t samples, double seconds,
	       size_t max_rows, int width, FILE *out)
{
	char line[1024];
	fprintf(out, "%llu samples in %.1f s\n\n", (unsigned long long)samples, seconds);
	snprintf(line, sizeof(line), "%7s %7s  %s", "%Own", "%Total", "Function (file:line)");
	fprintf(out, "%.*s\n", width, line);
	for (size_t i = 0; i < n && i < max_rows; i++) {
		double own = samples ? 100.0 * (double)rows[i].self / (double)samples : 0;
		double tot = samples ? 100.0 * (double)rows[i].total / (double)samples : 0;
		if (rows[i].file[0])
			snprintf(line, sizeof(line), "%6.1f%% %6.1f%%  %s (%s:%lld)", own, tot,
				 rows[i].function, base_name(rows[i].file),
				 (long long)rows[i].line);
		else
			snprintf(line, sizeof(line), "%6.1f%% %6.1f%%  %s", own, tot,
				 rows[i].function);
		fprintf(out, "%.*s\n", width, line);
	}
}
