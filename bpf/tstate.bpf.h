/* tstate.bpf.h - the sampled thread's PyThreadState: cached per tid, else
 * found by walking every interpreter's thread list for the thread's
 * pthread_t (its fs base), which names it in every version and namespace. */
#ifndef PYBPF_TSTATE_BPF_H
#define PYBPF_TSTATE_BPF_H

#include "maps.bpf.h"
#include "unwind.bpf.h"

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
	/* none yet: asked again after as long as it has gone without (10 ms to
	 * 1 s), so a starting thread's samples get its state within ~its age */
	__u64 born = e && e->born ? e->born : now, ttl = now - born;
	if (ttl < PYBPF_NEGATIVE_MIN_TTL_NS)
		ttl = PYBPF_NEGATIVE_MIN_TTL_NS;
	if (ttl > PYBPF_NEGATIVE_TTL_NS)
		ttl = PYBPF_NEGATIVE_TTL_NS;
	struct tstate_entry ne = {.tstate = f.found, .expires = now + ttl, .born = born};
	bpf_map_update_elem(&tstates, &tid, &ne, BPF_ANY);
	*ts = f.found;
	return 0;
}

#endif
