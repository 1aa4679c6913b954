// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* profile.bpf.c - CPython stacks on CPU and off CPU.
 *
 * on_sample (perf event, every CPU): unwind the sampled thread's CPython
 * stack, hash it with the native and kernel stacks, send the stack to
 * userspace the first time it is seen and count it by hash in a map.
 *
 * on_switch (sched_switch): when a thread of a registered process leaves the
 * CPU, capture its stack the same way and why it blocked (the syscall it sits
 * in and its arguments); when it comes back, count the time off CPU.  A wait
 * on the GIL's own condition variable or mutex is a GIL wait. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "offcpu_reason.h"
#include "pybpf_shared.h"

static __always_inline long pyu_read(void *rctx, void *dst, __u32 len, __u64 addr)
{
	(void)rctx;
	return bpf_probe_read_user(dst, len, (const void *)addr);
}

#include "pyunwind.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Flipped by userspace; samples count into the current generation. */
volatile __u32 gen;
/* Cleared by the daemon while nobody asks for off-CPU stacks: switch-outs
 * then count time by reason without capturing (and sending) the stack. */
volatile __u32 offcpu_stacks = 1;
/* Set by the daemon: report execs and exits in events_rb. */
volatile __u32 proc_events_enabled;
/* How long a "this thread has no PyThreadState" answer is trusted. */
const volatile __u64 negative_ttl_ns = 1000000000ULL;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tgid */
	__type(value, struct py_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PYBPF_MAX_LAYOUTS);
	__type(key, __u32);
	__type(value, struct py_layout);
} layouts SEC(".maps");

struct tstate_entry {
	__u64 tstate;  /* 0: the thread has none (until expires) */
	__u64 expires; /* for negative entries */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tid */
	__type(value, struct tstate_entry);
} tstates SEC(".maps");

struct scratch {
	struct pybpf_stack rec;
	/* slack past PYBPF_BUF: the compiler may fold a checked offset into a
	 * pointer before a later, tighter check */
	__u8 fbuf[PYBPF_BUF + 64];
	__u8 cbuf[PYBPF_BUF + 64];
};

/* Slot 0 for on_sample, slot 1 for on_switch. */
#define SCRATCH_SAMPLE 0
#define SCRATCH_SWITCH 1

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Stack hashes userspace already has. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} known_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pybpf_count_key);
	__type(value, struct pybpf_count);
} counts SEC(".maps");

/* A thread that left the CPU: when, with which stack, why. */
struct offcpu_start {
	__u64 ts;
	__u64 hash;
	__u32 pid;
	__u8 reason;
	__u8 holds_gil;
	__u8 waiters;
	__u8 seeded; /* written by userspace for a thread asleep when tracking began */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tid */
	__type(value, struct offcpu_start);
} offcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tgid */
	__type(value, struct gil_stats);
} gil_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* threads end unannounced */
	__uint(max_entries, 65536);
	__type(key, __u32); /* tid */
	__type(value, struct gil_thread);
} gil_threads SEC(".maps");

/* GIL wait episodes by length: key (tgid << 8) | bucket. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096 * 16);
	__type(key, __u64);
	__type(value, __u64);
} gil_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} stacks_rb SEC(".maps");

/* Execs and exits, for the daemon's discovery (proc_events_enabled). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} events_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);
	if (v)
		*v += 1;
}

/* --- finding the sampled thread's PyThreadState -------------------------- */

struct find_ctx {
	__u64 interp;
	__u64 ts;
	__u64 found;
	__u64 key; /* the sampled thread's pthread_t: its fs base */
	__u32 layout_idx;
	long err;
};

static long find_tstate_cb(__u32 i, void *c)
{
	struct find_ctx *f = c;
	const struct py_layout *L = bpf_map_lookup_elem(&layouts, &f->layout_idx);
	__u64 key, next;

	if (!L)
		return 1;
	if (!f->ts) {
		if (!f->interp || pyu_interp_next(L, NULL, f->interp, &f->interp) || !f->interp)
			return 1;
		if (pyu_interp_threads(L, NULL, f->interp, &f->ts)) {
			f->err = PYU_FAULT;
			return 1;
		}
		return 0;
	}
	if (pyu_tstate(L, NULL, f->ts, &key, &next)) {
		f->err = PYU_FAULT;
		return 1;
	}
	if (key == f->key) {
		f->found = f->ts;
		return 1;
	}
	f->ts = next;
	return 0;
}

/* The thread's tstate: from the cache when it still names this tid, else by
 * walking every interpreter's thread list.  Returns 0 and sets *ts (0 when the
 * thread has none), or PYU_FAULT. */
static __always_inline long find_tstate(const struct py_layout *L, const struct py_proc *proc,
					__u32 tid, __u64 *ts)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 fsbase = BPF_CORE_READ(task, thread.fsbase);
	struct find_ctx f = {.key = fsbase, .layout_idx = proc->layout_idx};
	struct tstate_entry *e = bpf_map_lookup_elem(&tstates, &tid);
	__u64 now = bpf_ktime_get_ns();
	__u64 cached_key, next;

	if (e && !e->tstate && now < e->expires) {
		*ts = 0;
		return 0;
	}
	if (e && e->tstate && !pyu_tstate(L, NULL, e->tstate, &cached_key, &next) &&
	    cached_key == f.key) {
		*ts = e->tstate;
		return 0;
	}
	if (pyu_first_interp(L, NULL, proc->runtime_addr, &f.interp) || !f.interp)
		return PYU_FAULT;
	if (pyu_interp_threads(L, NULL, f.interp, &f.ts))
		return PYU_FAULT;
	bpf_loop(PYBPF_MAX_THREADS, find_tstate_cb, &f, 0);
	if (f.err)
		return f.err;
	struct tstate_entry ne = {.tstate = f.found, .expires = now + negative_ttl_ns};
	bpf_map_update_elem(&tstates, &tid, &ne, BPF_ANY);
	*ts = f.found;
	return 0;
}

/* --- walking the frames --------------------------------------------------- */

struct walk_ctx {
	__u64 frame;
	__u64 code_type;
	__u64 hash;
	__u32 n;
	__u32 layout_idx;
	__u32 slot; /* scratch slot */
	long err;
};

static long walk_cb(__u32 i, void *c)
{
	struct walk_ctx *w = c;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &w->slot);
	const struct py_layout *L = bpf_map_lookup_elem(&layouts, &w->layout_idx);
	struct pyu_frame fr;

	if (!s || !L || !w->frame || w->n >= PYBPF_MAX_PY_FRAMES)
		return 1;
	w->err = pyu_frame(L, NULL, w->frame, w->code_type, s->fbuf, s->cbuf, &fr);
	if (w->err)
		return 1;
	w->frame = fr.previous;
	__u32 last = (w->n - 1) & (PYBPF_MAX_PY_FRAMES - 1);
	if (fr.skip) {
		if (fr.boundary && w->n)
			s->rec.entry[last / 64] |= 1ULL << (last % 64);
		return 0;
	}
	__u32 idx = w->n & (PYBPF_MAX_PY_FRAMES - 1);
	s->rec.py[idx].code = fr.code;
	s->rec.py[idx].instr = fr.instr;
	s->rec.py[idx].tag = fr.tag;
	if (fr.entry)
		s->rec.entry[idx / 64] |= 1ULL << (idx % 64);
	w->hash = pyu_hash(w->hash, fr.code ^ ((__u64)fr.tag << 32), (__u64)(__u32)fr.instr);
	w->n++;
	return 0;
}

/* Walks up to PYBPF_MAX_PY_FRAMES frames.  The one place that needs
 * bpf_loop (5.17); a tail-call chain would replace it on older kernels. */
static __always_inline void walk_frames(struct walk_ctx *w)
{
	bpf_loop(PYBPF_MAX_PY_FRAMES + 64, walk_cb, w, 0);
}

/* --- the sample ----------------------------------------------------------- */

static __always_inline __u64 hash_ips(__u64 h, const __u64 *ips, __u32 n)
{
	for (__u32 i = 0; i < PYBPF_MAX_NATIVE; i++) {
		if (i >= n)
			break;
		h = pyu_hash(h, ips[i], i);
	}
	return h;
}

static __always_inline __u32 native_stack(void *ctx, __u64 *ips, __u64 flags)
{
	long n = bpf_get_stack(ctx, ips, PYBPF_MAX_NATIVE * sizeof(__u64), flags);
	return n > 0 ? (__u32)(n / sizeof(__u64)) : 0;
}

static __always_inline int count_add(struct pybpf_count_key *key, __u64 ns)
{
	struct pybpf_count one = {1, ns}, *v;

	for (int tries = 0; tries < 2; tries++) {
		v = bpf_map_lookup_elem(&counts, key);
		if (v) {
			__sync_fetch_and_add(&v->count, 1);
			__sync_fetch_and_add(&v->ns, ns);
			return 0;
		}
		long err = bpf_map_update_elem(&counts, key, &one, BPF_NOEXIST);
		if (!err)
			return 0;
		if (err != -17 /* EEXIST: raced with another CPU */)
			return -1;
	}
	return -1;
}

/* Sends the stack to userspace unless it is known; 0 when userspace has it. */
static __always_inline int publish_stack(struct pybpf_stack *rec)
{
	__u8 yes = 1;
	if (bpf_map_lookup_elem(&known_stacks, &rec->hash))
		return 0;
	__u64 npy = rec->npy;
	if (npy > PYBPF_MAX_PY_FRAMES)
		return -1;
	__u64 size = __builtin_offsetof(struct pybpf_stack, py) + npy * sizeof(struct py_frame);
	if (size > sizeof(*rec))
		return -1;
	if (bpf_ringbuf_output(&stacks_rb, rec, size, 0))
		return -1;
	stat_inc(STAT_NEW_STACKS);
	bpf_map_update_elem(&known_stacks, &rec->hash, &yes, BPF_ANY);
	return 0;
}

struct capture {
	__u64 hash;
	__u64 tstate; /* the thread's PyThreadState, 0 if none */
};

/* Captures the current thread's Python, native and kernel stacks into the
 * scratch slot and publishes it; 0 with out filled, or -1 (counted). */
static __always_inline int capture_stack(void *ctx, __u32 slot, __u32 pid, __u32 tid,
					 const struct py_proc *proc, struct capture *out)
{
	struct scratch *s = bpf_map_lookup_elem(&scratch, &slot);
	const struct py_layout *L = bpf_map_lookup_elem(&layouts, &proc->layout_idx);
	if (!s || !L) {
		stat_inc(STAT_DROP_RUNTIME);
		return -1;
	}
	struct pybpf_stack *rec = &s->rec;
	rec->pid = pid;
	rec->flags = 0;
	rec->npy = 0;
	for (int i = 0; i < PYBPF_MAX_PY_FRAMES / 64; i++)
		rec->entry[i] = 0;
	rec->nkern = native_stack(ctx, rec->kern, 0);
	rec->nuser = native_stack(ctx, rec->user, BPF_F_USER_STACK);

	__u64 ts = 0;
	struct walk_ctx w = {.code_type = proc->code_type_addr,
			     .layout_idx = proc->layout_idx,
			     .slot = slot,
			     .hash = 0x5079627066ULL ^ pid};
	if (find_tstate(L, proc, tid, &ts)) {
		rec->flags |= STACK_PY_FAULT;
		stat_inc(STAT_TSTATE_FAULT);
	} else if (!ts) {
		rec->flags |= STACK_NO_TSTATE;
		stat_inc(STAT_NO_TSTATE);
	} else if (pyu_current_frame(L, NULL, ts, &w.frame)) {
		rec->flags |= STACK_PY_FAULT;
		stat_inc(STAT_PY_FAULT);
	} else if (!w.frame) {
		rec->flags |= STACK_NO_FRAME;
	} else {
		walk_frames(&w);
		rec->npy = w.n;
		if (w.err) {
			rec->flags |= w.err == PYU_BADCODE ? STACK_BAD_CODE : STACK_PY_FAULT;
			stat_inc(STAT_PY_FAULT);
		} else if (w.frame) {
			rec->flags |= STACK_PY_TRUNCATED;
			stat_inc(STAT_TRUNCATED);
		}
	}

	__u64 h = pyu_hash(w.hash, rec->flags, rec->npy);
	h = hash_ips(h, rec->kern, rec->nkern);
	h = hash_ips(h ^ 0x75, rec->user, rec->nuser);
	/* bit 63 clear: userspace's own stacks (threads found asleep) set it */
	h &= ~(1ULL << 63);
	rec->hash = h;
	if (publish_stack(rec)) {
		stat_inc(STAT_DROP_RINGBUF);
		return -1;
	}
	out->hash = h;
	out->tstate = ts;
	return 0;
}

/* --- the GIL --------------------------------------------------------------- */

/* Does the thread whose state is ts hold its interpreter's GIL now? */
static __always_inline int holds_gil(const struct py_proc *proc, __u32 layout_idx, __u64 ts)
{
	const struct py_layout *L = bpf_map_lookup_elem(&layouts, &layout_idx);
	__u64 holder = 0;
	__u32 locked = 0;
	if (!L || !proc->gil_addr || !ts)
		return 0;
	if (bpf_probe_read_user(&holder, sizeof(holder),
				(const void *)(proc->gil_addr + L->gil_last_holder)) ||
	    bpf_probe_read_user(&locked, sizeof(locked),
				(const void *)(proc->gil_addr + L->gil_locked)))
		return 0;
	return locked && holder == ts;
}

static __always_inline __u32 log_bucket(__u64 ns)
{
	__u32 b = 0;
	if (!ns)
		return 0;
	/* floor(log2(ns)) without clz, which BPF lacks */
	for (int shift = 32; shift > 0; shift /= 2) {
		if (ns >> (b + shift))
			b += shift;
	}
	__u32 sub = b >= 2 ? (__u32)((ns >> (b - 2)) & 3) : 0;
	b = b * 4 + sub;
	return b < GIL_HIST_BUCKETS ? b : GIL_HIST_BUCKETS - 1;
}

/* A GIL wait episode of tid ended at its last wake-up: count it. */
static __always_inline void gil_episode_end(__u32 pid, struct gil_thread *gt)
{
	if (!gt->episode_start || gt->last_wake < gt->episode_start)
		return;
	__u64 len = gt->last_wake - gt->episode_start;
	__u64 key = ((__u64)pid << 8) | log_bucket(len), one = 1, *v;
	gt->episode_start = 0;
	gt->acquisitions++;
	gt->wait_ns += len;
	v = bpf_map_lookup_elem(&gil_hist, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&gil_hist, &key, &one, BPF_NOEXIST);
	struct gil_stats *st = bpf_map_lookup_elem(&gil_stats, &pid);
	if (st && len > st->wait_max_ns)
		st->wait_max_ns = len;
}

static __always_inline struct gil_thread *gil_thread_of(__u32 tid)
{
	struct gil_thread *gt = bpf_map_lookup_elem(&gil_threads, &tid), zero = {};
	if (gt)
		return gt;
	bpf_map_update_elem(&gil_threads, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&gil_threads, &tid);
}

static __always_inline struct gil_stats *gil_stats_of(__u32 pid)
{
	struct gil_stats *st = bpf_map_lookup_elem(&gil_stats, &pid), zero = {};
	if (st)
		return st;
	bpf_map_update_elem(&gil_stats, &pid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&gil_stats, &pid);
}

/* --- the sample ------------------------------------------------------------- */

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	const struct py_proc *proc = bpf_map_lookup_elem(&procs, &pid);
	struct capture c;
	if (!proc || !pid)
		return 0;
	stat_inc(STAT_SAMPLES);
	if (capture_stack(ctx, SCRATCH_SAMPLE, pid, tid, proc, &c))
		return 0;
	struct pybpf_count_key key = {.hash = c.hash, .pid = pid, .tid = tid, .gen = gen};
	key.holds_gil = holds_gil(proc, proc->layout_idx, c.tstate);
	if (proc->gil_addr) {
		struct gil_stats *st = gil_stats_of(pid);
		__s64 waiters = st ? st->waiters : 0;
		key.waiters = waiters > 255 ? 255 : waiters > 0 ? (__u8)waiters : 0;
		if (st && key.holds_gil) {
			__sync_fetch_and_add(&st->held_samples, 1);
			if (waiters > 0)
				__sync_fetch_and_add(&st->contended_samples, 1);
		}
		struct gil_thread *gt =
			key.holds_gil ? bpf_map_lookup_elem(&gil_threads, &tid) : NULL;
		if (gt && gt->episode_start)
			gil_episode_end(pid, gt);
	}
	if (count_add(&key, 0)) {
		stat_inc(STAT_DROP_COUNTS);
		return 0;
	}
	stat_inc(STAT_RECORDED);
	return 0;
}

/* --- off CPU ---------------------------------------------------------------- */

/* Set by userspace: only then does on_switch do anything. */
volatile __u32 offcpu_enabled;

#define S_IFMT	 00170000
#define S_IFSOCK 0140000
#define S_IFREG	 0100000
#define S_IFBLK	 0060000

/* What the file descriptor fd of the current task is. */
static __always_inline __u8 fd_reason(struct task_struct *task, __s64 fd)
{
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(task, files, fdt, max_fds);
	struct file *f = NULL;
	if (fd < 0 || fd >= max || !fds)
		return REASON_OTHER;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return REASON_OTHER;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT;
	if (mode == S_IFSOCK)
		return REASON_SOCKET;
	if (mode == S_IFREG || mode == S_IFBLK)
		return REASON_FILE;
	return REASON_OTHER;
}

/* Why the current task, leaving the CPU in state, blocks. */
static __always_inline __u8 offcpu_reason(struct task_struct *task, long state,
					  const struct py_proc *proc, __u32 layout_idx)
{
	if (state == 0)
		return REASON_RUNQUEUE; /* preempted while runnable */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return REASON_OTHER;
	long nr = BPF_CORE_READ(regs, orig_ax);
	__u64 a0 = BPF_CORE_READ(regs, di);
	int r = pybpf_syscall_reason(nr, a0);
	if (r == SYSCALL_BY_FUTEX) {
		const struct py_layout *L = bpf_map_lookup_elem(&layouts, &layout_idx);
		return L && pybpf_futex_is_gil(L, proc->gil_addr, a0) ? REASON_GIL : REASON_LOCK;
	}
	if (r == SYSCALL_BY_FD)
		return fd_reason(task, (__s64)a0);
	if (r == SYSCALL_BY_POLL) {
		int fd = -1;
		if (!a0 || BPF_CORE_READ(regs, si) == 0)
			return REASON_SLEEP; /* poll on nothing: a sleep */
		bpf_probe_read_user(&fd, sizeof(fd), (const void *)a0);
		return fd_reason(task, fd);
	}
	return (__u8)r;
}

/* prev leaves the CPU: remember when, where and why. */
static __always_inline void switch_out(void *ctx, struct task_struct *prev)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	const struct py_proc *proc = bpf_map_lookup_elem(&procs, &pid);
	struct capture c;
	if (!proc || !pid)
		return;
	stat_inc(STAT_SWITCHES);
	long state = BPF_CORE_READ(prev, __state);
	__u8 reason = offcpu_reason(prev, state, proc, proc->layout_idx);
	if (offcpu_stacks) {
		if (capture_stack(ctx, SCRATCH_SWITCH, pid, tid, proc, &c))
			return;
	} else {
		const struct py_layout *L = bpf_map_lookup_elem(&layouts, &proc->layout_idx);
		__u64 ts = 0;
		c.hash = 0; /* time by reason only */
		c.tstate = L && !find_tstate(L, proc, tid, &ts) ? ts : 0;
	}
	struct offcpu_start st = {
		.ts = bpf_ktime_get_ns(), .hash = c.hash, .pid = pid, .reason = reason};
	st.holds_gil = holds_gil(proc, proc->layout_idx, c.tstate);
	if (proc->gil_addr) {
		struct gil_stats *gs = gil_stats_of(pid);
		struct gil_thread *gt = gil_thread_of(tid);
		if (gs) {
			__s64 w = gs->waiters;
			st.waiters = w > 255 ? 255 : w > 0 ? (__u8)w : 0;
		}
		if (gt && gt->episode_start && (reason != REASON_GIL || st.holds_gil))
			gil_episode_end(pid, gt); /* it got the GIL since its last wake-up */
		if (gt && reason == REASON_GIL && !gt->episode_start)
			gt->episode_start = st.ts;
		if (gs && reason == REASON_GIL)
			__sync_fetch_and_add(&gs->waiters, 1);
	}
	if (bpf_map_update_elem(&offcpu, &tid, &st, BPF_ANY))
		stat_inc(STAT_DROP_OFFCPU);
}

/* next comes back on the CPU: count the time it was away. */
static __always_inline void switch_in(struct task_struct *next)
{
	__u32 tid = BPF_CORE_READ(next, pid);
	struct offcpu_start *st = bpf_map_lookup_elem(&offcpu, &tid);
	if (!st)
		return;
	__u64 now = bpf_ktime_get_ns();
	struct pybpf_count_key key = {.hash = st->hash,
				      .pid = st->pid,
				      .tid = tid,
				      .gen = gen,
				      .kind = KIND_OFFCPU,
				      .reason = st->reason,
				      .holds_gil = st->holds_gil,
				      .waiters = st->waiters};
	__u64 ns = now > st->ts ? now - st->ts : 0;
	if (st->reason == REASON_GIL && !st->seeded) {
		__u32 pid = st->pid;
		struct gil_stats *gs = bpf_map_lookup_elem(&gil_stats, &pid);
		struct gil_thread *gt = bpf_map_lookup_elem(&gil_threads, &tid);
		if (gs)
			__sync_fetch_and_add(&gs->waiters, -1);
		if (gt)
			gt->last_wake = now;
	}
	bpf_map_delete_elem(&offcpu, &tid);
	if (count_add(&key, ns))
		stat_inc(STAT_DROP_COUNTS);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (!offcpu_enabled)
		return 0;
	switch_out(ctx, prev);
	switch_in(next);
	return 0;
}

static __always_inline void proc_event(__u32 pid, __u32 kind)
{
	struct pybpf_proc_event *e = bpf_ringbuf_reserve(&events_rb, sizeof(*e), 0);
	if (!e) {
		stat_inc(STAT_DROP_EVENTS);
		return;
	}
	e->pid = pid;
	e->kind = kind;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	stat_inc(STAT_PROC_EVENTS);
}

/* A new program image: perhaps a Python to profile. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (proc_events_enabled)
		proc_event(bpf_get_current_pid_tgid() >> 32, PYBPF_EV_EXEC);
	return 0;
}

/* A registered process ends (its leader exits). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	if (!proc_events_enabled || pid != (__u32)id || !bpf_map_lookup_elem(&procs, &pid))
		return 0;
	proc_event(pid, PYBPF_EV_EXIT);
	/* its tid may be reused: forget the thread state cached for it */
	bpf_map_delete_elem(&tstates, &pid);
	return 0;
}
