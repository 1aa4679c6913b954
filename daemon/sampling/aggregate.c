/* aggregate.c - new stacks and counts from BPF into symbolized samples. */
#include "sampling/aggregate.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "native/elfcache.h"
#include "native/natsym.h"
#include "profile/view.h"
#include "python/dispatch.h"
#include "python/pytasks.h"
#include "python/symbols.h"
#include "python/threadnames.h"
#include "sampling/merge.h"
#include "sys/clock.h"
#include "sys/procfs.h"

#define AGG_MAX_FRAMES (PYBPF_MAX_PY_FRAMES + 2 * PYBPF_MAX_NATIVE + 4)

struct thread_name {
	uint32_t tid;
	char name[PYTHREAD_NAME_MAX];
};

#define PKG_DIRS 32

struct agg_proc {
	struct agg_proc *next;
	pid_t pid;
	struct pysym_cache *syms;
	struct natsym_proc nat;
	struct thread_name *threads;
	size_t nthreads, threads_cap;
	uint64_t py_active; /* where its threading._active is, 0: not found yet */
	/* its asyncio tasks as last read: coroutine frame -> name */
	struct agg_task *tasks;
	size_t ntasks;
	uint64_t tasks_read; /* monotonic ns of that read, 0: never */
	uint64_t tasks_wait; /* before the next read: 0 normal, else backed off (task_of) */
	/* directories looked up for an __init__.py (set_endpoint), the last
	 * PKG_DIRS of them: a view's many stacks look up the same few */
	struct pkg_dir {
		char *dir;
		bool package;
	} pkg_dirs[PKG_DIRS];
	unsigned pkg_next;
	struct pyprocess pp; /* as registered */
	char cmdline[PROF_CMDLINE_MAX];
};

struct agg_task {
	uint64_t frame;
	char name[PYTASK_NAME_MAX];
	char parents[PYTASK_NAME_MAX * 2]; /* "outer > inner": who awaits it */
	bool provisional;		   /* not started, no parent known: read again */
	/* their coroutines, leaf first: the nearest's innermost first */
	struct py_frame up[2 * PYTASK_STACK_MAX];
	uint32_t nup;
};

struct native {
	struct natsym sym;
	uint64_t ip;
};

/* The working buffers of one stack, the aggregator's own. */
struct agg_scratch {
	uint32_t idx[AGG_MAX_FRAMES]; /* the stack being built: frame indices */
	uint32_t n;
	int err;
	struct native nat[PYBPF_MAX_NATIVE];
	const char *names[PYBPF_MAX_NATIVE];
	bool interp[PYBPF_MAX_NATIVE];
	struct merge_ref merged[PYBPF_MAX_PY_FRAMES + PYBPF_MAX_NATIVE];
	uint32_t window[AGG_MAX_FRAMES]; /* a stack in window frame indices */
	uint32_t coro_split;		 /* idx[] index past the task's coroutine frame */
	struct dispatch_frame dispatch[AGG_MAX_FRAMES]; /* its Python frames, for set_endpoint */
};

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
	free(p->tasks);
	for (size_t i = 0; i < PKG_DIRS; i++)
		free(p->pkg_dirs[i].dir);
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
	p->pp = *pp;
	procfs_cmdline_text(pp->pid, p->cmdline, sizeof(p->cmdline));
	p->syms = pysym_cache_new(pp->pid, &pp->layout, pp->minor);
	if (!p->syms || natsym_open(&p->nat, pp->pid, a->elves)) {
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

#define PYTHREADS_READ 256 /* registry entries read at a new thread */

/* Python's name of tid (threading's registry, read when a thread is new to
 * the aggregator: no Python object is read per sample). */
static void python_thread_name(struct aggregator *a, struct agg_proc *p, uint32_t tid, char *out,
			       size_t len)
{
	struct pythread_name *names = malloc(PYTHREADS_READ * sizeof(*names));
	unsigned reads = 0;
	int n = names ? pythread_names(&p->pp, &p->py_active, names, PYTHREADS_READ, tid, &reads)
		      : -1;
	a->stats.thread_names++;
	a->stats.thread_name_reads += reads;
	for (int i = 0; i < n; i++)
		if (names[i].tid == tid) {
			snprintf(out, len, "%s", names[i].name);
			break;
		}
	free(names);
}

static const char *thread_name(struct aggregator *a, struct agg_proc *p, uint32_t tid)
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
	t->tid = tid;
	t->name[0] = 0;
	python_thread_name(a, p, tid, t->name, sizeof(t->name));
	if (!t->name[0])
		procfs_comm(p->pid, tid, t->name, sizeof(t->name));
	if (!t->name[0] && a->exited_name)
		a->exited_name(a->exited_ctx, p->pid, tid, t->name, sizeof(t->name));
	if (!t->name[0])
		snprintf(t->name, sizeof(t->name), "tid %u", tid);
	return t->name;
}

/* --- building a stack's frames -------------------------------------------- */

static void push(struct aggregator *a, const struct prof_frame *f)
{
	struct agg_scratch *s = a->scratch;
	if (s->n >= AGG_MAX_FRAMES)
		return;
	int64_t i = profile_frame(&a->frames, f);
	if (i < 0) {
		s->err = -1;
		return;
	}
	s->idx[s->n++] = (uint32_t)i;
}

static void push_special(struct aggregator *a, const char *name)
{
	struct prof_frame f = {.kind = PROF_FRAME_SPECIAL, .name = name};
	push(a, &f);
}

/* Kernel symbols come and go (modules, BPF programs): an address that no
 * symbol covers reads them again, at most every KSYMS_REREAD_NS. */
#define KSYMS_REREAD_NS	    (10 * NS_PER_SEC)
#define KSYMS_REREAD_MAX_NS (600 * NS_PER_SEC)

void agg_reload_kallsyms(struct aggregator *a)
{
	struct kallsyms fresh;
	a->ksyms_loaded = monotonic_ns();
	if (kallsyms_load(&fresh, "/proc/kallsyms"))
		return;
	kallsyms_free(&a->ksyms);
	a->ksyms = fresh;
	a->have_ksyms = 1;
}

static const struct ksym *ksym_of(struct aggregator *a, uint64_t ip)
{
	const struct ksym *k = a->have_ksyms ? kallsyms_find(&a->ksyms, ip) : NULL;
	uint64_t wait = a->ksyms_backoff ? a->ksyms_backoff : KSYMS_REREAD_NS;
	if (k || monotonic_ns() - a->ksyms_loaded < wait)
		return k;
	agg_reload_kallsyms(a);
	k = a->have_ksyms ? kallsyms_find(&a->ksyms, ip) : NULL;
	/* an address no reload names (a trampoline, a JIT area without
	 * symbols) would reload the ~150k symbols every 10 s forever: each
	 * fruitless reload doubles the wait, up to KSYMS_REREAD_MAX_NS */
	a->ksyms_backoff = k ? 0 : wait * 2 < KSYMS_REREAD_MAX_NS ? wait * 2 : KSYMS_REREAD_MAX_NS;
	return k;
}

static void push_kernel(struct aggregator *a, uint64_t ip)
{
	const struct ksym *k = ksym_of(a, ip);
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)ip);
	struct prof_frame f = {
		.kind = PROF_FRAME_KERNEL,
		.name = k ? k->name : buf,
		.module = "[kernel.kallsyms]",
		.address = ip,
	};
	push(a, &f);
}

static void push_python(struct aggregator *a, struct agg_proc *p, const struct py_frame *pf)
{
	const struct pysym *s = pysym_get(p->syms, pf->code, pf->tag);
	if (!s) {
		a->stats.unknown_code++;
		push_special(a, "[unknown Python frame]");
		return;
	}
	struct prof_frame f = {
		.kind = PROF_FRAME_PYTHON,
		.name = s->qualname,
		.file = s->filename,
		.start_line = s->firstlineno,
		.line = pysym_line(p->syms, s, pf->instr),
	};
	push(a, &f);
}

static void push_native(struct aggregator *a, const struct native *n)
{
	/* unnamed code (stripped binaries, no debug file) is named by its
	 * object and the start of its function from the call frame
	 * information, so one function is one frame, told from the others;
	 * the address stays in the frame */
	char buf[PATH_MAX];
	const char *base = strrchr(n->sym.module, '/');
	base = base ? base + 1 : n->sym.module;
	if (n->sym.func)
		snprintf(buf, sizeof(buf), "[%s+0x%" PRIx64 "]", base, n->sym.func);
	else
		snprintf(buf, sizeof(buf), "[%s]", base);
	struct prof_frame f = {
		.kind = PROF_FRAME_NATIVE,
		.name = n->sym.name ? n->sym.name : buf,
		.module = n->sym.module,
		.address = n->ip,
	};
	push(a, &f);
}

static bool is_entry(const void *ctx, uint32_t i)
{
	const struct pybpf_stack *r = ctx;
	return (r->entry[i / 64] >> (i % 64)) & 1;
}

/* The native user frames that resolve (the rest is a native unwind gone
 * astray), with their names interned.  Returns how many. */
static uint32_t resolve_user(struct aggregator *a, struct agg_proc *p, const struct pybpf_stack *r)
{
	struct agg_scratch *s = a->scratch;
	uint32_t nn = 0;
	for (uint32_t i = 0; i < r->nuser && i < PYBPF_MAX_NATIVE; i++) {
		struct native *n = &s->nat[nn];
		/* return addresses point after the call: look up ip - 1 */
		uint64_t ip = i ? r->user[i] - 1 : r->user[i];
		if (natsym_resolve(&p->nat, ip, &n->sym))
			break; /* not in an executable mapping */
		/* the next resolve may re-read the maps: keep our own copies */
		n->sym.module = profile_str(&a->frames, n->sym.module);
		n->sym.name = n->sym.name ? profile_str(&a->frames, n->sym.name) : NULL;
		if (!n->sym.module) {
			s->err = -1;
			return 0;
		}
		n->ip = r->user[i];
		s->names[nn++] = n->sym.name;
	}
	return nn;
}

/* User frames leaf first, each eval-loop frame replaced by the run of Python
 * frames it executes (merge.h). */
static void push_user(struct aggregator *a, struct agg_proc *p, const struct pybpf_stack *r,
		      const struct agg_task *task)
{
	struct agg_scratch *s = a->scratch;
	uint32_t nn = resolve_user(a, p, r);
	for (uint32_t i = 0; i < nn; i++)
		s->interp[i] = prof_interpreter_module(s->nat[i].sym.module);
	size_t m = merge_stack(s->names, s->interp, nn, r->npy, is_entry, r, s->merged,
			       sizeof(s->merged) / sizeof(s->merged[0]));
	for (size_t i = 0; i < m && !s->err; i++) {
		if (s->merged[i].kind != MERGE_PYTHON) {
			push_native(a, &s->nat[s->merged[i].idx]);
			continue;
		}
		push_python(a, p, &r->py[s->merged[i].idx]);
		if (r->coro && s->merged[i].idx == r->coro_idx)
			s->coro_split = s->n;
		/* a task's stack goes on in the tasks awaiting it, each where it
		 * waits: a gather() tree reads as a call stack */
		for (uint32_t k = 0; task && s->merged[i].idx == r->coro_idx && k < task->nup; k++)
			push_python(a, p, &task->up[k]);
	}
}

/* The first kernel frame to show: for a stack taken at a switch-out, the
 * scheduler's entry (__schedule), not the tracing above it (bpf_prog_*,
 * bpf_trace_run*, __traceiter_sched_switch), which is pybpf's own. */
static uint32_t kernel_start(struct aggregator *a, const struct pybpf_stack *r)
{
	if (!(r->flags & STACK_SWITCH))
		return 0;
	for (uint32_t i = 0; i < r->nkern; i++) {
		const struct ksym *k = ksym_of(a, r->kern[i]);
		if (k && !strcmp(k->name, "__schedule"))
			return i;
	}
	return 0;
}

/* --- asyncio tasks ------------------------------------------------------------ */

#define TASKS_READ_MAX	 4096
#define TASKS_REREAD_NS	 (50 * NS_PER_MS) /* a process's tasks read again at most this often */
#define TASKS_RECHECK_NS (NS_PER_MS / 10) /* ... for a task read before it ran */
#define TASKS_WAIT_MAX	 (2 * NS_PER_SEC) /* ... while reads find nothing */
#define TASK_PARENTS_MAX 8

static void task_parents(const struct pytask *t, size_t n, const struct pytask *me,
			 struct agg_task *out)
{
	char *s = out->parents;
	size_t len = sizeof(out->parents);
	const struct pytask *chain[TASK_PARENTS_MAX];
	size_t k = 0;
	s[0] = '\0';
	out->nup = 0;
	for (uint64_t up = me->parent; up && k < TASK_PARENTS_MAX;) {
		const struct pytask *p = NULL;
		for (size_t i = 0; i < n && !p; i++)
			if (t[i].addr == up)
				p = &t[i];
		if (!p)
			break;
		chain[k++] = p;
		for (uint32_t f = p->nstack;
		     f-- > 0 && out->nup < sizeof(out->up) / sizeof(out->up[0]);)
			out->up[out->nup++] = p->stack[f];
		up = p->parent;
	}
	size_t used = 0;
	while (k-- > 0 && used < len) {
		int w = snprintf(s + used, len - used, "%s%s", used ? " > " : "", chain[k]->name);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static void read_tasks(struct aggregator *a, struct agg_proc *p)
{
	struct pytask *t = malloc(TASKS_READ_MAX * sizeof(*t));
	size_t total;
	char err[128];
	p->tasks_read = monotonic_ns();
	a->stats.task_reads++;
	long n = t ? pytasks_read(&p->pp, t, TASKS_READ_MAX, &total, 0, err, sizeof(err)) : -1;
	struct agg_task *nt = n > 0 ? malloc((size_t)n * sizeof(*nt)) : NULL;
	size_t k = 0;
	for (long i = 0; nt && i < n; i++) {
		if (!t[i].coro_frame)
			continue;
		nt[k].frame = t[i].coro_frame;
		snprintf(nt[k].name, sizeof(nt[k].name), "%s", t[i].name);
		task_parents(t, (size_t)n, &t[i], &nt[k]);
		nt[k].provisional = t[i].created && !t[i].parent;
		k++;
	}
	free(t);
	if (n > 0 && !nt)
		return; /* ENOMEM: keep what we had */
	free(p->tasks);
	p->tasks = nt;
	p->ntasks = k;
}

static const struct agg_task *find_task(const struct agg_proc *p, uint64_t frame)
{
	for (size_t i = 0; i < p->ntasks; i++)
		if (p->tasks[i].frame == frame)
			return &p->tasks[i];
	return NULL;
}

/* The task whose coroutine's frame is frame: from the last read, else (a
 * task new since, or one read before it first ran: who awaits it is known
 * once it runs) from a new read, at most every TASKS_REREAD_NS (the one
 * before it ran: TASKS_RECHECK_NS); while reads find nothing, the wait
 * doubles up to TASKS_WAIT_MAX, so a process whose memory never names its
 * stacks' tasks costs less and less. */
static const struct agg_task *task_of(struct aggregator *a, struct agg_proc *p, uint64_t frame)
{
	const struct agg_task *t = find_task(p, frame);
	if (t && !t->provisional)
		return t;
	if (!pytasks_supported(&p->pp))
		return NULL;
	uint64_t wait = p->tasks_wait ? p->tasks_wait : t ? TASKS_RECHECK_NS : TASKS_REREAD_NS;
	if (!p->tasks_read || monotonic_ns() - p->tasks_read >= wait) {
		read_tasks(a, p);
		t = find_task(p, frame);
		wait = wait < TASKS_REREAD_NS ? TASKS_REREAD_NS : 2 * wait;
		p->tasks_wait = t && !t->provisional	? 0
				: wait < TASKS_WAIT_MAX ? wait
							: TASKS_WAIT_MAX;
	}
	if (!t)
		a->stats.task_misses++;
	return t;
}

/* The stack's task labels from t (settled unless t was read before it ran). */
static void set_task(struct stack_entry *e, const struct agg_task *t)
{
	free(e->task);
	free(e->task_parents);
	e->task = strdup(t->name);
	e->task_parents = t->parents[0] ? strdup(t->parents) : NULL;
	e->task_settled = !t->provisional;
}

/* --- endpoints ---------------------------------------------------------------- */

static bool target_package(void *ctx, const char *dir)
{
	struct agg_proc *p = ctx;
	for (size_t i = 0; i < PKG_DIRS; i++)
		if (p->pkg_dirs[i].dir && !strcmp(p->pkg_dirs[i].dir, dir))
			return p->pkg_dirs[i].package;
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "/proc/%d/root%s/__init__.py", (int)p->pid, dir);
	bool package = n > 0 && (size_t)n < sizeof(path) && access(path, F_OK) == 0;
	struct pkg_dir *slot = &p->pkg_dirs[p->pkg_next++ % PKG_DIRS];
	free(slot->dir);
	slot->dir = strdup(dir); /* NULL: looked up again next time */
	slot->package = package;
	return package;
}

/* The view the stack's request runs (dispatch.c's table), named after its
 * module in the target's files: "shop.views.checkout", or NULL. */
static void set_endpoint(struct aggregator *a, struct agg_proc *p, struct stack_entry *e)
{
	struct dispatch_frame *df = a->scratch->dispatch;
	size_t n = 0;
	for (uint32_t i = 0; i < e->n; i++) {
		const struct prof_frame *f = &a->frames.frames[e->frames[i]];
		if (f->kind == PROF_FRAME_PYTHON)
			df[n++] = (struct dispatch_frame){.name = f->name, .file = f->file};
	}
	const char *framework = NULL;
	int v = dispatch_view(df, n, &framework);
	free(e->endpoint);
	e->endpoint = NULL;
	if (v < 0)
		return;
	char name[DISPATCH_NAME_MAX];
	dispatch_endpoint_name(&df[v], target_package, p, name, sizeof(name));
	e->endpoint = strdup(name);
}

static bool record_ok(const struct pybpf_stack *r, size_t len)
{
	size_t need = offsetof(struct pybpf_stack, py);
	return len >= need && r->npy <= PYBPF_MAX_PY_FRAMES &&
	       len >= need + r->npy * sizeof(struct py_frame) && r->nkern <= PYBPF_MAX_NATIVE &&
	       r->nuser <= PYBPF_MAX_NATIVE;
}

int agg_stack(struct aggregator *a, const void *data, size_t len)
{
	const struct pybpf_stack *r = data;
	struct agg_scratch *s = a->scratch;

	if (!record_ok(r, len))
		return -1;
	struct stack_entry *known = stacks_find(&a->stacks, r->hash);
	if (known) {
		stacks_touch(&a->stacks, known); /* sent again: it is in use */
		return 0;
	}
	struct agg_proc *p = proc_find(a, (pid_t)r->pid);
	if (!p)
		return 0; /* a process forgotten meanwhile */
	s->n = 0;
	s->err = 0;
	s->coro_split = UINT32_MAX;
	const struct agg_task *t = r->coro ? task_of(a, p, r->coro) : NULL;
	for (uint32_t i = kernel_start(a, r); i < r->nkern; i++)
		push_kernel(a, r->kern[i]);
	push_user(a, p, r, t);
	if (r->flags & STACK_PY_TRUNCATED)
		push_special(a, "[truncated: more Python frames than captured]");
	if (r->flags & (STACK_PY_FAULT | STACK_BAD_CODE))
		push_special(a, "[Python stack unreadable]");
	/* no frame of any kind (a thread caught before its first, say): still
	 * one, so that every format and reader counts the sample */
	if (!s->n)
		push_special(a, "[no stack]");
	if (s->err)
		return -1;
	a->stats.stacks++;
	if (stacks_insert(&a->stacks, r->hash, r->pid, s->idx, s->n))
		return -1;
	struct stack_entry *e = stacks_find(&a->stacks, r->hash);
	if (r->coro && s->coro_split != UINT32_MAX) {
		e->coro = r->coro;
		e->coro_split = s->coro_split;
	}
	if (t)
		set_task(e, t);
	set_endpoint(a, p, e);
	return 0;
}

/* A stack whose task was not found when it came, or found before it ran
 * (who awaits it unknown): looked for again as its samples are counted,
 * and once found for good, the frames of the tasks awaiting it put in. */
static void settle_task(struct aggregator *a, struct agg_proc *p, struct stack_entry *e)
{
	struct agg_scratch *s = a->scratch;
	const struct agg_task *t = task_of(a, p, e->coro);
	if (!t || t->provisional || e->coro_split > e->n)
		return;
	bool had_frames = e->task_parents != NULL; /* put in when it was set */
	if (!had_frames && t->nup) {
		s->n = 0;
		s->err = 0;
		memcpy(s->idx, e->frames, e->coro_split * sizeof(*s->idx));
		s->n = e->coro_split;
		for (uint32_t k = 0; k < t->nup; k++)
			push_python(a, p, &t->up[k]);
		for (uint32_t i = e->coro_split; i < e->n && s->n < AGG_MAX_FRAMES; i++)
			s->idx[s->n++] = e->frames[i];
		uint32_t *nf = s->err ? NULL : malloc(s->n * sizeof(*nf));
		if (!nf)
			return; /* as it was */
		memcpy(nf, s->idx, s->n * sizeof(*nf));
		free(e->frames);
		e->frames = nf;
		e->n = s->n;
		set_endpoint(a, p, e); /* its view may be in a task awaiting it */
	}
	set_task(e, t);
}

int agg_add_stack(struct aggregator *a, uint32_t pid, const struct prof_frame *frames, size_t n,
		  uint64_t *hash)
{
	struct agg_scratch *s = a->scratch;
	uint64_t h = 0x75736572ULL ^ pid;
	s->n = 0;
	s->err = 0;
	for (size_t i = 0; i < n; i++) {
		push(a, &frames[i]);
		h = (h ^ (s->n ? s->idx[s->n - 1] : 0)) * 0x100000001b3ULL;
	}
	h |= PYBPF_HASH_USER_BIT; /* never a kernel hash: see pybpf_shared.h */
	if (s->err)
		return -1;
	*hash = h;
	struct stack_entry *e = stacks_find(&a->stacks, h);
	if (e) {
		stacks_touch(&a->stacks, e);
		return 0;
	}
	if (stacks_insert(&a->stacks, h, pid, s->idx, s->n))
		return -1;
	struct agg_proc *p = proc_find(a, (pid_t)pid);
	if (p)
		set_endpoint(a, p, stacks_find(&a->stacks, h));
	return 0;
}

/* --- modes -------------------------------------------------------------------- */

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
	for (size_t i = 0; s && i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
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

bool agg_mode_wants(enum agg_mode m, uint8_t kind, uint8_t reason)
{
	switch (m) {
	case AGG_MODE_CPU:
		return kind == KIND_CPU;
	case AGG_MODE_WALL:
		return true;
	case AGG_MODE_OFFCPU:
		return kind == KIND_OFFCPU;
	case AGG_MODE_GIL:
		return kind == KIND_OFFCPU && reason == REASON_GIL;
	}
	return false;
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

void agg_set_rate(struct aggregator *a, uint32_t rate_hz)
{
	a->rate_hz = rate_hz;
	a->window->rate_hz = rate_hz;
	a->window->period_ns = 1000000000ULL / rate_hz;
}

int agg_stack_frames(struct aggregator *a, uint64_t hash, const uint32_t **frames, uint32_t *n)
{
	struct stack_entry *s = stacks_find(&a->stacks, hash);
	if (!s)
		return -1;
	*frames = s->frames;
	*n = s->n;
	return 0;
}

const char *agg_stack_task(struct aggregator *a, uint64_t hash)
{
	struct stack_entry *s = stacks_find(&a->stacks, hash);
	return s ? s->task : NULL;
}

const char *agg_stack_endpoint(struct aggregator *a, uint64_t hash)
{
	struct stack_entry *s = stacks_find(&a->stacks, hash);
	return s ? s->endpoint : NULL;
}

const struct pyprocess *agg_process(struct aggregator *a, pid_t pid)
{
	struct agg_proc *p = proc_find(a, pid);
	return p ? &p->pp : NULL;
}

const char *agg_thread_name(struct aggregator *a, uint32_t pid, uint32_t tid)
{
	struct agg_proc *p = proc_find(a, (pid_t)pid);
	return p ? thread_name(a, p, tid) : "";
}

static int window_add(struct aggregator *a, struct agg_proc *p, struct stack_entry *s,
		      struct prof_sample *ps);
static void settle_task(struct aggregator *a, struct agg_proc *p, struct stack_entry *e);

/* The template of statement sql, "" when not known. */
static const char *sql_text(struct aggregator *a, uint32_t sql)
{
	struct agg_sql *c = &a->sql_cache[sql % AGG_SQL_CACHE];
	if (c->sql == sql)
		return c->text;
	if (!a->sql_text || a->sql_text(a->sql_ctx, sql, c->text, sizeof(c->text))) {
		a->stats.sql_unknown++;
		return "";
	}
	c->sql = sql;
	return c->text;
}

int agg_count(struct aggregator *a, const struct pybpf_count_key *key,
	      const struct pybpf_count *val)
{
	struct stack_entry *s = stacks_find(&a->stacks, key->hash);
	struct agg_proc *p = proc_find(a, (pid_t)key->pid);
	if (!key->hash && key->kind == KIND_OFFCPU && p)
		return waitstats_add(&a->waits, key, val); /* time without a stack */
	if (!p) {
		a->stats.unknown_stack += val->count;
		return 0;
	}
	if (!s) {
		/* its stack never reached us (counted): the profile loses the
		 * sample, the thread's time by reason keeps it */
		struct pybpf_count_key k = *key;
		a->stats.unknown_stack += val->count;
		k.hash = 0;
		return waitstats_add(&a->waits, &k, val);
	}
	stacks_touch(&a->stacks, s);
	if (waitstats_add(&a->waits, key, val))
		return -1;
	if (!agg_mode_wants(a->mode, key->kind, key->reason))
		return 0;
	uint64_t value = key->kind == KIND_CPU ? val->count * a->window->period_ns : val->ns;
	const char *reason = a->mode == AGG_MODE_CPU ? "" : waitstats_reason_name(key->reason);
	struct prof_sample ps = {
		.count = val->count,
		.value = value,
		.pid = key->pid,
		.tid = key->tid,
		.reason = reason,
		.holds_gil = key->holds_gil != 0,
		.sql = key->sql ? sql_text(a, key->sql) : NULL,
	};
	return window_add(a, p, s, &ps);
}

/* ps (frames aside) of stack s of process p, to the window. */
static int window_add(struct aggregator *a, struct agg_proc *p, struct stack_entry *s,
		      struct prof_sample *ps)
{
	if (s->coro && !s->task_settled)
		settle_task(a, p, s);
	uint32_t *wf = a->scratch->window;
	if (!profile_process(a->window, ps->pid) &&
	    profile_set_process(a->window, ps->pid, (uint32_t)p->pp.ns_pid, p->pp.cgroup,
				p->pp.root, p->cmdline))
		return -1;
	for (uint32_t i = 0; i < s->n; i++) {
		int64_t wi = window_frame(a, s->frames[i]);
		if (wi < 0)
			return -1;
		wf[i] = (uint32_t)wi;
	}
	ps->frames = wf;
	ps->nframes = s->n;
	ps->thread_name = thread_name(a, p, ps->tid);
	ps->task = s->task;
	ps->task_parents = s->task_parents;
	ps->endpoint = s->endpoint;
	return profile_add_sample(a->window, ps);
}

int agg_stall(struct aggregator *a, uint32_t pid, uint32_t tid, uint64_t hash, const char *reason,
	      uint64_t ns)
{
	struct stack_entry *s = stacks_find(&a->stacks, hash);
	struct agg_proc *p = proc_find(a, (pid_t)pid);
	if (!s || !p)
		return 1; /* the caller counts the time: no sample was lost */
	stacks_touch(&a->stacks, s);
	struct prof_sample ps = {.pid = pid, .tid = tid, .reason = reason, .stall_ns = ns};
	return window_add(a, p, s, &ps);
}

/* --- forgetting what is no longer seen -------------------------------------- */

void agg_touch(struct aggregator *a, uint64_t hash)
{
	struct stack_entry *s = stacks_find(&a->stacks, hash);
	if (s)
		stacks_touch(&a->stacks, s);
}

static void forget_thread_names(struct aggregator *a)
{
	for (struct agg_proc *p = a->procs; p; p = p->next) {
		free(p->threads);
		p->threads = NULL;
		p->nthreads = p->threads_cap = 0;
	}
}

/* After `dropped` stacks went: the frame table without their frames. */
static long compact(struct aggregator *a, long dropped)
{
	a->stats.stacks_forgotten += (uint64_t)dropped;
	if (!dropped)
		return 0;
	if (stacks_compact_frames(&a->stacks, &a->frames, a->rate_hz))
		return -1; /* the old table stays, still right, only larger */
	/* window indices were keyed by the old frame numbers */
	if (a->remap)
		memset(a->remap, 0, a->remap_cap * sizeof(*a->remap));
	return dropped;
}

long agg_sweep(struct aggregator *a, uint32_t keep, stacks_forget_fn forget, void *ctx)
{
	long dropped = stacks_sweep(&a->stacks, keep ? keep : 1, forget, ctx);
	if (dropped < 0)
		return -1;
	/* threads come and go: names are read again when next seen */
	forget_thread_names(a);
	return compact(a, dropped);
}

struct file_id {
	uint64_t inode;
	uint64_t dev; /* major << 32 | minor */
};

static int cmp_file_id(const void *a, const void *b)
{
	const struct file_id *x = a, *y = b;
	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	return (x->dev > y->dev) - (x->dev < y->dev);
}

struct live_files {
	struct file_id *f;
	size_t n;
};

static bool still_mapped(void *ctx, uint64_t inode, unsigned major, unsigned minor)
{
	const struct live_files *l = ctx;
	struct file_id k = {inode, (uint64_t)major << 32 | minor};
	return bsearch(&k, l->f, l->n, sizeof(k), cmp_file_id) != NULL;
}

/* The ELF files no process still registered maps: forgotten, so the cache
 * is bounded by what runs, not by every program seen since the start. */
static void prune_elves(struct aggregator *a)
{
	struct live_files l = {NULL, 0};
	size_t cap = 0;
	for (const struct agg_proc *p = a->procs; p; p = p->next)
		cap += p->nat.pm.n;
	l.f = malloc((cap ? cap : 1) * sizeof(*l.f));
	if (!l.f)
		return; /* kept: still right, only larger */
	for (const struct agg_proc *p = a->procs; p; p = p->next)
		for (size_t i = 0; i < p->nat.pm.n; i++) {
			const struct mapping *m = &p->nat.pm.m[i];
			if (m->inode)
				l.f[l.n++] = (struct file_id){
					m->inode, (uint64_t)m->dev_major << 32 | m->dev_minor};
		}
	qsort(l.f, l.n, sizeof(*l.f), cmp_file_id);
	elfcache_prune(a->elves, still_mapped, &l);
	free(l.f);
}

long agg_drop_pids(struct aggregator *a, const uint32_t *pids, size_t n, stacks_forget_fn forget,
		   void *ctx)
{
	long k = compact(a, stacks_drop_pids(&a->stacks, pids, n, forget, ctx));
	if (k >= 0)
		prune_elves(a);
	return k;
}

size_t agg_stack_count(const struct aggregator *a)
{
	return a->stacks.n;
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
	a->window = new_window(rate_hz, mode);
	a->scratch = calloc(1, sizeof(*a->scratch));
	a->elves = elfcache_new();
	if (!a->window || !a->scratch || !a->elves || stacks_init(&a->stacks) ||
	    profile_init(&a->frames, rate_hz)) {
		agg_free(a);
		return -1;
	}
	agg_reload_kallsyms(a);
	return 0;
}

void agg_free(struct aggregator *a)
{
	while (a->procs) {
		struct agg_proc *p = a->procs;
		a->procs = p->next;
		proc_free(p);
	}
	stacks_free(&a->stacks);
	if (a->window) {
		profile_free(a->window);
		free(a->window);
	}
	if (a->frames.strings)
		profile_free(&a->frames);
	kallsyms_free(&a->ksyms);
	waitstats_free(&a->waits);
	elfcache_free(a->elves);
	free(a->scratch);
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
