/* dump.c - the current Python stack of every thread of a process, walked
 * from userspace with the unwinding steps the BPF side uses
 * (include/pyunwind.h over process_vm_readv). */
#include "python/dump.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "native/elfcache.h"
#include "native/natsym.h"
#include "native/unwind.h"
#include "profile/view.h"
#include "python/pyrepr.h"
#include "python/symbols.h"
#include "sampling/merge.h"
#include "sys/memread.h"
#include "sys/procfs.h"
#include "sys/taskstop.h"
#include "sys/textesc.h"

/* The reader of a walk: target memory, or the window of the data stack
 * copied at once, and the code objects read already (immutable while a
 * frame of the walk runs them). */
#define WINDOW	   (32u << 10)
#define WINDOW_MIN 8192
#define NCODES	   128

struct code_slot {
	uint64_t addr;
	uint32_t len;
	uint8_t buf[PYBPF_BUF];
};

struct reader {
	pid_t pid;
	uint8_t *win; /* WINDOW bytes; [win_lo, win_hi) valid at its end */
	uint64_t win_lo, win_hi;
	uint8_t *win2;	/* a second copy, to compare */
	size_t want;	/* bytes of it the last walk needed */
	uint64_t frame; /* the frame pyu_frame reads now; 0 outside it */
	struct code_slot *codes;
};

static struct code_slot *code_slot(struct reader *r, uint64_t addr)
{
	return r->codes ? &r->codes[(addr >> 4) % NCODES] : NULL;
}

static inline long pyu_read(void *rctx, void *dst, __u32 len, __u64 addr)
{
	struct reader *r = rctx;
	if (r->win && addr >= r->win_lo && addr + len <= r->win_hi && addr + len > addr) {
		memcpy(dst, r->win + (WINDOW - (r->win_hi - r->win_lo)) + (addr - r->win_lo), len);
		return 0;
	}
	/* inside pyu_frame, a read not of the frame is of its code object */
	struct code_slot *c = r->frame && addr != r->frame ? code_slot(r, addr) : NULL;
	if (c && c->addr == addr && c->len == len && len <= sizeof(c->buf)) {
		memcpy(dst, c->buf, len);
		return 0;
	}
	if (mem_read(r->pid, addr, dst, len))
		return -1;
	if (c && len <= sizeof(c->buf)) {
		c->addr = addr;
		c->len = len;
		memcpy(c->buf, dst, len);
	}
	return 0;
}

#include "pyunwind.h"

static void read_task(pid_t pid, struct dump_thread *t)
{
	procfs_comm(pid, t->tid, t->comm, sizeof(t->comm));
	if (!t->comm[0])
		snprintf(t->comm, sizeof(t->comm), "?");
	t->state = t->tid ? procfs_task_state(pid, t->tid) : '?';
}

static int add_frame(struct dump_thread *t, struct pysym_cache *syms, const struct pyu_frame *fr)
{
	struct dump_frame *nf = realloc(t->frames, (t->nframes + 1) * sizeof(*nf));
	if (!nf)
		return -1;
	t->frames = nf;
	struct dump_frame *d = &t->frames[t->nframes++];
	memset(d, 0, sizeof(*d));
	const struct pysym *s = pysym_get(syms, fr->code, fr->tag);
	d->name = strdup(s ? s->qualname : "[unknown Python frame]");
	d->file = strdup(s ? s->filename : "");
	d->line = s ? pysym_line(syms, s, fr->instr) : 0;
	d->first_line = s ? s->firstlineno : 0;
	return d->name && d->file ? 0 : -1;
}

static bool in_window(const struct reader *r, uint64_t a)
{
	return a >= r->win_lo && a < r->win_hi;
}

/* A walk's raw frames, leaf first, with where each was read: names come
 * after, once the walk is known to hold. */
struct raw_stack {
	struct pyu_frame f[DUMP_MAX_FRAMES];
	uint64_t at[DUMP_MAX_FRAMES];	/* of each of f */
	uint64_t addr[DUMP_MAX_FRAMES]; /* of every frame read, shims included */
	size_t n, nread;
	__u64 current;		 /* the innermost frame */
	uint64_t win_lo, win_hi; /* the span of the data stack copied */
	bool truncated;
};

#define WALK_TORN     1 /* the stack changed while read (or looped: a mix of two moments) */
#define WALK_LOOP     2
#define FREE_ATTEMPTS 10  /* before a running thread is held still */
#define MAX_ATTEMPTS  200 /* when it may not be */
#define STOP_TRIES    3	  /* holds of a thread caught mid-push */

/* One walk, from the current frame to the root, from a copy of the data
 * stack (3.11+) below the current frame taken at once.  0, WALK_TORN, or a
 * PYU_ status. */
static long walk_once(const struct pyprocess *pp, struct reader *r, uint64_t ts,
		      struct raw_stack *out)
{
	const struct py_layout *L = &pp->layout.bpf;
	uint8_t fbuf[PYBPF_BUF], cbuf[PYBPF_BUF];
	__u64 frame, again, tortoise = 0;
	size_t power = 1, lam = 0;
	long ret = 0;

	out->n = out->nread = 0;
	out->truncated = false;
	r->win_lo = r->win_hi = 0;
	if (pyu_current_frame(L, r, ts, &out->current))
		return PYU_FAULT;
	frame = out->current;
	if (frame && r->win && !(L->flags & PYL_FRAME_OBJECTS)) {
		/* each page copied costs a few µs, while the stack moves on */
		r->win_hi = frame + pyu_len(L->fr_read);
		r->win_lo = r->win_hi -
			    mem_read_below(r->pid, r->win_hi, r->win + WINDOW - r->want, r->want);
	}
	for (size_t i = 0; frame; i++) {
		if (out->n >= DUMP_MAX_FRAMES || i >= DUMP_MAX_FRAMES) {
			out->truncated = true;
			break;
		}
		struct pyu_frame *fr = &out->f[out->n];
		out->addr[out->nread++] = frame;
		r->frame = frame;
		ret = pyu_frame(L, r, frame, pp->code_type_addr, fbuf, cbuf, fr);
		r->frame = 0;
		if (ret)
			break;
		/* in the data stack a caller is below its callee: a walk that
		 * goes up in the copy mixed two moments (and may loop) */
		if (in_window(r, frame) && in_window(r, fr->previous) && fr->previous >= frame) {
			ret = WALK_TORN;
			break;
		}
		out->at[out->n] = frame;
		frame = fr->previous;
		/* a shim frame (3.12+) below a frame: that one was entered from C */
		if (fr->skip && fr->boundary && out->n)
			out->f[out->n - 1].entry = 1;
		if (!fr->skip)
			out->n++;
		/* Brent's: a loop is met within twice its length */
		if (frame && frame == tortoise) {
			ret = WALK_TORN;
			break;
		}
		if (++lam == power) {
			tortoise = frame;
			power *= 2;
			lam = 0;
		}
	}
	out->win_lo = r->win_lo;
	out->win_hi = r->win_hi;
	/* next time, twice what this one spanned: the stack grows and shrinks */
	size_t need = WINDOW_MIN;
	for (size_t i = 0; i < out->nread; i++) {
		uint64_t a = out->addr[i];
		if (a < r->win_hi && r->win_hi - a < WINDOW / 2 && 2 * (r->win_hi - a) > need)
			need = (size_t)(2 * (r->win_hi - a));
	}
	r->want = need;
	if (pyu_current_frame(L, r, ts, &again))
		ret = PYU_FAULT;
	else if (again != out->current)
		ret = WALK_TORN;
	return ret;
}

/* The fields of a frame a walk uses: where it goes, what it runs, where. */
static void frame_fields(const struct py_layout *L, const uint8_t *buf, uint64_t f[3])
{
	f[0] = pyu_u64(buf, L->fr_previous);
	f[1] = pyu_u64(buf, L->fr_code);
	f[2] = (L->flags & PYL_FRAME_OBJECTS) ? pyu_u32(buf, L->fr_instr)
					      : pyu_u64(buf, L->fr_instr);
}

/* The frame at addr as the walk read it (from the window, or the target). */
static int frame_bytes(struct reader *r, const struct py_layout *L, uint64_t addr, uint8_t *buf)
{
	memset(buf, 0, PYBPF_BUF);
	return (int)pyu_read(r, buf, pyu_len(L->fr_read), addr);
}

/* The frames after a walk are those it read (every field it used but the
 * innermost frame's instruction, which moves on as it runs), and the same
 * frame is still the current one before and after that re-read.  Frames
 * that are left and re-entered between two reads, and a copy of the data
 * stack that is not one instant, both show as a difference; so does a
 * frame object with no reference. */
static bool walk_holds(const struct pyprocess *pp, struct reader *r, uint64_t ts,
		       const struct raw_stack *w)
{
	const struct py_layout *L = &pp->layout.bpf;
	uint8_t a[PYBPF_BUF], b[PYBPF_BUF];
	__u64 cur;
	if (pyu_current_frame(L, r, ts, &cur) || cur != w->current)
		return false;
	/* the walk's own copy, then a fresh one of the same span */
	uint8_t *win = r->win;
	uint64_t lo = 0, hi = 0;
	if (w->current && r->win && !(L->flags & PYL_FRAME_OBJECTS)) {
		hi = w->current + pyu_len(L->fr_read);
		size_t len = (size_t)(w->win_hi - w->win_lo);
		lo = hi - mem_read_below(r->pid, hi, r->win2 + WINDOW - len, len);
	}
	bool same = true;
	for (size_t i = 0; i < w->nread && same; i++) {
		uint64_t fa[3], fb[3];
		r->win = win;
		r->win_lo = w->win_lo;
		r->win_hi = w->win_hi;
		if (frame_bytes(r, L, w->addr[i], a))
			return false;
		r->win = r->win2;
		r->win_lo = lo;
		r->win_hi = hi;
		if (frame_bytes(r, L, w->addr[i], b))
			same = false;
		frame_fields(L, a, fa);
		frame_fields(L, b, fb);
		same = same && fa[0] == fb[0] && fa[1] == fb[1] && (i == 0 || fa[2] == fb[2]);
		/* a frame object no one refers to is on a free list (its f_back
		 * the next free one, or NULL): the walk read a frame left and its
		 * address reused (a recursion rebuilds the same frames, so the
		 * re-read above can match) */
		if ((L->flags & PYL_FRAME_OBJECTS) && (!pyu_u64(a, 0) || !pyu_u64(b, 0)))
			same = false;
	}
	r->win = win;
	r->win_lo = r->win_hi = 0;
	return same && !pyu_current_frame(L, r, ts, &cur) && cur == w->current;
}

/* Walks until a walk holds; 0, WALK_TORN, or a PYU_ status.  A bad read
 * can be a frame caught being pushed: tried again, a few times. */
static long walk_until_held(const struct pyprocess *pp, struct reader *r, uint64_t ts,
			    struct raw_stack *raw, int attempts, int *done)
{
	long st = WALK_TORN;
	int bad = 0;
	for (int i = 0; i < attempts; i++) {
		(*done)++;
		if (i)
			sched_yield(); /* let it move on from where it was */
		st = walk_once(pp, r, ts, raw);
		if (st == 0 && !walk_holds(pp, r, ts, raw))
			st = WALK_TORN;
		if (st == 0 || (st != WALK_TORN && ++bad > 3))
			break;
	}
	return st;
}

/* The variables of frame f (at addr, running code), as reprs. */
static int read_locals(struct pyobj_reader *r, uint64_t addr, uint64_t code, struct dump_frame *f)
{
	struct pylocal *l = calloc(PYLOCALS_SHOWN, sizeof(*l));
	if (!l)
		return -1;
	r->reads = 0;
	int n = pylocals_read(r, addr, code, l, PYLOCALS_SHOWN, &f->locals_total);
	if (n < 0) {
		f->locals_error = "its code's variable names could not be read";
		free(l);
		return 0;
	}
	f->locals = calloc((size_t)n + 1, sizeof(*f->locals));
	if (!f->locals) {
		free(l);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct dump_local *d = &f->locals[f->nlocals++];
		char repr[PYREPR_BUF], type[PYREPR_TYPE];
		r->reads = 0;
		if (l[i].is_tagged) {
			snprintf(repr, sizeof(repr), "%lld", (long long)l[i].tagged);
			snprintf(type, sizeof(type), "int");
		} else {
			pyrepr(r, l[i].value, repr, type);
		}
		d->name = strdup(l[i].name);
		d->repr = strdup(repr);
		d->type = strdup(type);
		d->arg = l[i].arg;
		d->kind = (uint8_t)l[i].kind;
		if (!d->name || !d->repr || !d->type) {
			free(l);
			return -1;
		}
	}
	free(l);
	return 0;
}

/* What DUMP_NATIVE needs of a process: its unwinder and its symbols. */
struct native_ctx {
	struct unwinder *u;
	struct elfcache *elves;
	struct natsym_proc nat;
	bool nat_open;
	const char *error; /* why there is no unwinder: every thread says it */
	uint64_t pcs[UNWIND_MAX_FRAMES];
	const char *names[UNWIND_MAX_FRAMES];
	bool interp[UNWIND_MAX_FRAMES];
	struct natsym syms[UNWIND_MAX_FRAMES];
	char *owned[UNWIND_MAX_FRAMES]; /* names, modules kept past a re-read */
	char *modules[UNWIND_MAX_FRAMES];
};

static bool raw_entry(const void *ctx, uint32_t j)
{
	const struct raw_stack *raw = ctx;
	return raw->f[j].entry;
}

/* A native frame as record names it (aggregate.c's push_native). */
static int native_frame(struct dump_frame *f, const struct natsym *s, uint64_t pc)
{
	char buf[PATH_MAX];
	const char *base = strrchr(s->module, '/');
	base = base ? base + 1 : s->module;
	if (s->func)
		snprintf(buf, sizeof(buf), "[%s+0x%" PRIx64 "]", base, s->func);
	else
		snprintf(buf, sizeof(buf), "[%s]", base);
	memset(f, 0, sizeof(*f));
	f->native = true;
	f->address = pc;
	f->name = strdup(s->name ? s->name : buf);
	f->file = strdup(s->module);
	return f->name && f->file ? 0 : -1;
}

/* The native frames of nn pcs merged with t's Python frames (raw's), the
 * interpreter's own folded into the Python frames they run, as record
 * shows them by default. */
static int merge_native(struct native_ctx *nc, const struct raw_stack *raw, size_t nn,
			struct dump_thread *t)
{
	size_t resolved = 0;
	for (; resolved < nn; resolved++) {
		struct natsym *s = &nc->syms[resolved];
		if (natsym_resolve(&nc->nat, nc->pcs[resolved], s))
			break; /* not in an executable mapping: the unwind went astray */
		/* the next resolve may re-read the maps: keep copies */
		nc->modules[resolved] = strdup(s->module);
		nc->owned[resolved] = s->name ? strdup(s->name) : NULL;
		s->module = nc->modules[resolved];
		s->name = nc->owned[resolved];
		nc->names[resolved] = s->name;
	}
	size_t max = resolved + t->nframes + 1;
	struct merge_ref *refs = calloc(max, sizeof(*refs));
	struct dump_frame *out = calloc(max, sizeof(*out));
	int ret = -1;
	if (!refs || !out)
		goto done;
	for (size_t i = 0; i < resolved; i++)
		nc->interp[i] = prof_interpreter_module(nc->syms[i].module);
	size_t m = merge_stack(nc->names, nc->interp, (uint32_t)resolved, (uint32_t)t->nframes,
			       raw_entry, raw, refs, max);
	int64_t outer = -1;
	for (size_t k = 0; k < m; k++)
		if (refs[k].kind == MERGE_PYTHON)
			outer = (int64_t)k;
	size_t n = 0;
	for (size_t k = 0; k < m; k++) {
		if (refs[k].kind == MERGE_PYTHON) {
			out[n++] = t->frames[refs[k].idx];
			continue;
		}
		const struct natsym *s = &nc->syms[refs[k].idx];
		if (outer >= 0 && ((int64_t)k > outer || prof_interpreter_module(s->module)))
			continue;
		if (native_frame(&out[n++], s, nc->pcs[refs[k].idx]))
			goto done;
	}
	free(t->frames);
	t->frames = out;
	t->nframes = n;
	out = NULL;
	ret = 0;
done:
	if (out) {
		for (size_t k = 0; k < max; k++)
			if (out[k].native) {
				free(out[k].name);
				free(out[k].file);
			}
		free(out);
	}
	free(refs);
	for (size_t i = 0; i < resolved; i++) {
		free(nc->modules[i]);
		free(nc->owned[i]);
	}
	return ret;
}

/* With DUMP_NATIVE: the thread held still for the walk and the unwind, a
 * few times if it was caught mid-push.  Returns the walk's status; *nn
 * the native frames unwound (0 with t->native_error set). */
static long walk_stopped(const struct pyprocess *pp, struct reader *r, uint64_t ts,
			 struct raw_stack *raw, struct native_ctx *nc, struct dump_thread *t,
			 size_t *nn)
{
	struct taskstop stop;
	long st = WALK_TORN;
	*nn = 0;
	t->native_error = nc->error;
	for (int k = 0; k < STOP_TRIES; k++) {
		if (task_stop(&stop, (pid_t)t->tid)) {
			t->native_error = errno == EPERM ? "cannot hold the thread still (ptrace: "
							   "no permission, or traced already)"
							 : "the thread exited";
			return walk_until_held(pp, r, ts, raw, MAX_ATTEMPTS, &t->attempts);
		}
		t->stopped = true;
		st = walk_until_held(pp, r, ts, raw, 1, &t->attempts);
		if (nc->u && (st == 0 || k == STOP_TRIES - 1)) {
			int cut = 0;
			int got = unwinder_stack(nc->u, (pid_t)t->tid, nc->pcs, UNWIND_MAX_FRAMES,
						 &cut);
			*nn = got > 0 ? (size_t)got : 0;
			t->native_cut = cut;
			t->native_error = got > 0 ? NULL : "its native stack could not be unwound";
		}
		task_resume(&stop);
		if (st == WALK_TORN)
			st = WALK_LOOP; /* it could not change: its frames loop */
		if (st == 0 || st == WALK_LOOP)
			break;
		sched_yield();
	}
	return st;
}

/* Reads a thread's stack without stopping it while a few attempts do;
 * a running thread whose stack moves faster than it can be read is then
 * held still for the one walk (unless `nonblocking`), as py-spy does.  A
 * stack that kept changing, or a bad read, is shown as far as it was read
 * and said to be partial. */
static int walk_thread(const struct pyprocess *pp, struct pysym_cache *syms, struct reader *r,
		       struct raw_stack *raw, uint64_t ts, unsigned flags, struct native_ctx *nc,
		       struct dump_thread *t)
{
	bool nonblocking = flags & DUMP_NONBLOCKING;
	const struct py_layout *L = &pp->layout.bpf;
	__u64 ident = 0;
	bool may_stop = !nonblocking && t->tid && t->state == 'R';
	struct taskstop stop;

	size_t nn = 0;

	pyu_read_u64(r, ts + L->ts_thread_id, &ident);
	t->thread_id = ident;
	long st;
	bool again = false;
	if (nc && t->tid) {
		st = walk_stopped(pp, r, ts, raw, nc, t, &nn);
	} else {
		st = walk_until_held(pp, r, ts, raw, may_stop ? FREE_ATTEMPTS : MAX_ATTEMPTS,
				     &t->attempts);
		/* held still: a bad read there was caught mid-push or mid-pop,
		 * so it runs on and is held again somewhere else, a few times */
		again = st != 0 && may_stop;
	}
	for (int k = 0; again && k < STOP_TRIES; k++) {
		if (task_stop(&stop, (pid_t)t->tid)) {
			if (st == WALK_TORN)
				st = walk_until_held(pp, r, ts, raw, MAX_ATTEMPTS, &t->attempts);
			break;
		}
		t->stopped = true;
		st = walk_until_held(pp, r, ts, raw, 1, &t->attempts);
		task_resume(&stop);
		if (st == WALK_TORN)
			st = WALK_LOOP; /* it could not change: its frames loop */
		again = st != 0 && st != WALK_LOOP;
		if (again)
			sched_yield();
	}
	if (st == WALK_TORN)
		t->error = "the stack kept changing while it was read";
	else if (st == WALK_LOOP)
		t->error = "its frames form a loop";
	else if (st == PYU_BADCODE)
		t->error = "a frame's code object is invalid";
	else if (st && !raw->n)
		t->error = "cannot read the thread's current frame";
	else if (st)
		t->error = "a frame could not be read";
	t->truncated = raw->truncated;
	for (size_t i = 0; i < raw->n; i++)
		if (add_frame(t, syms, &raw->f[i]))
			return -1;
	if (nc && !t->tid)
		t->native_error = "its thread id is unknown";
	struct pyobj_reader objr;
	if ((flags & DUMP_LOCALS) && !pyobj_reader_init(&objr, pp))
		for (size_t i = 0; i < raw->n; i++)
			if (read_locals(&objr, raw->at[i], raw->f[i].code, &t->frames[i]))
				return -1;
	return nn ? merge_native(nc, raw, nn, t) : 0;
}

static struct native_ctx *native_open(const struct pyprocess *pp)
{
	char err[256];
	struct native_ctx *nc = calloc(1, sizeof(*nc));
	if (!nc)
		return NULL;
	nc->elves = elfcache_new();
	if (!nc->elves || natsym_open(&nc->nat, pp->pid, nc->elves)) {
		nc->error = "its mappings could not be read";
		return nc;
	}
	nc->nat_open = true;
	nc->u = unwinder_new(pp->pid, err, sizeof(err));
	if (!nc->u)
		nc->error = "its native stack could not be unwound (libdwfl could not read "
			    "its mappings)";
	return nc;
}

static void native_close(struct native_ctx *nc)
{
	if (!nc)
		return;
	unwinder_free(nc->u);
	if (nc->nat_open)
		natsym_close(&nc->nat);
	elfcache_free(nc->elves);
	free(nc);
}

static struct dump_thread *new_thread(struct dump *d)
{
	struct dump_thread *nt = realloc(d->threads, (d->nthreads + 1) * sizeof(*nt));
	if (!nt)
		return NULL;
	d->threads = nt;
	memset(&nt[d->nthreads], 0, sizeof(*nt));
	return &nt[d->nthreads++];
}

/* Host tids of the process's threads and the tids its own pid namespace
 * gives them (NSpid), which is what the interpreter and libc record. */
struct tid_map {
	uint32_t *host, *ns;
	size_t n;
};

static int read_tid_map(pid_t pid, struct tid_map *m)
{
	m->host = procfs_tasks(pid, &m->n);
	m->ns = calloc(m->n ? m->n : 1, sizeof(*m->ns));
	if (!m->host || !m->ns)
		return -1;
	for (size_t i = 0; i < m->n; i++)
		m->ns[i] = procfs_nspid(pid, m->host[i]);
	return 0;
}

static void free_tid_map(struct tid_map *m)
{
	free(m->host);
	free(m->ns);
}

static uint32_t host_tid(const struct tid_map *m, uint32_t ns_tid)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->ns[i] == ns_tid)
			return m->host[i];
	return 0;
}

/* Before 3.11 a thread state names its thread only by pthread_t, the
 * address of libc's struct pthread, which holds the tid at an offset that
 * varies between libc versions.  Find it: the first offset where the main
 * thread's struct holds its tid and every other thread's a distinct tid. */
static int pthread_tid_offset(pid_t pid, pid_t ns_pid, const __u64 *keys, size_t n,
			      const struct tid_map *m)
{
	uint32_t(*bufs)[512] = calloc(64, sizeof(*bufs));
	size_t nb = n < 64 ? n : 64;
	int off = -1;
	if (!bufs)
		return -1;
	/* 64 of them, the last always: the list is newest first, and the main
	 * thread, whose tid is the pid, is the oldest */
	for (size_t i = 0; i < nb; i++) {
		size_t k = i == nb - 1 ? n - 1 : i;
		if (mem_read(pid, keys[k], bufs[i], sizeof(bufs[i])))
			memset(bufs[i], 0, sizeof(bufs[i]));
	}
	for (size_t j = 1; j < 512; j++) {
		size_t main_hits = 0, valid = 0;
		for (size_t i = 0; i < nb; i++) {
			main_hits += bufs[i][j] == (uint32_t)ns_pid;
			valid += host_tid(m, bufs[i][j]) != 0;
		}
		if (main_hits == 1 && valid == nb) {
			off = (int)(j * sizeof(uint32_t));
			break;
		}
	}
	free(bufs);
	return off;
}

/* The host tid of the thread of a thread state. */
static uint32_t thread_tid(const struct pyprocess *pp, __u64 ts, __u64 pthread, int tid_off,
			   const struct tid_map *m)
{
	uint32_t ns_tid = 0;
	uint64_t native = 0;
	if (pp->layout.ts_native_tid != PYL_NO_FIELD) {
		if (mem_read_u64(pp->pid, ts + pp->layout.ts_native_tid, &native) == 0)
			ns_tid = (uint32_t)native;
	} else if (tid_off >= 0) {
		mem_read(pp->pid, pthread + (uint64_t)tid_off, &ns_tid, sizeof(ns_tid));
	}
	return ns_tid ? host_tid(m, ns_tid) : 0;
}

/* Every thread state of every interpreter: addresses and thread keys. */
/* A thread state met again: the list loops (target memory is hostile). */
static bool listed(const __u64 *ts, size_t n, __u64 addr)
{
	for (size_t i = 0; i < n; i++)
		if (ts[i] == addr)
			return true;
	return false;
}

static size_t list_tstates(const struct pyprocess *pp, __u64 *ts_out, __u64 *keys, size_t max)
{
	const struct py_layout *L = &pp->layout.bpf;
	__u64 interp = 0, ts = 0, next = 0;
	size_t n = 0;
	struct reader rd = {.pid = pp->pid}, *r = &rd; /* plain reads */

	if (pyu_first_interp(L, r, pp->runtime_addr, &interp))
		return 0;
	for (int guard = 0; interp && guard < 64; guard++) {
		if (pyu_interp_threads(L, r, interp, &ts))
			break;
		for (; ts && n < max && !listed(ts_out, n, ts); ts = next) {
			if (pyu_tstate(L, r, ts, &keys[n], &next))
				break;
			ts_out[n++] = ts;
		}
		if (pyu_interp_next(L, r, interp, &interp))
			break;
	}
	return n;
}

#define GIL_UNKNOWN UINT64_MAX

/* The thread state holding the GIL (0: none, it is free), read once as
 * the dump begins, as py-spy does; GIL_UNKNOWN when it cannot be read. */
static __u64 gil_holder(const struct pyprocess *pp)
{
	const struct py_layout *L = &pp->layout.bpf;
	uint32_t locked = 0;
	uint64_t holder = 0;
	if (!pp->gil_addr ||
	    mem_read(pp->pid, pp->gil_addr + L->gil_locked, &locked, sizeof(locked)) ||
	    mem_read_u64(pp->pid, pp->gil_addr + L->gil_last_holder, &holder))
		return GIL_UNKNOWN;
	return locked ? holder : 0;
}

/* Python's names where the threading module has them, else the OS's. */
static void name_threads(const struct pyprocess *pp, struct dump *d)
{
	struct pythread_name *names = calloc(d->nthreads + 16, sizeof(*names));
	int n = names ? pythread_names(pp, NULL, names, d->nthreads + 16, 0, NULL) : -1;
	for (size_t i = 0; i < d->nthreads; i++) {
		struct dump_thread *t = &d->threads[i];
		snprintf(t->name, sizeof(t->name), "%s", t->comm);
		for (int k = 0; k < n; k++) {
			if (names[k].ident != t->thread_id &&
			    (!names[k].tid || names[k].tid != t->tid))
				continue;
			snprintf(t->name, sizeof(t->name), "%s", names[k].name);
			t->python_name = true;
			break;
		}
	}
	free(names);
}

int dump_process(const struct pyprocess *pp, struct dump *d, unsigned flags, char *err,
		 size_t errlen)
{
	__u64 *tstates = calloc(PYBPF_MAX_THREADS, sizeof(*tstates));
	__u64 *keys = calloc(PYBPF_MAX_THREADS, sizeof(*keys));
	struct pysym_cache *syms = pysym_cache_new(pp->pid, &pp->layout, pp->minor);
	struct raw_stack *raw = malloc(sizeof(*raw));
	struct reader rd = {.pid = pp->pid,
			    .want = WINDOW,
			    .win = malloc(WINDOW),
			    .win2 = malloc(WINDOW),
			    .codes = calloc(NCODES, sizeof(struct code_slot))};
	struct tid_map m = {0};
	struct native_ctx *nc = (flags & DUMP_NATIVE) ? native_open(pp) : NULL;
	int ret = -1;

	memset(d, 0, sizeof(*d));
	err[0] = 0;
	if (!tstates || !keys || !syms || !raw || !rd.win || !rd.win2 || !rd.codes ||
	    ((flags & DUMP_NATIVE) && !nc))
		goto out;
	if (read_tid_map(pp->pid, &m)) {
		snprintf(err, errlen, "pid %d: cannot list its threads: %s", (int)pp->pid,
			 strerror(errno));
		goto out;
	}
	size_t n = list_tstates(pp, tstates, keys, PYBPF_MAX_THREADS);
	if (!n) {
		snprintf(err, errlen, "pid %d: cannot read its thread list: %s", (int)pp->pid,
			 strerror(errno));
		goto out;
	}
	__u64 holder = gil_holder(pp);
	int tid_off = pp->layout.ts_native_tid == PYL_NO_FIELD
			      ? pthread_tid_offset(pp->pid, pp->ns_pid, keys, n, &m)
			      : 0;
	for (size_t i = 0; i < n; i++) {
		struct dump_thread *t = new_thread(d);
		if (!t)
			goto out;
		t->tid = thread_tid(pp, tstates[i], keys[i], tid_off, &m);
		t->gil = holder == GIL_UNKNOWN ? -1 : holder == tstates[i];
		read_task(pp->pid, t);
		if (walk_thread(pp, syms, &rd, raw, tstates[i], flags, nc, t))
			goto out;
	}
	name_threads(pp, d);
	ret = 0;
out:
	if (ret && !err[0])
		snprintf(err, errlen, "pid %d: out of memory", (int)pp->pid);
	if (ret)
		dump_free(d);
	native_close(nc);
	pysym_cache_free(syms);
	free(raw);
	free(rd.win);
	free(rd.win2);
	free(rd.codes);
	free_tid_map(&m);
	free(tstates);
	free(keys);
	return ret;
}

void dump_free(struct dump *d)
{
	for (size_t i = 0; i < d->nthreads; i++) {
		for (size_t j = 0; j < d->threads[i].nframes; j++) {
			struct dump_frame *f = &d->threads[i].frames[j];
			for (size_t k = 0; k < f->nlocals; k++) {
				free(f->locals[k].name);
				free(f->locals[k].repr);
				free(f->locals[k].type);
			}
			free(f->locals);
			free(f->name);
			free(f->file);
		}
		free(d->threads[i].frames);
	}
	free(d->threads);
	memset(d, 0, sizeof(*d));
}

static const char *state_name(char s)
{
	switch (s) {
	case 'R':
		return "running";
	case 'S':
		return "sleeping";
	case 'D':
		return "disk wait";
	case 'T':
	case 't':
		return "stopped";
	default:
		return "unknown";
	}
}

static const char *const kind_names[] = {"local", "cell", "free"};

/* Arguments, then locals, as py-spy shows them. */
static void print_locals_text(const struct dump_frame *f, FILE *out)
{
	if (f->locals_error) {
		fprintf(out, "        [variables unreadable: %s]\n", f->locals_error);
		return;
	}
	for (int args = 1; args >= 0; args--) {
		bool head = false;
		for (size_t k = 0; k < f->nlocals; k++) {
			const struct dump_local *l = &f->locals[k];
			if (l->arg != (bool)args)
				continue;
			if (!head)
				fprintf(out, "        %s:\n", args ? "Arguments" : "Locals");
			head = true;
			fprintf(out, "            %s = %s\n", l->name, l->repr);
		}
	}
	if (f->locals_total > f->nlocals)
		fprintf(out, "        [%zu more variables not shown]\n",
			f->locals_total - f->nlocals);
}

static void print_locals_json(const struct dump_frame *f, FILE *out)
{
	if (f->locals_error) {
		fputs(", \"locals\": null, \"locals_error\": ", out);
		json_write_string(out, f->locals_error);
		return;
	}
	fputs(", \"locals\": [", out);
	for (size_t k = 0; k < f->nlocals; k++) {
		const struct dump_local *l = &f->locals[k];
		fprintf(out, "%s{\"name\": ", k ? ", " : "");
		json_write_string(out, l->name);
		fputs(", \"repr\": ", out);
		json_write_string(out, l->repr);
		fputs(", \"type\": ", out);
		json_write_string(out, l->type);
		fprintf(out, ", \"arg\": %s, \"kind\": \"%s\"}", l->arg ? "true" : "false",
			kind_names[l->kind < 3 ? l->kind : 0]);
	}
	fprintf(out, "], \"locals_total\": %zu", f->locals_total);
}

void dump_print_text(const struct pyprocess *pp, const struct dump *d, FILE *out)
{
	fprintf(out, "Process %d: CPython %u.%u.%u (%s)\n", (int)pp->pid, pp->major, pp->minor,
		pp->micro, pp->object);
	for (size_t i = 0; i < d->nthreads; i++) {
		const struct dump_thread *t = &d->threads[i];
		fprintf(out, "\nThread %u (%s%s%s): \"%s\" ident 0x%llx\n", t->tid,
			state_name(t->state), t->state == 'R' ? ", active" : "",
			t->gil > 0 ? ", holds the GIL" : "", t->name,
			(unsigned long long)t->thread_id);
		for (size_t j = 0; j < t->nframes; j++) {
			const struct dump_frame *f = &t->frames[j];
			if (f->native) {
				const char *base = strrchr(f->file, '/');
				fprintf(out, "    %s (%s) [native 0x%" PRIx64 "]\n", f->name,
					base ? base + 1 : f->file, f->address);
				continue;
			}
			fprintf(out, "    %s (%s:%d)\n", f->name, f->file, f->line);
			print_locals_text(f, out);
		}
		if (t->native_cut)
			fprintf(out, "    [native stack cut after %d frames]\n", UNWIND_MAX_FRAMES);
		if (t->native_error)
			fprintf(out, "    [no native frames: %s]\n", t->native_error);
		if (!t->nframes && !t->error)
			fprintf(out, "    (no Python frames)\n");
		if (t->truncated)
			fprintf(out, "    [truncated after %d frames]\n", DUMP_MAX_FRAMES);
		if (t->error)
			fprintf(out, "    [stack incomplete: %s]\n", t->error);
	}
}

void dump_print_json(const struct pyprocess *pp, const struct dump *d, FILE *out)
{
	fprintf(out, "{\"pid\": %d, \"version\": \"%u.%u.%u\", \"object\": ", (int)pp->pid,
		pp->major, pp->minor, pp->micro);
	json_write_string(out, pp->object);
	fprintf(out, ", \"threads\": [");
	for (size_t i = 0; i < d->nthreads; i++) {
		const struct dump_thread *t = &d->threads[i];
		fprintf(out, "%s\n  {\"tid\": %u, \"ident\": %llu, \"name\": ", i ? "," : "",
			t->tid, (unsigned long long)t->thread_id);
		json_write_string(out, t->name);
		fprintf(out,
			", \"name_from\": \"%s\", \"comm\": ", t->python_name ? "python" : "os");
		json_write_string(out, t->comm);
		fprintf(out,
			", \"state\": \"%s\", \"active\": %s, \"gil\": %s, \"partial\": %s, "
			"\"truncated\": %s, \"reads\": %d, \"stopped\": %s, \"error\": ",
			state_name(t->state), t->state == 'R' ? "true" : "false",
			t->gil < 0 ? "null"
			: t->gil   ? "true"
				   : "false",
			t->truncated || t->error ? "true" : "false",
			t->truncated ? "true" : "false", t->attempts,
			t->stopped ? "true" : "false");
		if (t->error)
			json_write_string(out, t->error);
		else
			fputs("null", out);
		if (t->native_error || t->native_cut) {
			fprintf(out, ", \"native_cut\": %s, \"native_error\": ",
				t->native_cut ? "true" : "false");
			if (t->native_error)
				json_write_string(out, t->native_error);
			else
				fputs("null", out);
		}
		fprintf(out, ", \"frames\": [");
		for (size_t j = 0; j < t->nframes; j++) {
			const struct dump_frame *f = &t->frames[j];
			fprintf(out, "%s{\"kind\": \"%s\", \"name\": ", j ? ", " : "",
				f->native ? "native" : "python");
			json_write_string(out, f->name);
			if (f->native) {
				fprintf(out, ", \"module\": ");
				json_write_string(out, f->file);
				fprintf(out, ", \"address\": \"0x%" PRIx64 "\"}", f->address);
				continue;
			}
			fprintf(out, ", \"file\": ");
			json_write_string(out, f->file);
			fprintf(out, ", \"line\": %d", f->line);
			if (f->locals || f->locals_error)
				print_locals_json(f, out);
			fputc('}', out);
		}
		fprintf(out, "]}");
	}
	fprintf(out, "\n]}\n");
}
