/* view.c - a profile as the user asked to see it. */
#include "profile/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int prof_native_parse(const char *s)
{
	static const char *const names[] = {"fold", "all", "none"};
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

const char *prof_native_name(enum prof_native n)
{
	return n == PROF_NATIVE_ALL ? "all" : n == PROF_NATIVE_NONE ? "none" : "fold";
}

bool prof_interpreter_module(const char *module)
{
	const char *base = strrchr(module, '/');
	base = base ? base + 1 : module;
	return !strncmp(base, "python", 6) || !strncmp(base, "libpython", 9);
}

/* Whether frame k of a stack (leaf first) stays; outer is the index of
 * its outermost Python frame, -1 when it has none. */
static bool keep(const struct prof_view *v, const struct prof_frame *f, uint32_t k, int64_t outer)
{
	if (f->kind == PROF_FRAME_PYTHON || f->kind == PROF_FRAME_SPECIAL)
		return true;
	if (v->native == PROF_NATIVE_ALL)
		return true;
	if (v->native == PROF_NATIVE_NONE)
		return false;
	if (outer < 0) /* a thread with no Python frame: nothing to fold into */
		return true;
	if (f->kind == PROF_FRAME_KERNEL)
		return true;
	return (int64_t)k < outer && !prof_interpreter_module(f->module);
}

static int64_t outermost_python(const struct profile *p, const struct prof_sample *s)
{
	for (int64_t k = (int64_t)s->nframes - 1; k >= 0; k--)
		if (p->frames[s->frames[k]].kind == PROF_FRAME_PYTHON)
			return k;
	return -1;
}

static int64_t special(struct profile *dst, const char *name)
{
	struct prof_frame f = {.kind = PROF_FRAME_SPECIAL, .name = name, .file = "", .module = ""};
	return profile_frame(dst, &f);
}

/* The frame of dst src's frame fi becomes (its line as v says). */
static int64_t view_frame(struct profile *dst, const struct profile *src, uint32_t fi,
			  const struct prof_view *v, uint32_t *remap)
{
	if (remap[fi])
		return remap[fi] - 1;
	struct prof_frame f = src->frames[fi];
	if (f.kind == PROF_FRAME_PYTHON && v->nolineno)
		f.line = f.start_line = 0;
	else if (f.kind == PROF_FRAME_PYTHON && v->function)
		f.line = f.start_line;
	int64_t di = profile_frame(dst, &f);
	if (di >= 0)
		remap[fi] = (uint32_t)di + 1;
	return di;
}

static int copy_meta(struct profile *dst, const struct profile *src)
{
	dst->value_type = profile_str(dst, src->value_type);
	dst->value_unit = profile_str(dst, src->value_unit);
	dst->period_ns = src->period_ns;
	dst->start_ns = src->start_ns;
	dst->duration_ns = src->duration_ns;
	for (size_t i = 0; i < src->nprocs; i++) {
		const struct prof_process *pr = &src->procs[i];
		if (profile_set_process(dst, pr->pid, pr->ns_pid, pr->cgroup, pr->root,
					pr->cmdline))
			return -1;
	}
	return dst->value_type && dst->value_unit ? 0 : -1;
}

static int view_sample(struct profile *dst, const struct profile *src, const struct prof_sample *s,
		       const struct prof_view *v, uint32_t *remap, uint32_t *frames)
{
	int64_t outer = outermost_python(src, s);
	uint32_t n = 0;
	for (uint32_t k = 0; k < s->nframes; k++) {
		const struct prof_frame *f = &src->frames[s->frames[k]];
		if (!keep(v, f, k, outer))
			continue;
		int64_t di = view_frame(dst, src, s->frames[k], v, remap);
		if (di < 0)
			return -1;
		frames[n++] = (uint32_t)di;
	}
	if (!n) { /* --no-native on a thread running native code only */
		int64_t di = special(dst, "[native code]");
		if (di < 0)
			return -1;
		frames[n++] = (uint32_t)di;
	}
	if (v->threads) {
		char name[128];
		snprintf(name, sizeof(name), "thread %s (%u)",
			 s->thread_name ? s->thread_name : "?", s->tid);
		int64_t di = special(dst, name);
		if (di < 0)
			return -1;
		frames[n++] = (uint32_t)di;
	}
	struct prof_sample c = *s;
	c.frames = frames;
	c.nframes = n;
	if (v->idle) { /* counted again in periods once merged: see idle_counts */
		c.count = 0;
		c.reason = "";
	}
	return profile_add_sample(dst, &c);
}

/* --idle: each sample's count is its time in sampling periods, rounded once
 * its stack's intervals are merged (so that many short waits add up as the
 * sampler would have seen them), and the profile is a CPU one. */
static int idle_counts(struct profile *dst)
{
	dst->value_type = profile_str(dst, "cpu");
	if (!dst->value_type)
		return -1;
	dst->total_count = 0;
	for (size_t i = 0; i < dst->nsamples; i++) {
		struct prof_sample *s = &dst->samples[i];
		s->count = (s->value + dst->period_ns / 2) / dst->period_ns;
		dst->total_count += s->count;
	}
	return 0;
}

struct profile *profile_view(const struct profile *src, const struct prof_view *v)
{
	struct profile *dst = calloc(1, sizeof(*dst));
	uint32_t *remap = calloc(src->nframes + 1, sizeof(*remap));
	uint32_t *frames = NULL;
	size_t cap = 2;
	for (size_t i = 0; i < src->nsamples; i++)
		if (src->samples[i].nframes + 2 > cap)
			cap = src->samples[i].nframes + 2;
	frames = malloc(cap * sizeof(*frames));
	if (!dst || !remap || !frames || profile_init(dst, src->rate_hz))
		goto fail;
	if (copy_meta(dst, src))
		goto fail;
	dst->short_files = !v->full_filenames;
	for (size_t i = 0; i < src->nsamples; i++) {
		if (v->gil_only && !src->samples[i].holds_gil)
			continue;
		if (view_sample(dst, src, &src->samples[i], v, remap, frames))
			goto fail;
	}
	if (v->idle && idle_counts(dst))
		goto fail;
	free(remap);
	free(frames);
	return dst;
fail:
	if (dst && dst->strings)
		profile_free(dst);
	free(dst);
	free(remap);
	free(frames);
	return NULL;
}
