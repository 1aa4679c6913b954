/* aggregate.c - new stacks and counts from BPF into symbolized samples. */
#include "aggregate.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natsym.h"
#include "pysymbols.h"

#define AGG_MAX_FRAMES (PYBPF_MAX_PY_FRAMES + 2 * PYBPF_MAX_NATIVE + 4)

struct stack_entry {
	uint64_t hash;
	uint32_t *frames; /* indices into a->frames, leaf first */
	uint32_t n;
	uint32_t pid;
	uint64_t sweep; /* the sweep generation it was last counted in */
};

struct agg_stacks {
	struct stack_entry *slots;
	size_t cap, used;
	uint64_t sweep; /* sweeps so far */
};

struct thread_name {
	uint32_t tid;
	char name[20];
};

struct agg_proc {
	struct agg_proc *next;
	pid_t pid;
	pid_t ns_pid;
	char cgroup[256];
	char root[PATH_MAX];
	unsigned minor;
	struct pysym_cache *syms;
	struct natsym_proc nat;
	struct thread_name *threads;
	size_t nthreads, threads_cap;
};

/* --- the stack table ------------------------------------------------------ */

static struct stack_entry *stack_find(struct agg_stacks *t, uint64_t hash)
{
	if (!t->cap)
		return NULL;
	size_t j = hash & (t->cap - 1);
	while (t->slots[j].frames) {
		if (t->slots[j].hash == hash)
			return &t->slots[j];
		j = (j + 1) & (t->cap - 1);
	}
	return NULL;
}

static int stack_grow(struct agg_stacks *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	struct stack_entry *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->slots[i].frames)
			continue;
		size_t j = t->slots[i].hash & (ncap - 1);
		while (ns[j].frames)
			j = (j + 1) & (ncap - 1);
		ns[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

static int stack_insert(struct agg_stacks *t, uint64_t hash, uint32_t pid, const uint32_t *frames,
			uint32_t n)
{
	if ((t->used + 1) * 2 > t->cap && stack_grow(t))
		return -1;
	uint32_t *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy)
		return -1;
	memcpy(copy, frames, n * sizeof(*copy));
	size_t j = hash & (t->cap - 1);
	while (t->slots[j].frames)
		j = (j + 1) & (t->cap - 1);
	t->slots[j] = (struct stack_entry){hash, copy, n, pid, t->sweep};
	t->used++;
	return 0;
}

static void stacks_free(struct agg_stacks *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].frames);
	free(t->slots);
	free(t);
}

/* --- processes ------------------------------------------------------------ */

static struct agg_proc *proc_find(struct aggregator *a, pid_t pid)
{
	for (struct agg_proc *p = a->procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static void proc_free(struct agg_proc *p)
{
	pysym_cache_free(p->syms);
	natsym_close(&p->nat);
	free(p->threads);
	free(p);
}

int agg_add_process(struct aggregator *a, const struct pyprocess *pp)
{
	if (proc_find(a, pp->pid))
		return 0;
	struct agg_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	p->pid = pp->pid;
	p->ns_pid = pp->ns_pid;
	snprintf(p->cgroup, sizeof(p->cgroup), "%s", pp->cgroup);
	snprintf(p->root, sizeof(p->root), "%s", pp->root);
	p->minor = pp->minor;
	p->syms = pysym_cache_new(pp->pid, &pp->layout, pp->minor);
	if (!p->syms || natsym_open(&p->nat, pp->pid)) {
		proc_free(p);
		return -1;
	}
	p->next = a->procs;
	a->procs = p;
	return 0;
}

void agg_forget_process(struct aggregator *a, pid_t pid)
{
	for (struct agg_proc **pp = &a->procs; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid != pid)
			continue;
		struct agg_proc *dead = *pp;
		*pp = dead->next;
		proc_free(dead);
		return;
	}
}

static const char *thread_name(struct agg_proc *p, uint32_t tid)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].tid == tid)
			return p->threads[i].name;
	if (p->nthreads == p->threads_cap) {
		size_t ncap = p->threads_cap ? p->threads_cap * 2 : 16;
		struct thread_name *nt = realloc(p->threads, ncap * sizeof(*nt));
		if (!nt)
			return "";
		p->threads = nt;
		p->threads_cap = ncap;
	}
	struct thread_name *t = &p->threads[p->nthreads++];
	char fn[64];
	t->tid = tid;
	snprintf(t->name, sizeof(t->name), "tid %u", tid);
	snprintf(fn, sizeof(fn), "/proc/%d/task/%u/comm", (int)p->pid, tid);
	FILE *f = fopen(fn, "re");
	if (f) {
		if (fgets(t->name, sizeof(t->name), f))
			t->name[strcspn(t->name, "\n")] = 0;
		fclose(f);
	}
	return t->name;
}

/* --- building a stack's frames -------------------------------------------- */

struct frame_list {
	uint32_t idx[AGG_MAX_FRAMES];
	uint32_t n;
	int err;
};

static void push(struct aggregator *a, struct frame_list *fl, const struct prof_frame *f)
{
	if (fl->n >= AGG_MAX_FRAMES)
		return;
	int64_t i = profile_frame(&a->frames, f);
	if (i < 0) {
		fl->err = -1;
		return;
	}
	fl->idx[fl->n++] = (uint32_t)i;
}

static void push_special(struct aggregator *a, struct frame_list *fl, const char *name)
{
	struct prof_frame f = {.kind = PROF_FRAME_SPECIAL, .name = name};
	push(a, fl, &f);
}

static void push_kernel(struct aggregator *a, struct frame_list *fl, uint64_t ip)
{
	const struct ksym *k = a->have_ksyms ? kallsyms_find(&a->ksyms, ip) : NULL;
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)ip);
	struct prof_frame f = {
		.kind = PROF_FRAME_KERNEL,
		.name = k ? k->name : buf,
		.module = "[kernel.kallsyms]",
		.address = ip,
	};
	push(a, fl, &f);
}

static void push_python(struct aggregator *a, struct agg_proc *p, struct frame_list *fl,
			const struct py_frame *pf)
{
	const struct pysym *s = pysym_get(p->syms, pf->code, pf->tag);
	if (!s) {
		a->stats.unknown_code++;
		push_special(a, fl, "[unknown Python frame]");
		return;
	}
	struct prof_frame f = {
		.kind = PROF_FRAME_PYTHON,
		.name = s->qualname,
		.file = s->filename,
		.start_line = s->firstlineno,
		.line = pysym_line(p->syms, s, pf->instr),
	};
	push(a, fl, &f);
}

static bool is_eval_frame(const char *name)
{
	return name && strncmp(name, "_PyEval_EvalFrameDefault", 24) == 0;
}

static bool is_entry(const struct pybpf_stack *r, uint32_t i)
{
	return (r->entry[i / 64] >> (i % 64)) & 1;
}

/* Python frames from *next up to the end of their run (an entry frame). */
static void push_python_run(struct aggregator *a, struct agg_proc *p, struct frame_list *fl,
			    const struct pybpf_stack *r, uint32_t *next, bool all)
{
	while (*next < r->npy) {
		uint32_t i = (*next)++;
		push_python(a, p, fl, &r->py[i]);
		if (!all && is_entry(r, i))
			return;
	}
}

struct native {
	struct natsym sym;
	uint64_t ip;
};

/* User frames leaf first, each eval-loop frame replaced by the run of Python
 * frames it executes.  Without eval frames (native unwinding failed) the
 * Python frames go below the native ones. */
static void push_user(struct aggregator *a, struct agg_proc *p, struct frame_list *fl,
		      const struct pybpf_stack *r)
{
	static struct native nat[PYBPF_MAX_NATIVE];
	uint32_t nn = 0, evals = 0, next = 0;

	for (uint32_t i = 0; i < r->nuser && i < PYBPF_MAX_NATIVE; i++) {
		/* return addresses point after the call: look up ip - 1 */
		uint64_t ip = i ? r->user[i] - 1 : r->user[i];
		if (natsym_resolve(&p->nat, ip, &nat[nn].sym))
			break; /* not in an executable mapping: unwinding went astray */
		/* the next resolve may re-read the maps: keep our own copies */
		nat[nn].sym.module = profile_str(&a->frames, nat[nn].sym.module);
		nat[nn].sym.name =
			nat[nn].sym.name ? profile_str(&a->frames, nat[nn].sym.name) : NULL;
		if (!nat[nn].sym.module) {
			fl->err = -1;
			return;
		}
		nat[nn].ip = r->user[i];
		evals += is_eval_frame(nat[nn].sym.name);
		nn++;
	}
	for (uint32_t i = 0; i < nn; i++) {
		if (is_eval_frame(nat[i].sym.name)) {
			push_python_run(a, p, fl, r, &next, --evals == 0);
			continue;
		}
		/* unnamed code (stripped binaries) is named by its object, so it
		 * merges in flamegraphs; the address stays in the frame */
		char buf[PATH_MAX];
		const char *base = strrchr(nat[i].sym.module, '/');
		snprintf(buf, sizeof(buf), "[%s]", base ? base + 1 : nat[i].sym.module);
		struct prof_frame f = {
			.kind = PROF_FRAME_NATIVE,
			.name = nat[i].sym.name ? nat[i].sym.name : buf,
			.module = nat[i].sym.module,
			.address = nat[i].ip,
		};
		push(a, fl, &f);
	}
	push_python_run(a, p, fl, r, &next, true);
}

int agg_stack(struct aggregator *a, const void *data, size_t len)
{
	const struct pybpf_stack *r = data;
	static struct frame_list fl;
	size_t need = offsetof(struct pybpf_stack, py);

	if (len < need || r->npy > PYBPF_MAX_PY_FRAMES ||
	    len < need + r->npy * sizeof(struct py_frame) || r->nkern > PYBPF_MAX_NATIVE ||
	    r->nuser > PYBPF_MAX_NATIVE) {
		a->stats.short_records++;
		return -1;
	}
	struct stack_entry *known = stack_find(a->stacks, r->hash);
	if (known) {
		known->sweep = a->stacks->sweep; /* sent again: it is in use */
		return 0;
	}
	struct agg_proc *p = proc_find(a, (pid_t)r->pid);
	if (!p)
		return 0; /* a process forgotten meanwhile */
	fl.n = 0;
	fl.err = 0;
	for (uint32_t i = 0; i < r->nkern; i++)
		push_kernel(a, &fl, r->kern[i]);
	push_user(a, p, &fl, r);
	if (r->flags & STACK_PY_TRUNCATED)
		push_special(a, &fl, "[truncated: more Python frames than captured]");
	if (r->flags & (STACK_PY_FAULT | STACK_BAD_CODE))
		push_special(a, &fl, "[Python stack unreadable]");
	if (fl.err)
		return -1;
	a->stats.stacks++;
	return stack_insert(a->stacks, r->hash, r->pid, fl.idx, fl.n);
}

/* --- counts into the window ----------------------------------------------- */

static int64_t window_frame(struct aggregator *a, uint32_t fi)
{
	if (fi >= a->remap_cap) {
		size_t ncap = a->frames.nframes + 1024;
		uint32_t *nr = realloc(a->remap, ncap * sizeof(*nr));
		if (!nr)
			return -1;
		memset(nr + a->remap_cap, 0, (ncap - a->remap_cap) * sizeof(*nr));
		a->remap = nr;
		a->remap_cap = ncap;
	}
	if (a->remap[fi])
		return a->remap[fi] - 1;
	int64_t wi = profile_frame(a->window, &a->frames.frames[fi]);
	if (wi >= 0)
		a->remap[fi] = (uint32_t)wi + 1;
	return wi;
}

static const char *const mode_names[] = {
	[AGG_MODE_CPU] = "cpu",
	[AGG_MODE_WALL] = "wall",
	[AGG_MODE_OFFCPU] = "offcpu",
	[AGG_MODE_GIL] = "gil",
};

/* The sample type each mode's profile carries. */
static const char *const mode_value_types[] = {
	[AGG_MODE_CPU] = "cpu",
	[AGG_MODE_WALL] = "wall",
	[AGG_MODE_OFFCPU] = "off_cpu",
	[AGG_MODE_GIL] = "gil_wait",
};

int agg_mode_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *agg_mode_name(enum agg_mode m)
{
	return mode_names[m];
}

const char *agg_mode_value_type(enum agg_mode m)
{
	return mode_value_types[m];
}

void agg_set_rate(struct aggregator *a, uint32_t rate_hz)
{
	a->rate_hz = rate_hz;
	a->window->rate_hz = rate_hz;
	a->window->period_ns = 1000000000ULL / rate_hz;
}

static bool mode_wants(enum agg_mode m, const struct pybpf_count_key *key)
{
	switch (m) {
	case AGG_MODE_CPU:
		return key->kind == KIND_CPU;
	case AGG_MODE_WALL:
		return true;
	case AGG_MODE_OFFCPU:
		return key->kind == KIND_OFFCPU;
	case AGG_MODE_GIL:
		return key->kind == KIND_OFFCPU && key->reason == REASON_GIL;
	}
	return false;
}

int agg_add_stack(struct aggregator *a, uint32_t pid, const struct prof_frame *frames, size_t n,
		  uint64_t *hash)
{
	static struct frame_list fl;
	uint64_t h = 0x75736572ULL ^ pid; /* distinct from the kernel's hashes by construction */
	fl.n = 0;
	fl.err = 0;
	for (size_t i = 0; i < n; i++) {
		push(a, &fl, &frames[i]);
		h = (h ^ (fl.n ? fl.idx[fl.n - 1] : 0)) * 0x100000001b3ULL;
	}
	h |= 1ULL << 63;
	if (fl.err)
		return -1;
	*hash = h;
	struct stack_entry *s = stack_find(a->stacks, h);
	if (!s)
		return stack_insert(a->stacks, h, pid, fl.idx, fl.n);
	s->sweep = a->stacks->sweep;
	return 0;
}

int agg_stack_frames(struct aggregator *a, uint64_t hash, const uint32_t **frames, uint32_t *n)
{
	struct stack_entry *s = stack_find(a->stacks, hash);
	if (!s)
		return -1;
	*frames = s->frames;
	*n = s->n;
	return 0;
}

const char *agg_thread_name(struct aggregator *a, uint32_t pid, uint32_t tid)
{
	struct agg_proc *p = proc_find(a, (pid_t)pid);
	return p ? thread_name(p, tid) : "";
}

int agg_count(struct aggregator *a, const struct pybpf_count_key *key,
	      const struct pybpf_count *val)
{
	static uint32_t wf[AGG_MAX_FRAMES];
	struct stack_entry *s = stack_find(a->stacks, key->hash);
	struct agg_proc *p = proc_find(a, (pid_t)key->pid);
	if (!key->hash && key->kind == KIND_OFFCPU && p)
		return waitstats_add(&a->waits, key, val); /* time without a stack */
	if (!s || !p) {
		a->stats.unknown_stack += val->count;
		return 0;
	}
	s->sweep = a->stacks->sweep;
	if (waitstats_add(&a->waits, key, val))
		return -1;
	if (!mode_wants(a->mode, key))
		return 0;
	if (!profile_process(a->window, key->pid) &&
	    profile_set_process(a->window, key->pid, (uint32_t)p->ns_pid, p->cgroup, p->root))
		return -1;
	for (uint32_t i = 0; i < s->n; i++) {
		int64_t wi = window_frame(a, s->frames[i]);
		if (wi < 0)
			return -1;
		wf[i] = (uint32_t)wi;
	}
	uint64_t value = key->kind == KIND_CPU ? val->count * a->window->period_ns : val->ns;
	const char *reason = a->mode == AGG_MODE_CPU ? "" : waitstats_reason_name(key->reason);
	return profile_add(a->window, wf, s->n, val->count, value, key->pid, key->tid,
			   thread_name(p, key->tid), reason);
}

/* --- forgetting what is no longer seen -------------------------------------- */

void agg_touch(struct aggregator *a, uint64_t hash)
{
	struct stack_entry *s = stack_find(a->stacks, hash);
	if (s)
		s->sweep = a->stacks->sweep;
}

/* A new frame table holding only the frames of the stacks left; the stacks'
 * indices follow. */
static int compact_frames(struct aggregator *a)
{
	struct profile nf;
	int32_t *map = malloc((a->frames.nframes ? a->frames.nframes : 1) * sizeof(*map));
	if (!map || profile_init(&nf, a->rate_hz)) {
		free(map);
		return -1;
	}
	memset(map, 0xff, a->frames.nframes * sizeof(*map));
	struct agg_stacks *t = a->stacks;
	for (size_t i = 0; i < t->cap; i++) {
		struct stack_entry *e = &t->slots[i];
		for (uint32_t k = 0; e->frames && k < e->n; k++) {
			uint32_t fi = e->frames[k];
			if (map[fi] < 0) {
				int64_t ni = profile_frame(&nf, &a->frames.frames[fi]);
				if (ni < 0)
					goto fail;
				map[fi] = (int32_t)ni;
			}
		}
	}
	/* nothing can fail from here: rewrite every stack at once */
	for (size_t i = 0; i < t->cap; i++)
		for (uint32_t k = 0; t->slots[i].frames && k < t->slots[i].n; k++)
			t->slots[i].frames[k] = (uint32_t)map[t->slots[i].frames[k]];
	profile_free(&a->frames);
	a->frames = nf;
	free(map);
	/* window indices were keyed by the old frame numbers */
	if (a->remap)
		memset(a->remap, 0, a->remap_cap * sizeof(*a->remap));
	return 0;
fail:
	profile_free(&nf);
	free(map);
	return -1;
}

/* The table without the stacks unused for keep + 1 sweeps.  In two steps:
 * the kernel forgets a stack unused for keep sweeps, and we drop it one
 * sweep later if it stayed unused, so a sample the kernel counted just before
 * the first step (not drained yet) still finds it. */
static long drop_idle(struct aggregator *a, uint32_t keep, agg_forget_fn forget, void *ctx)
{
	struct agg_stacks *t = a->stacks;
	size_t cap = t->cap ? t->cap : 1024;
	while (cap > 1024 && t->used * 8 < cap)
		cap /= 2; /* shrink as the table empties */
	struct stack_entry *ns = calloc(cap, sizeof(*ns));
	if (!ns)
		return -1;
	long dropped = 0;
	size_t used = 0;
	for (size_t i = 0; i < t->cap; i++) {
		struct stack_entry *e = &t->slots[i];
		if (!e->frames)
			continue;
		uint64_t age = t->sweep - e->sweep;
		/* the kernel's hashes have bit 63 clear: it must send the stack
		 * again should it come back */
		if (age >= keep && forget && !(e->hash >> 63))
			forget(ctx, e->hash);
		if (age > keep) {
			free(e->frames);
			dropped++;
			continue;
		}
		size_t j = e->hash & (cap - 1);
		while (ns[j].frames)
			j = (j + 1) & (cap - 1);
		ns[j] = *e;
		used++;
	}
	free(t->slots);
	t->slots = ns;
	t->cap = cap;
	t->used = used;
	return dropped;
}

static void forget_thread_names(struct aggregator *a)
{
	for (struct agg_proc *p = a->procs; p; p = p->next) {
		free(p->threads);
		p->threads = NULL;
		p->nthreads = p->threads_cap = 0;
	}
}

long agg_sweep(struct aggregator *a, uint32_t keep, agg_forget_fn forget, void *ctx)
{
	a->stacks->sweep++; /* a stack last used before now is a sweep older */
	long dropped = drop_idle(a, keep ? keep : 1, forget, ctx);
	if (dropped < 0)
		return -1;
	a->stats.stacks_forgotten += (uint64_t)dropped;
	/* threads come and go: names are read again when next seen */
	forget_thread_names(a);
	if (dropped && compact_frames(a))
		return -1; /* the old table stays, still right, only larger */
	return dropped;
}

size_t agg_stack_count(const struct aggregator *a)
{
	return a->stacks ? a->stacks->used : 0;
}

/* --- lifecycle -------------------------------------------------------------- */

static struct profile *new_window(uint32_t rate_hz, enum agg_mode mode)
{
	struct profile *w = calloc(1, sizeof(*w));
	if (!w || profile_init(w, rate_hz)) {
		free(w);
		return NULL;
	}
	w->value_type = profile_str(w, mode_value_types[mode]);
	if (!w->value_type) {
		profile_free(w);
		free(w);
		return NULL;
	}
	return w;
}

int agg_init(struct aggregator *a, uint32_t rate_hz, enum agg_mode mode)
{
	memset(a, 0, sizeof(*a));
	a->rate_hz = rate_hz;
	a->mode = mode;
	a->stacks = calloc(1, sizeof(*a->stacks));
	a->window = new_window(rate_hz, mode);
	if (!a->stacks || !a->window || profile_init(&a->frames, rate_hz)) {
		agg_free(a);
		return -1;
	}
	a->have_ksyms = kallsyms_load(&a->ksyms, "/proc/kallsyms") == 0;
	return 0;
}

void agg_free(struct aggregator *a)
{
	while (a->procs) {
		struct agg_proc *p = a->procs;
		a->procs = p->next;
		proc_free(p);
	}
	stacks_free(a->stacks);
	if (a->window) {
		profile_free(a->window);
		free(a->window);
	}
	if (a->frames.strings)
		profile_free(&a->frames);
	kallsyms_free(&a->ksyms);
	waitstats_free(&a->waits);
	free(a->remap);
	memset(a, 0, sizeof(*a));
}

struct profile *agg_take(struct aggregator *a)
{
	struct profile *fresh = new_window(a->rate_hz, a->mode);
	if (!fresh)
		return NULL;
	struct profile *done = a->window;
	a->window = fresh;
	if (a->remap)
		memset(a->remap, 0, a->remap_cap * sizeof(*a->remap));
	return done;
}
