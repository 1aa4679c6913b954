/* chrometrace.c - Chrome's trace-event JSON (the "JSON Object Format" of
 * the Trace Event Format), which chrome://tracing, Perfetto's UI and
 * speedscope open.
 *
 * A capture holds stacks and their weights, not when each ran: every thread
 * becomes a flame chart on its own track, its stacks laid end to end in
 * root-first order (as speedscope's "left heavy" view), one complete ("X")
 * event per frame, its duration the time of the stacks under it (CPU time
 * in cpu mode, the mode's time otherwise).  Metadata events name each
 * process and thread; otherData says what the timeline is.
 */
#include "export/export.h"
#include "sys/textesc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct open_frame {
	uint32_t frame;
	double start_us;
};

struct ct {
	const struct profile *p;
	FILE *out;
	bool first;
	struct open_frame *open; /* the current thread's open frames, root first */
	uint32_t nopen;
};

static void sep(struct ct *c)
{
	fputs(c->first ? "\n" : ",\n", c->out);
	c->first = false;
}

static void meta(struct ct *c, const char *what, uint32_t pid, uint32_t tid, const char *name)
{
	sep(c);
	fprintf(c->out,
		"{\"ph\": \"M\", \"name\": \"%s\", \"pid\": %" PRIu32 ", \"tid\": %" PRIu32
		", \"args\": {\"name\": ",
		what, pid, tid);
	json_write_string(c->out, name);
	fputs("}}", c->out);
}

static const char *category(enum prof_frame_kind k)
{
	return k == PROF_FRAME_PYTHON ? "python" : k == PROF_FRAME_KERNEL ? "kernel" : "native";
}

/* Ends the open frames from depth keep on, innermost first, at now. */
static void close_to(struct ct *c, const struct prof_sample *s, uint32_t keep, double now)
{
	char label[1024];
	while (c->nopen > keep) {
		struct open_frame *o = &c->open[--c->nopen];
		const struct prof_frame *f = &c->p->frames[o->frame];
		sep(c);
		fprintf(c->out, "{\"ph\": \"X\", \"cat\": \"%s\", \"name\": ", category(f->kind));
		json_write_string(c->out,
				  profile_frame_label(f, c->p->short_files, label, sizeof(label)));
		fprintf(c->out,
			", \"pid\": %" PRIu32 ", \"tid\": %" PRIu32
			", \"ts\": %.3f, \"dur\": %.3f}",
			s->pid, s->tid, o->start_us, now - o->start_us);
	}
}

static uint32_t common_depth(const struct ct *c, const struct prof_sample *s)
{
	uint32_t d = 0;
	while (d < c->nopen && d < s->nframes && c->open[d].frame == s->frames[s->nframes - 1 - d])
		d++;
	return d;
}

static void write_events(struct ct *c, const struct prof_sample **sorted, size_t n)
{
	double now = 0;
	const struct prof_sample *prev = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct prof_sample *s = sorted[i];
		if (!prev || prev->pid != s->pid || prev->tid != s->tid) {
			if (prev)
				close_to(c, prev, 0, now);
			now = 0; /* each thread's chart starts at 0 */
			if (!prev || prev->pid != s->pid) {
				char name[64];
				snprintf(name, sizeof(name), "pid %" PRIu32, s->pid);
				meta(c, "process_name", s->pid, s->tid, name);
			}
			meta(c, "thread_name", s->pid, s->tid, s->thread_name);
		}
		uint32_t keep = common_depth(c, s);
		close_to(c, s, keep, now);
		for (uint32_t d = keep; d < s->nframes; d++)
			c->open[c->nopen++] =
				(struct open_frame){s->frames[s->nframes - 1 - d], now};
		now += (double)s->value / 1000.0;
		prev = s;
	}
	if (prev)
		close_to(c, prev, 0, now);
}

int export_chrometrace(const struct profile *p, FILE *out, const char *name)
{
	const struct prof_sample **sorted = calloc(p->nsamples ? p->nsamples : 1, sizeof(*sorted));
	uint32_t deepest = 1;
	size_t n = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		if (!p->samples[i].value) /* no time: nothing to draw */
			continue;
		if (p->samples[i].nframes > deepest)
			deepest = p->samples[i].nframes;
		if (sorted)
			sorted[n++] = &p->samples[i];
	}
	struct ct c = {p, out, true, calloc(deepest, sizeof(*c.open)), 0};
	if (!sorted || !c.open) {
		free(sorted);
		free(c.open);
		errno = ENOMEM;
		return -1;
	}
	qsort(sorted, n, sizeof(*sorted), profile_sample_cmp_thread_stack);
	fputs("{\"displayTimeUnit\": \"ms\", \"otherData\": {\"producer\": \"pybpf\", \"name\": ",
	      out);
	json_write_string(out, name ? name : "pybpf");
	fprintf(out,
		", \"value_type\": \"%s\", \"timeline\": \"each thread's stacks laid end to end, "
		"root first: a flame chart of the capture, not the order they ran in\"}, "
		"\"traceEvents\": [",
		p->value_type);
	write_events(&c, sorted, n);
	fputs("\n]}\n", out);
	free(sorted);
	free(c.open);
	return export_finish(out);
}
