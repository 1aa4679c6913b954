/* profile.c - frame and string interning, sample merging. */
#include "profile/profile.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/htab.h"

struct prof_strtab {
	struct htab index;
	char **strs;
	size_t n, cap;
};

struct prof_frametab {
	struct htab frames;
	struct htab samples;
};

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
	return hash_mix64(h ^ v) + 0x9e3779b97f4a7c15ULL;
}

int profile_init(struct profile *p, uint32_t rate_hz)
{
	memset(p, 0, sizeof(*p));
	p->strings = calloc(1, sizeof(*p->strings));
	p->frame_index = calloc(1, sizeof(*p->frame_index));
	if (!p->strings || !p->frame_index || htab_init(&p->strings->index, 256) ||
	    htab_init(&p->frame_index->frames, 256) || htab_init(&p->frame_index->samples, 256)) {
		profile_free(p);
		return -1;
	}
	p->rate_hz = rate_hz ? rate_hz : 99;
	p->period_ns = 1000000000ULL / p->rate_hz;
	p->value_type = profile_str(p, "cpu");
	p->value_unit = profile_str(p, "nanoseconds");
	if (!p->value_type || !p->value_unit) {
		profile_free(p);
		return -1;
	}
	return 0;
}

void profile_free(struct profile *p)
{
	if (p->strings) {
		for (size_t i = 0; i < p->strings->n; i++)
			free(p->strings->strs[i]);
		free(p->strings->strs);
		htab_free(&p->strings->index);
		free(p->strings);
	}
	if (p->frame_index) {
		htab_free(&p->frame_index->frames);
		htab_free(&p->frame_index->samples);
		free(p->frame_index);
	}
	for (size_t i = 0; i < p->nsamples; i++)
		free(p->samples[i].frames);
	free(p->samples);
	free(p->frames);
	free(p->procs);
	memset(p, 0, sizeof(*p));
}

struct str_eq_ctx {
	struct prof_strtab *st;
	const char *s;
};

static bool str_eq(const void *ctx, uint32_t i)
{
	const struct str_eq_ctx *c = ctx;
	return strcmp(c->st->strs[i], c->s) == 0;
}

const char *profile_str(struct profile *p, const char *s)
{
	struct prof_strtab *st = p->strings;
	if (!s)
		s = "";
	uint64_t h = hash_str(s);
	struct str_eq_ctx c = {st, s};
	int64_t found = htab_get(&st->index, h, str_eq, &c);
	if (found >= 0)
		return st->strs[found];
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 256;
		char **ns = realloc(st->strs, ncap * sizeof(*ns));
		if (!ns)
			return NULL;
		st->strs = ns;
		st->cap = ncap;
	}
	char *copy = strdup(s);
	if (!copy || htab_put(&st->index, h, (uint32_t)st->n)) {
		free(copy);
		return NULL;
	}
	st->strs[st->n++] = copy;
	return copy;
}

/* Interned strings compare by pointer. */
static bool frame_equal(const struct prof_frame *a, const struct prof_frame *b)
{
	return a->kind == b->kind && a->name == b->name && a->file == b->file &&
	       a->module == b->module && a->start_line == b->start_line && a->line == b->line &&
	       a->address == b->address;
}

static uint64_t frame_hash(const struct prof_frame *f)
{
	uint64_t h = hash_u64(f->kind, (uintptr_t)f->name);
	h = hash_u64(h, (uintptr_t)f->file);
	h = hash_u64(h, (uintptr_t)f->module);
	h = hash_u64(h, (uint64_t)f->start_line);
	h = hash_u64(h, (uint64_t)f->line);
	return hash_u64(h, f->address);
}

struct frame_eq_ctx {
	struct profile *p;
	const struct prof_frame *f;
};

static bool frame_eq(const void *ctx, uint32_t i)
{
	const struct frame_eq_ctx *c = ctx;
	return frame_equal(&c->p->frames[i], c->f);
}

int64_t profile_frame(struct profile *p, const struct prof_frame *in)
{
	struct prof_frame f = *in;
	f.name = profile_str(p, in->name);
	f.file = profile_str(p, in->file);
	f.module = profile_str(p, in->module);
	if (!f.name || !f.file || !f.module)
		return -1;
	uint64_t h = frame_hash(&f);
	struct frame_eq_ctx c = {p, &f};
	int64_t found = htab_get(&p->frame_index->frames, h, frame_eq, &c);
	if (found >= 0)
		return found;
	if (p->nframes == p->frames_cap) {
		size_t ncap = p->frames_cap ? p->frames_cap * 2 : 256;
		struct prof_frame *nf = realloc(p->frames, ncap * sizeof(*nf));
		if (!nf)
			return -1;
		p->frames = nf;
		p->frames_cap = ncap;
	}
	if (htab_put(&p->frame_index->frames, h, (uint32_t)p->nframes))
		return -1;
	p->frames[p->nframes] = f;
	return (int64_t)p->nframes++;
}

struct sample_eq_ctx {
	struct profile *p;
	const struct prof_sample *s;
};

static bool sample_eq(const void *ctx, uint32_t i)
{
	const struct prof_sample *a = &((const struct sample_eq_ctx *)ctx)->p->samples[i];
	const struct prof_sample *b = ((const struct sample_eq_ctx *)ctx)->s;
	return a->nframes == b->nframes && a->pid == b->pid && a->tid == b->tid &&
	       a->thread_name == b->thread_name && a->reason == b->reason &&
	       a->holds_gil == b->holds_gil && !a->stall_ns == !b->stall_ns && a->task == b->task &&
	       a->task_parents == b->task_parents && a->endpoint == b->endpoint &&
	       a->sql == b->sql &&
	       (!a->nframes || memcmp(a->frames, b->frames, a->nframes * sizeof(uint32_t)) == 0);
}

int profile_add(struct profile *p, const uint32_t *frames, uint32_t nframes, uint64_t count,
		uint64_t value, uint32_t pid, uint32_t tid, const char *thread_name,
		const char *reason)
{
	struct prof_sample s = {
		.frames = (uint32_t *)frames,
		.nframes = nframes,
		.count = count,
		.value = value,
		.pid = pid,
		.tid = tid,
		.thread_name = thread_name,
		.reason = reason,
	};
	return profile_add_sample(p, &s);
}

int profile_add_sample(struct profile *p, const struct prof_sample *in)
{
	const uint32_t *frames = in->frames;
	uint32_t nframes = in->nframes;
	uint64_t count = in->count, value = in->value;
	struct prof_sample s = {
		.frames = (uint32_t *)frames,
		.nframes = nframes,
		.pid = in->pid,
		.tid = in->tid,
		.thread_name = profile_str(p, in->thread_name ? in->thread_name : ""),
		.reason = profile_str(p, in->reason ? in->reason : ""),
		.holds_gil = in->holds_gil,
		.stall_ns = in->stall_ns, /* a stall's sample merges with stall samples alone */
		.task = profile_str(p, in->task ? in->task : ""),
		.task_parents = profile_str(p, in->task_parents ? in->task_parents : ""),
		.endpoint = profile_str(p, in->endpoint ? in->endpoint : ""),
		.sql = profile_str(p, in->sql ? in->sql : ""),
	};
	if (!s.thread_name || !s.reason || !s.task || !s.task_parents || !s.endpoint || !s.sql)
		return -1;
	uint64_t h = hash_u64(hash_u64(s.pid, s.tid), (uintptr_t)s.thread_name);
	if (nframes)
		h = hash_bytes(h, frames, nframes * sizeof(uint32_t));
	h = hash_u64(hash_u64(h, (uintptr_t)s.reason), s.holds_gil | (s.stall_ns ? 2 : 0));
	h = hash_u64(hash_u64(h, (uintptr_t)s.task), (uintptr_t)s.task_parents);
	h = hash_u64(hash_u64(h, (uintptr_t)s.endpoint), (uintptr_t)s.sql);
	struct sample_eq_ctx c = {p, &s};
	int64_t found = htab_get(&p->frame_index->samples, h, sample_eq, &c);
	if (found >= 0) {
		p->samples[found].count += count;
		p->samples[found].value += value;
		p->samples[found].stall_ns += in->stall_ns;
		p->total_count += count;
		return 0;
	}
	if (p->nsamples == p->samples_cap) {
		size_t ncap = p->samples_cap ? p->samples_cap * 2 : 256;
		struct prof_sample *ns = realloc(p->samples, ncap * sizeof(*ns));
		if (!ns)
			return -1;
		p->samples = ns;
		p->samples_cap = ncap;
	}
	s.frames = malloc((nframes ? nframes : 1) * sizeof(uint32_t));
	if (!s.frames || htab_put(&p->frame_index->samples, h, (uint32_t)p->nsamples)) {
		free(s.frames);
		return -1;
	}
	if (nframes)
		memcpy(s.frames, frames, nframes * sizeof(uint32_t));
	s.count = count;
	s.value = value;
	p->samples[p->nsamples++] = s;
	p->total_count += count;
	return 0;
}

bool profile_has_stalls(const struct profile *p)
{
	for (size_t i = 0; i < p->nsamples; i++)
		if (p->samples[i].stall_ns)
			return true;
	return false;
}

const struct prof_process *profile_process(const struct profile *p, uint32_t pid)
{
	for (size_t i = 0; i < p->nprocs; i++)
		if (p->procs[i].pid == pid)
			return &p->procs[i];
	return NULL;
}

int profile_set_process(struct profile *p, uint32_t pid, uint32_t ns_pid, const char *cgroup,
			const char *root, const char *cmdline)
{
	struct prof_process pr = {pid, ns_pid, profile_str(p, cgroup), profile_str(p, root),
				  profile_str(p, cmdline ? cmdline : "")};
	if (!pr.cgroup || !pr.root || !pr.cmdline)
		return -1;
	struct prof_process *e = (struct prof_process *)profile_process(p, pid);
	if (e) {
		*e = pr;
		return 0;
	}
	if (p->nprocs == p->procs_cap) {
		size_t ncap = p->procs_cap ? p->procs_cap * 2 : 16;
		struct prof_process *np = realloc(p->procs, ncap * sizeof(*np));
		if (!np)
			return -1;
		p->procs = np;
		p->procs_cap = ncap;
	}
	p->procs[p->nprocs++] = pr;
	return 0;
}

int profile_sample_cmp_thread_stack(const void *a, const void *b)
{
	const struct prof_sample *x = *(const struct prof_sample *const *)a;
	const struct prof_sample *y = *(const struct prof_sample *const *)b;
	uint32_t n = x->nframes < y->nframes ? x->nframes : y->nframes;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t fx = x->frames[x->nframes - 1 - i], fy = y->frames[y->nframes - 1 - i];
		if (fx != fy)
			return fx < fy ? -1 : 1;
	}
	return (x->nframes > y->nframes) - (x->nframes < y->nframes);
}

bool profile_is_cpu(const struct profile *p)
{
	return !p->value_type || !strcmp(p->value_type, "cpu");
}

uint64_t profile_weight(const struct profile *p, const struct prof_sample *s)
{
	return profile_is_cpu(p) ? s->count : (s->value + 500) / 1000;
}

const char *profile_weight_unit(const struct profile *p)
{
	return profile_is_cpu(p) ? "samples" : "microseconds";
}

/* Where a path's importable part begins: after the last of these (data:
 * one entry per kind of installation directory). */
static const char *const package_roots[] = {
	"/site-packages/", /* pip, venvs, pyenv */
	"/dist-packages/", /* Debian's python3-* packages */
};

/* "/lib/pythonX.Y/": the standard library's directory. */
static const char *stdlib_root(const char *file)
{
	const char *end = NULL;
	for (const char *s = strstr(file, "/lib/python"); s; s = strstr(s + 1, "/lib/python")) {
		const char *q = s + strlen("/lib/python");
		if (!isdigit((unsigned char)*q))
			continue;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q++ != '.' || !isdigit((unsigned char)*q))
			continue;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == 't') /* a free-threaded build's directory, python3.13t */
			q++;
		if (*q == '/')
			end = q + 1;
	}
	return end;
}

const char *profile_short_file(const char *file)
{
	const char *best = NULL;
	if (!file)
		return file;
	for (size_t i = 0; i < sizeof(package_roots) / sizeof(package_roots[0]); i++) {
		const char *last = NULL;
		for (const char *s = strstr(file, package_roots[i]); s;
		     s = strstr(s + 1, package_roots[i]))
			last = s + strlen(package_roots[i]);
		if (last && (!best || last > best))
			best = last;
	}
	if (!best)
		best = stdlib_root(file);
	return best && *best ? best : file;
}

const char *profile_frame_label(const struct prof_frame *f, bool short_files, char *buf, size_t len)
{
	switch (f->kind) {
	case PROF_FRAME_PYTHON:
		snprintf(buf, len, "%s (%s:%lld)", f->name,
			 short_files ? profile_short_file(f->file) : f->file, (long long)f->line);
		break;
	case PROF_FRAME_KERNEL:
		snprintf(buf, len, "%s_[k]", f->name);
		break;
	default:
		snprintf(buf, len, "%s", f->name);
		break;
	}
	return buf;
}

int profile_merge(struct profile *dst, const struct profile *src, prof_keep_fn keep, void *ctx)
{
	uint32_t *remap = calloc(src->nframes ? src->nframes : 1, sizeof(*remap));
	uint32_t *frames = NULL;
	size_t frames_cap = 0;
	int ret = -1;
	if (!remap)
		return -1;
	for (size_t i = 0; i < src->nsamples; i++) {
		const struct prof_sample *s = &src->samples[i];
		const char *reason = s->reason;
		if (keep && !keep(ctx, s, &reason))
			continue;
		if (s->nframes > frames_cap) {
			uint32_t *nf = realloc(frames, s->nframes * sizeof(*nf));
			if (!nf)
				goto out;
			frames = nf;
			frames_cap = s->nframes;
		}
		for (uint32_t k = 0; k < s->nframes; k++) {
			uint32_t fi = s->frames[k];
			if (!remap[fi]) {
				int64_t di = profile_frame(dst, &src->frames[fi]);
				if (di < 0)
					goto out;
				remap[fi] = (uint32_t)di + 1;
			}
			frames[k] = remap[fi] - 1;
		}
		const struct prof_process *pr = profile_process(src, s->pid);
		if (pr && !profile_process(dst, s->pid) &&
		    profile_set_process(dst, pr->pid, pr->ns_pid, pr->cgroup, pr->root,
					pr->cmdline))
			goto out;
		struct prof_sample c = *s;
		c.frames = frames;
		c.reason = reason;
		if (profile_add_sample(dst, &c))
			goto out;
	}
	ret = 0;
out:
	free(frames);
	free(remap);
	return ret;
}
