/* pytasks.c - the asyncio tasks of a process, read from outside.
 *
 * Where the tasks are:
 *   3.11        asyncio.tasks._all_tasks, a WeakSet (the C module's own)
 *   3.12, 3.13  asyncio.tasks._scheduled_tasks (WeakSet) and _eager_tasks
 *               (a set of the tasks running their first step eagerly)
 *   3.14, 3.15  a C Task is in a circular list of its thread's
 *               (_PyThreadStateImpl.asyncio_tasks_head, the node in the
 *               task); _scheduled_tasks and _eager_tasks as before hold the
 *               others (Python subclasses, eager ones).
 * A WeakSet's elements are in its `data` attribute, a set of weak
 * references (PyWeakReference.wr_object at 16).
 *
 * TaskObj (Modules/_asynciomodule.c) fields, measured per version on
 * 3.11.2/3.11.7, 3.12.1, 3.13.0/3.13.5, 3.14.10 and 3.15.2 (x86_64, GIL) by
 * finding each field's known value in a live task: task_coro, task_name,
 * fut_state, task_fut_waiter; PyGenObject.gi_iframe, where a coroutine's
 * frame lives (3.14+ also publish it in _Py_DebugOffsets.gen_object).
 * A task's name is a str, or from 3.12 an int n until asked, shown as
 * "Task-n" as asyncio would.  The frame's stack top: pycore_frame.h (3.11-
 * 3.13) and pycore_interpframe_structs.h (3.14, 3.15) of those versions. */
#include "python/pytasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyobject.h"
#include "python/symbols.h"
#include "sys/memread.h"
#include "sys/textesc.h"

static inline long pyu_read(void *rctx, void *dst, __u32 len, __u64 addr)
{
	return mem_read(*(const pid_t *)rctx, addr, dst, len);
}

#include "pyunwind.h"

struct task_layout {
	unsigned minor;
	uint16_t coro, name, state, waiter, gen_iframe;
	uint16_t ts_tasks_head, task_node; /* 3.14+, else 0 */
	/* _PyInterpreterFrame: the top of its value stack, where a suspended
	 * coroutine keeps what it awaits; `int stacktop` counted in slots
	 * from localsplus (3.11-3.13), or `_PyStackRef *stackpointer` past it
	 * (3.14+: stack references, tagged in their low bits) */
	uint16_t fr_stacktop, fr_localsplus, fr_stackpointer;
	/* the awaited object's slot from the top: 1, or 2 where 3.15 keeps a
	 * stack reference above it (measured on 3.15.2 against cr_await) */
	uint16_t yf_slot;
};

/* clang-format off */
static const struct task_layout task_layouts[] = {
	{11, 136, 144, 88, 128, 80, 0, 0, 64, 72, 0, 1},
	{12, 136, 144, 88, 128, 72, 0, 0, 64, 72, 0, 1},
	{13, 120, 128, 96, 112, 72, 0, 0, 64, 72, 0, 1},
	{14, 128, 136, 104, 120, 72, 880, 152, 0, 80, 64, 1},
	{15, 128, 136, 104, 120, 72, 1048, 152, 0, 80, 64, 2},
};
/* clang-format on */

#define WR_OBJECT    16
#define TASK_READ    160 /* covers every field above */
#define LIST_GUARD   PYTASKS_MAX
#define CHILDREN_MAX 4096

static const struct task_layout *layout_of(const struct pyprocess *pp)
{
	if (pp->major != 3)
		return NULL;
	for (size_t i = 0; i < sizeof(task_layouts) / sizeof(task_layouts[0]); i++)
		if (task_layouts[i].minor == pp->minor)
			return &task_layouts[i];
	return NULL;
}

int pytasks_supported(const struct pyprocess *pp)
{
	return layout_of(pp) != NULL;
}

const char *pytask_state_name(int state)
{
	switch (state) {
	case PYTASK_PENDING:
		return "pending";
	case PYTASK_CANCELLED:
		return "cancelled";
	case PYTASK_FINISHED:
		return "finished";
	default:
		return "?";
	}
}

struct collect {
	struct pyobj_reader *r;
	const struct task_layout *T;
	struct pytask *out;
	size_t max, n, total;
};

static bool have(const struct collect *c, uint64_t addr)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->out[i].addr == addr)
			return true;
	return false;
}

static void task_name(struct pyobj_reader *r, uint64_t name, char *out, size_t len)
{
	int64_t n;
	char *s = pyobj_str(r, name, PYTASK_NAME_MAX - 1);
	if (s) {
		snprintf(out, len, "%s", s);
		free(s);
	} else if (!pyobj_int(r, name, &n)) {
		snprintf(out, len, "Task-%lld", (long long)n);
	} else {
		snprintf(out, len, "?");
	}
}

/* One task: its fields, if it reads as one (its coroutine a coroutine). */
static int add_task(void *ctx, uint64_t task)
{
	struct collect *c = ctx;
	const struct task_layout *T = c->T;
	uint8_t b[TASK_READ];
	char tname[56];
	if (!task || have(c, task) || c->total >= PYTASKS_MAX)
		return 0;
	pyobj_type_name(c->r, task, tname, sizeof(tname));
	if (!strstr(tname, "Task") || pyobj_read(c->r, task, b, sizeof(b)))
		return 0;
	c->total++;
	if (c->n >= c->max)
		return 0;
	struct pytask *t = &c->out[c->n++];
	memset(t, 0, sizeof(*t));
	t->addr = task;
	memcpy(&t->coro, b + T->coro, 8);
	int32_t state;
	memcpy(&state, b + T->state, 4);
	t->state = state >= 0 && state <= 2 ? state : -1;
	if (t->state == PYTASK_PENDING)
		memcpy(&t->waiter, b + T->waiter, 8);
	uint64_t name;
	memcpy(&name, b + T->name, 8);
	task_name(c->r, name, t->name, sizeof(t->name));
	char cname[56];
	pyobj_type_name(c->r, t->coro, cname, sizeof(cname));
	t->coro_frame = t->coro && !strcmp(cname, "coroutine") ? t->coro + T->gen_iframe : 0;
	return 0;
}

static int add_weak(void *ctx, uint64_t ref)
{
	struct collect *c = ctx;
	uint64_t obj = 0;
	if (pyobj_read(c->r, ref + WR_OBJECT, &obj, sizeof(obj)))
		return 0;
	return add_task(ctx, obj);
}

static void from_weakset(struct collect *c, const char *global)
{
	uint64_t ws, data;
	if (pyobj_module_global(c->r, "asyncio.tasks", global, &ws) ||
	    pyobj_attr(c->r, ws, "data", &data))
		return;
	pyobj_set_each(c->r, data, add_weak, c);
}

static void from_set(struct collect *c, const char *global)
{
	uint64_t set;
	if (!pyobj_module_global(c->r, "asyncio.tasks", global, &set))
		pyobj_set_each(c->r, set, add_task, c);
}

/* 3.14+: each thread state's circular list of its C tasks. */
static void from_thread_lists(struct collect *c, const struct pyprocess *pp)
{
	const struct py_layout *L = &pp->layout.bpf;
	uint64_t interp = 0, ts = 0;
	if (pyobj_read(c->r, pp->runtime_addr + L->rt_interp_head, &interp, 8) || !interp ||
	    pyobj_read(c->r, interp + L->interp_tstate_head, &ts, 8))
		return;
	for (int nts = 0; ts && nts < PYBPF_MAX_THREADS; nts++) {
		uint64_t head = ts + c->T->ts_tasks_head, node = 0;
		if (pyobj_read(c->r, head, &node, 8))
			return;
		for (int i = 0; node && node != head && i < LIST_GUARD; i++) {
			add_task(c, node - c->T->task_node);
			if (pyobj_read(c->r, node, &node, 8))
				break;
		}
		if (pyobj_read(c->r, ts + L->ts_next, &ts, 8))
			return;
	}
}

/* --- who awaits whom -------------------------------------------------------- */

struct parent_ctx {
	struct pytask *tasks;
	size_t n;
	uint64_t parent;
};

static struct pytask *find(struct pytask *t, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].addr == addr)
			return &t[i];
	return NULL;
}

static int set_parent(void *ctx, uint64_t child)
{
	struct parent_ctx *p = ctx;
	struct pytask *t = find(p->tasks, p->n, child);
	if (t && !t->parent && t->addr != p->parent)
		t->parent = p->parent;
	return 0;
}

/* A task awaiting a task is its parent; one awaiting gather()'s future is
 * the parent of each of its children (_GatheringFuture._children). */
static void link_parents(struct pyobj_reader *r, struct pytask *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!t[i].waiter)
			continue;
		struct parent_ctx p = {t, n, t[i].addr};
		char tname[56];
		uint64_t children;
		if (find(t, n, t[i].waiter)) {
			set_parent(&p, t[i].waiter);
			continue;
		}
		pyobj_type_name(r, t[i].waiter, tname, sizeof(tname));
		if (!strcmp(tname, "_GatheringFuture") &&
		    !pyobj_attr(r, t[i].waiter, "_children", &children))
			pyobj_seq_each(r, children, set_parent, &p);
	}
}

#define STACK_SLOTS_MAX 65536

/* What the suspended frame at frame awaits: the object on top of its value
 * stack; 0 when that cannot be read. */
static uint64_t awaited(struct pyobj_reader *r, const struct task_layout *T, uint64_t frame)
{
	uint64_t top = 0, obj = 0;
	if (T->fr_stackpointer) {
		uint64_t sp = 0;
		if (pyobj_read(r, frame + T->fr_stackpointer, &sp, 8) ||
		    sp < frame + T->fr_localsplus + 8 * T->yf_slot ||
		    sp - frame > 8 * STACK_SLOTS_MAX)
			return 0;
		top = sp - 8 * T->yf_slot;
	} else {
		int32_t n = 0;
		if (pyobj_read(r, frame + T->fr_stacktop, &n, 4) || n < (int32_t)T->yf_slot ||
		    n > STACK_SLOTS_MAX)
			return 0;
		top = frame + T->fr_localsplus + 8 * (uint64_t)(n - T->yf_slot);
	}
	if (pyobj_read(r, top, &obj, 8))
		return 0;
	return obj & ~7ULL; /* a stack reference's tag bits (3.14+) */
}

/* The task's coroutines, outermost first: its own, then while the one on
 * top of a frame's stack is a coroutine (or a generator-based one, like
 * asyncio.sleep(0)'s), that one's frame. */
static void read_stack(const struct pyprocess *pp, struct pyobj_reader *r,
		       const struct task_layout *T, struct pytask *t)
{
	uint8_t fbuf[PYBPF_BUF], cbuf[PYBPF_BUF];
	pid_t pid = pp->pid;
	uint64_t frame = t->coro_frame;
	t->nstack = 0;
	while (frame && t->nstack < PYTASK_STACK_MAX) {
		struct pyu_frame fr = {0};
		if (pyu_frame(&pp->layout.bpf, &pid, frame, pp->code_type_addr, fbuf, cbuf, &fr))
			return;
		t->stack[t->nstack++] = (struct py_frame){fr.code, fr.instr, fr.tag};
		uint64_t next = awaited(r, T, frame);
		char name[56];
		pyobj_type_name(r, next, name, sizeof(name));
		frame = next && (!strcmp(name, "coroutine") || !strcmp(name, "generator"))
				? next + T->gen_iframe
				: 0;
	}
}

/* Which pending tasks that await nothing have never run (their coroutine
 * still at its first instructions: RETURN_GENERATOR, POP_TOP). */
static void mark_created(const struct pyprocess *pp, struct pytask *t, size_t n)
{
	uint8_t fbuf[PYBPF_BUF], cbuf[PYBPF_BUF];
	pid_t pid = pp->pid;
	for (size_t i = 0; i < n; i++) {
		struct pyu_frame fr = {0};
		if (t[i].state != PYTASK_PENDING || t[i].waiter || !t[i].coro_frame ||
		    pyu_frame(&pp->layout.bpf, &pid, t[i].coro_frame, pp->code_type_addr, fbuf,
			      cbuf, &fr))
			continue;
		t[i].created = fr.instr <= 2;
	}
}

/* What each pending task awaits, read again (after mark_created). */
static void reread_waiters(struct pyobj_reader *r, const struct task_layout *T, struct pytask *t,
			   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t w = 0;
		if (t[i].state == PYTASK_PENDING && !pyobj_read(r, t[i].addr + T->waiter, &w, 8))
			t[i].waiter = w;
	}
}

/* The stacks of the tasks that others await (their frames become part of
 * the others' stacks), or of every task. */
static void read_stacks(const struct pyprocess *pp, struct pyobj_reader *r,
			const struct task_layout *T, struct pytask *t, size_t n, unsigned flags)
{
	for (size_t i = 0; i < n; i++) {
		struct pytask *who = (flags & PYTASKS_STACKS) ? &t[i]
				     : t[i].parent	      ? find(t, n, t[i].parent)
							      : NULL;
		if (who && !who->nstack)
			read_stack(pp, r, T, who);
	}
}

long pytasks_read(const struct pyprocess *pp, struct pytask *out, size_t max, size_t *total,
		  unsigned flags, char *err, size_t errlen)
{
	struct pyobj_reader r;
	const struct task_layout *T = layout_of(pp);
	*total = 0;
	if (!T || pyobj_reader_init(&r, pp)) {
		snprintf(err, errlen, "pid %d runs Python %u.%u: tasks are read for 3.11-3.15",
			 (int)pp->pid, pp->major, pp->minor);
		return -1;
	}
	/* a listing asked for may read much; the sampler's looks, less */
	r.limit = (flags & PYTASKS_STACKS) ? 1u << 20 : 1u << 16;
	struct collect c = {&r, T, out, max, 0, 0};
	if (T->ts_tasks_head)
		from_thread_lists(&c, pp);
	from_weakset(&c, pp->minor == 11 ? "_all_tasks" : "_scheduled_tasks");
	if (pp->minor >= 12)
		from_set(&c, "_eager_tasks");
	/* the target runs on as it is read: which tasks have not run yet is
	 * read before what each awaits, so that a task seen started is seen
	 * with the parent that awaited it before it started */
	mark_created(pp, out, c.n);
	reread_waiters(&r, T, out, c.n);
	link_parents(&r, out, c.n);
	read_stacks(pp, &r, T, out, c.n, flags);
	*total = c.total;
	return (long)c.n;
}

/* --- dump --tasks ------------------------------------------------------------ */

#define PRINT_MAX 4096

/* "qualname (file:line)" of a captured frame. */
static void frame_text(struct pysym_cache *syms, const struct py_frame *f, char *out, size_t len)
{
	const struct pysym *s = pysym_get(syms, f->code, f->tag);
	if (s)
		snprintf(out, len, "%s (%s:%d)", s->qualname, s->filename,
			 pysym_line(syms, s, f->instr));
	else
		snprintf(out, len, "?");
}

static const struct pytask *by_addr(const struct pytask *t, size_t n, uint64_t addr)
{
	for (size_t i = 0; addr && i < n; i++)
		if (t[i].addr == addr)
			return &t[i];
	return NULL;
}

static void awaits(struct pyobj_reader *r, const struct pytask *t, size_t n,
		   const struct pytask *me, char *out, size_t len)
{
	const struct pytask *w = by_addr(t, n, me->waiter);
	out[0] = '\0';
	if (w)
		snprintf(out, len, "task %s", w->name);
	else if (me->waiter)
		pyobj_type_name(r, me->waiter, out, len);
}

int pytasks_print(const struct pyprocess *pp, bool json, FILE *out, char *err, size_t errlen)
{
	struct pytask *t = malloc(PRINT_MAX * sizeof(*t));
	struct pysym_cache *syms = pysym_cache_new(pp->pid, &pp->layout, pp->minor);
	struct pyobj_reader r;
	size_t total = 0;
	int ret = -1;
	if (!t || !syms || pyobj_reader_init(&r, pp)) {
		snprintf(err, errlen, "pid %d: out of memory", (int)pp->pid);
		goto out;
	}
	long n = pytasks_read(pp, t, PRINT_MAX, &total, PYTASKS_STACKS, err, errlen);
	if (n < 0)
		goto out;
	if (json)
		fprintf(out,
			"{\"pid\": %d, \"python\": \"%u.%u.%u\", \"tasks_total\": %zu, \"tasks\": "
			"[",
			(int)pp->pid, pp->major, pp->minor, pp->micro, total);
	else
		fprintf(out, "Process %d (Python %u.%u.%u): %zu asyncio task%s\n", (int)pp->pid,
			pp->major, pp->minor, pp->micro, total, total == 1 ? "" : "s");
	for (long i = 0; i < n; i++) {
		char where[512] = "?", waiting[128];
		const struct pytask *parent = by_addr(t, (size_t)n, t[i].parent);
		if (t[i].nstack)
			frame_text(syms, &t[i].stack[0], where, sizeof(where));
		awaits(&r, t, (size_t)n, &t[i], waiting, sizeof(waiting));
		if (!json) {
			fprintf(out, "\n  %s (%s) 0x%llx\n", t[i].name,
				pytask_state_name(t[i].state), (unsigned long long)t[i].addr);
			for (uint32_t k = 0; k < t[i].nstack; k++) {
				frame_text(syms, &t[i].stack[k], where, sizeof(where));
				fprintf(out, "    %s\n", where);
			}
			if (waiting[0])
				fprintf(out, "    awaiting %s\n", waiting);
			if (parent)
				fprintf(out, "    awaited by %s\n", parent->name);
			continue;
		}
		fprintf(out, "%s\n  {\"name\": ", i ? "," : "");
		json_write_string(out, t[i].name);
		fprintf(out, ", \"state\": \"%s\", \"address\": \"0x%llx\", \"coroutine\": ",
			pytask_state_name(t[i].state), (unsigned long long)t[i].addr);
		json_write_string(out, where);
		fputs(", \"stack\": [", out);
		for (uint32_t k = 0; k < t[i].nstack; k++) {
			frame_text(syms, &t[i].stack[k], where, sizeof(where));
			fputs(k ? ", " : "", out);
			json_write_string(out, where);
		}
		fputs("], \"awaiting\": ", out);
		json_write_string(out, waiting);
		fputs(", \"awaited_by\": ", out);
		json_write_string(out, parent ? parent->name : "");
		fputs("}", out);
	}
	if (json)
		fputs("\n]}\n", out);
	if (total > (size_t)n && !json)
		fprintf(out, "\n(%zu more not shown)\n", total - (size_t)n);
	ret = 0;
out:
	pysym_cache_free(syms);
	free(t);
	return ret;
}
