/* export_speedscope.c - speedscope's JSON file format
 * (https://www.speedscope.app/file-format-schema.json).
 *
 * The profile's frame table becomes shared.frames as is; every (pid, tid) gets
 * a "sampled" profile whose samples are root-first frame index lists.  Weights
 * are the samples' values in nanoseconds, or their counts (unit "none") when
 * the profile carries no values.
 */
#include "export/export.h"
#include "sys/textesc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_URL "https://www.speedscope.app/file-format-schema.json"

struct thread {
	size_t first, n; /* range in the sorted sample list */
	uint64_t weight;
};

struct ss {
	const struct profile *p;
	FILE *out;
	bool by_value;
	const struct prof_sample **samples; /* with a weight, sorted by thread */
	size_t nsamples;
	struct thread *threads;
	size_t nthreads;
};

static uint64_t sample_weight(const struct ss *c, const struct prof_sample *s)
{
	return c->by_value ? s->value : s->count;
}

static void group_threads(struct ss *c)
{
	for (size_t i = 0; i < c->nsamples; i++) {
		const struct prof_sample *s = c->samples[i];
		struct thread *t = c->nthreads ? &c->threads[c->nthreads - 1] : NULL;
		const struct prof_sample *head = t ? c->samples[t->first] : NULL;
		if (!head || head->pid != s->pid || head->tid != s->tid) {
			t = &c->threads[c->nthreads++];
			*t = (struct thread){i, 0, 0};
		}
		t->n++;
		t->weight += sample_weight(c, s);
	}
}

static int collect(struct ss *c)
{
	const struct profile *p = c->p;

	for (size_t i = 0; i < p->nsamples; i++)
		c->by_value |= p->samples[i].value != 0;
	c->samples = calloc(p->nsamples ? p->nsamples : 1, sizeof(*c->samples));
	c->threads = calloc(p->nsamples ? p->nsamples : 1, sizeof(*c->threads));
	if (!c->samples || !c->threads) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < p->nsamples; i++) {
		if (sample_weight(c, &p->samples[i]))
			c->samples[c->nsamples++] = &p->samples[i];
	}
	if (c->nsamples)
		qsort(c->samples, c->nsamples, sizeof(*c->samples),
		      profile_sample_cmp_thread_stack);
	group_threads(c);
	return 0;
}

static void write_frame(FILE *out, const struct prof_frame *f, bool short_files)
{
	char label[4096];
	bool py = f->kind == PROF_FRAME_PYTHON;
	const char *file = py ? (short_files ? profile_short_file(f->file) : f->file) : f->module;

	fputs("{\"name\":", out);
	json_write_string(out,
			  py ? f->name : profile_frame_label(f, short_files, label, sizeof(label)));
	if (file && *file) {
		fputs(",\"file\":", out);
		json_write_string(out, file);
	}
	if (py && f->line > 0)
		fprintf(out, ",\"line\":%" PRId64, f->line);
	fputc('}', out);
}

static void write_frames(struct ss *c)
{
	fputs("\"shared\":{\"frames\":[", c->out);
	for (size_t i = 0; i < c->p->nframes; i++) {
		fputs(i ? ",\n" : "\n", c->out);
		write_frame(c->out, &c->p->frames[i], c->p->short_files);
	}
	fputs("\n]},\n", c->out);
}

/* "pid PID tid TID (name)", the name being the first one seen. */
static void write_thread_name(struct ss *c, const struct thread *t)
{
	const struct prof_sample *head = c->samples[t->first];
	const char *name = "";

	for (size_t i = t->first; i < t->first + t->n && !*name; i++)
		name = c->samples[i]->thread_name ? c->samples[i]->thread_name : "";
	fprintf(c->out, "\"name\":\"pid %" PRIu32 " tid %" PRIu32, head->pid, head->tid);
	if (*name) {
		fputs(" (", c->out);
		json_write_chars(c->out, name);
		fputc(')', c->out);
	}
	fputc('"', c->out);
}

static void write_stack(FILE *out, const struct prof_sample *s)
{
	fputc('[', out);
	for (uint32_t j = 0; j < s->nframes; j++)
		fprintf(out, "%s%" PRIu32, j ? "," : "", s->frames[s->nframes - 1 - j]);
	fputc(']', out);
}

static void write_profile(struct ss *c, const struct thread *t)
{
	FILE *out = c->out;

	fputs("{\"type\":\"sampled\",", out);
	write_thread_name(c, t);
	fprintf(out, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":%" PRIu64 ",\n\"samples\":[",
		c->by_value ? "nanoseconds" : "none", t->weight);
	for (size_t i = 0; i < t->n; i++) {
		fputs(i ? ",\n" : "\n", out);
		write_stack(out, c->samples[t->first + i]);
	}
	fputs("\n],\n\"weights\":[", out);
	for (size_t i = 0; i < t->n; i++) {
		uint64_t w = sample_weight(c, c->samples[t->first + i]);
		fprintf(out, "%s%" PRIu64, i ? "," : "", w);
	}
	fputs("]}", out);
}

static size_t heaviest_thread(const struct ss *c)
{
	size_t best = 0;
	for (size_t i = 1; i < c->nthreads; i++) {
		if (c->threads[i].weight > c->threads[best].weight)
			best = i;
	}
	return best;
}

static void write_doc(struct ss *c, const char *name)
{
	FILE *out = c->out;

	fputs("{\"$schema\":\"" SCHEMA_URL "\",\n\"exporter\":\"pybpf\",\n\"name\":", out);
	json_write_string(out, name);
	fprintf(out, ",\n\"activeProfileIndex\":%zu,\n", heaviest_thread(c));
	write_frames(c);
	fputs("\"profiles\":[", out);
	for (size_t i = 0; i < c->nthreads; i++) {
		fputs(i ? ",\n" : "\n", out);
		write_profile(c, &c->threads[i]);
	}
	fputs("\n]}\n", out);
}

int export_speedscope(const struct profile *p, FILE *out, const char *name)
{
	struct ss c = {.p = p, .out = out};
	int ret = -1;

	if (!p || !out) {
		errno = EINVAL;
		return -1;
	}
	if (collect(&c))
		goto out;
	errno = 0;
	write_doc(&c, name && *name ? name : "pybpf profile");
	if (export_finish(out))
		goto out;
	ret = 0;
out:
	free(c.samples);
	free(c.threads);
	return ret;
}
