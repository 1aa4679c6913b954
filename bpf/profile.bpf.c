// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* profile.bpf.c - on each perf event, unwind the sampled thread's CPython
 * stack, hash it with the native and kernel stacks, send the stack to
 * userspace the first time it is seen and count it by hash in a map. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
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
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} stacks_rb SEC(".maps");

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
	long err;
};

static long walk_cb(__u32 i, void *c)
{
	struct walk_ctx *w = c;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
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

static __always_inline int count_sample(struct pybpf_count_key *key)
{
	__u64 one = 1, *v;

	for (int tries = 0; tries < 2; tries++) {
		v = bpf_map_lookup_elem(&counts, key);
		if (v) {
			__sync_fetch_and_add(v, 1);
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

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id, zero = 0;
	const struct py_proc *proc = bpf_map_lookup_elem(&procs, &pid);
	if (!proc || !pid)
		return 0;
	stat_inc(STAT_SAMPLES);

	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	const struct py_layout *L = bpf_map_lookup_elem(&layouts, &proc->layout_idx);
	if (!s || !L) {
		stat_inc(STAT_DROP_RUNTIME);
		return 0;
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
	rec->hash = h;

	if (publish_stack(rec)) {
		stat_inc(STAT_DROP_RINGBUF);
		return 0;
	}
	struct pybpf_count_key key = {.hash = h, .pid = pid, .tid = tid, .gen = gen};
	if (count_sample(&key)) {
		stat_inc(STAT_DROP_COUNTS);
		return 0;
	}
	stat_inc(STAT_RECORDED);
	return 0;
}
