/* capture.bpf.h - one stack: native user and kernel ips, the Python frames,
 * their hash; sent to userspace the first time it is seen, and counted by
 * hash in the counts map. */
#ifndef PYBPF_CAPTURE_BPF_H
#define PYBPF_CAPTURE_BPF_H

#include "maps.bpf.h"
#include "tstate.bpf.h"
#include "walk.bpf.h"

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

/* The Python part of the record: flags and frames, counted by outcome. */
static __always_inline void capture_python(const struct py_layout *L, const struct py_proc *proc,
					   __u32 tid, struct pybpf_stack *rec, struct walk_ctx *w,
					   __u64 *ts)
{
	if (find_tstate(L, proc, tid, ts)) {
		rec->flags |= STACK_PY_FAULT;
		stat_inc(STAT_TSTATE_FAULT);
	} else if (!*ts) {
		rec->flags |= STACK_NO_TSTATE;
		stat_inc(STAT_NO_TSTATE);
	} else if (pyu_current_frame(L, NULL, *ts, &w->frame)) {
		rec->flags |= STACK_PY_FAULT;
		stat_inc(STAT_PY_FAULT);
	} else if (!w->frame) {
		rec->flags |= STACK_NO_FRAME;
	} else {
		walk_frames(w);
		rec->npy = w->n;
		if (w->err) {
			rec->flags |= w->err == PYU_BADCODE ? STACK_BAD_CODE : STACK_PY_FAULT;
			stat_inc(STAT_PY_FAULT);
		} else if (w->frame) {
			rec->flags |= STACK_PY_TRUNCATED;
			stat_inc(STAT_TRUNCATED);
		}
	}
}

/* Captures the current thread's Python, native and kernel stacks into the
 * scratch slot and publishes it; 0 with out filled, or -1 (counted) with
 * out->hash 0 (no stack) and out->tstate what was found. */
static __always_inline int capture_stack(void *ctx, __u32 slot, __u32 pid, __u32 tid,
					 const struct py_proc *proc, struct capture *out)
{
	struct scratch *s = bpf_map_lookup_elem(&scratch, &slot);
	const struct py_layout *L = bpf_map_lookup_elem(&layouts, &proc->layout_idx);
	out->hash = out->tstate = 0;
	if (!s || !L) {
		stat_inc(STAT_DROP_RUNTIME);
		return -1;
	}
	struct pybpf_stack *rec = &s->rec;
	rec->pid = pid;
	rec->flags = slot == SCRATCH_SWITCH ? STACK_SWITCH : 0;
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
	capture_python(L, proc, tid, rec, &w, &ts);
	/* no branch before the loops below: each would double the states the
	 * verifier walks through them (task_stacks is 0 or 1) */
	rec->coro = w.coro & (0 - (__u64)(task_stacks & 1));
	rec->coro_idx = w.coro_idx;

	__u64 h = pyu_hash(w.hash, rec->flags, rec->npy);
	h = pyu_hash(h, rec->coro, 0x7461736b);
	h = hash_ips(h, rec->kern, rec->nkern);
	h = hash_ips(h ^ 0x75, rec->user, rec->nuser);
	h &= ~PYBPF_HASH_USER_BIT; /* the kernel's stacks: see pybpf_shared.h */
	rec->hash = h;
	out->tstate = ts;
	if (publish_stack(rec)) {
		stat_inc(STAT_DROP_RINGBUF);
		return -1;
	}
	out->hash = h;
	return 0;
}

#endif
