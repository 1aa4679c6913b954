/* gil.bpf.h - who holds the GIL, per-process waiter counts, and GIL wait
 * episodes (consecutive GIL waits of a thread until it holds it) into the
 * latency histogram. */
#ifndef PYBPF_GIL_BPF_H
#define PYBPF_GIL_BPF_H

#include "maps.bpf.h"

/* Does the thread whose state is ts hold its interpreter's GIL now?  And
 * (*last, if given) was it the last to take it (held it, maybe dropped)? */
static __always_inline int gil_holder(const struct py_proc *proc, __u32 layout_idx, __u64 ts,
				      int *last)
{
	const struct py_layout *L = bpf_map_lookup_elem(&layouts, &layout_idx);
	__u64 holder = 0;
	__u32 locked = 0;
	if (last)
		*last = 0;
	if (!L || !proc->gil_addr || !ts)
		return 0;
	if (bpf_probe_read_user(&holder, sizeof(holder),
				(const void *)(proc->gil_addr + L->gil_last_holder)) ||
	    bpf_probe_read_user(&locked, sizeof(locked),
				(const void *)(proc->gil_addr + L->gil_locked)))
		return 0;
	if (last)
		*last = holder == ts;
	return locked && holder == ts;
}

static __always_inline int holds_gil(const struct py_proc *proc, __u32 layout_idx, __u64 ts)
{
	return gil_holder(proc, layout_idx, ts, 0);
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
	__u64 key = gil_hist_key(pid, log_bucket(len)), one = 1, *v;
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

static __always_inline struct gil_thread *gil_thread_of(__u32 pid, __u32 tid)
{
	struct gil_thread *gt = bpf_map_lookup_elem(&gil_threads, &tid), zero = {.pid = pid};
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

static __always_inline __u8 cap_waiters(__s64 w)
{
	return w > 255 ? 255 : w > 0 ? (__u8)w : 0;
}

/* Sets the thread's waiting flag; the process's count moves with it. */
static __always_inline void gil_set_waiting(struct gil_thread *gt, __u8 waiting)
{
	if (gt->waiting == waiting)
		return;
	gt->waiting = waiting;
	__u32 pid = gt->pid;
	struct gil_stats *st = bpf_map_lookup_elem(&gil_stats, &pid);
	if (st)
		__sync_fetch_and_add(&st->waiters, waiting ? 1 : -1);
}

/* A CPU sample of tid: holding?  contended?  a GIL wait episode over? */
static __always_inline void gil_on_sample(const struct py_proc *proc, __u32 pid, __u32 tid,
					  __u64 ts, struct pybpf_count_key *key)
{
	key->holds_gil = holds_gil(proc, proc->layout_idx, ts);
	if (!proc->gil_addr)
		return;
	struct gil_stats *st = gil_stats_of(pid);
	__s64 waiters = st ? st->waiters : 0;
	key->waiters = cap_waiters(waiters);
	if (st && key->holds_gil) {
		__sync_fetch_and_add(&st->held_samples, 1);
		if (waiters > 0)
			__sync_fetch_and_add(&st->contended_samples, 1);
	}
	struct gil_thread *gt = key->holds_gil ? bpf_map_lookup_elem(&gil_threads, &tid) : NULL;
	if (!gt)
		return;
	if (gt->episode_start)
		gil_episode_end(pid, gt);
	gil_set_waiting(gt, 0); /* on CPU holding it: whatever was missed */
}

/* --- the exact signal: uprobes on take_gil ----------------------------------- */

static __always_inline void hist_add(__u64 key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&gil_hist, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&gil_hist, &key, &one, BPF_NOEXIST);
}

static __always_inline struct gil_take *gil_take_of(__u32 pid, __u32 tid)
{
	struct gil_take *t = bpf_map_lookup_elem(&gil_takes, &tid), zero = {.pid = pid};
	if (t)
		return t;
	bpf_map_update_elem(&gil_takes, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&gil_takes, &tid);
}

/* take_gil entered by a thread of a registered process. */
static __always_inline void gil_take_enter(__u32 pid, __u32 tid)
{
	struct gil_take *t = gil_take_of(pid, tid);
	if (!t)
		return;
	t->start = bpf_ktime_get_ns();
	t->blocked = 0;
}

/* ... and returned: it holds the GIL. */
static __always_inline void gil_take_return(__u32 pid, __u32 tid)
{
	struct gil_take *t = bpf_map_lookup_elem(&gil_takes, &tid);
	if (!t || !t->start)
		return;
	__u64 now = bpf_ktime_get_ns(), from = t->since ? t->since : t->start;
	t->calls++;
	if (t->blocked || t->since) {
		t->waits++;
		t->wait_ns += now - from;
		hist_add(gil_hist_key(pid, GIL_HIST_TAKE | log_bucket(now - from)));
	}
	t->start = t->since = 0;
}

static __always_inline void gil_drop_enter(__u32 pid, __u32 tid)
{
	struct gil_take *t = gil_take_of(pid, tid);
	if (!t)
		return;
	t->drop_start = bpf_ktime_get_ns();
	t->drop_blocked = 0;
}

/* drop_gil returned: if it waited (a forced switch), the thread has wanted
 * the GIL back since then. */
static __always_inline void gil_drop_return(__u32 tid)
{
	struct gil_take *t = bpf_map_lookup_elem(&gil_takes, &tid);
	if (!t || !t->drop_start)
		return;
	t->since = t->drop_blocked ? t->drop_start : 0;
	t->drop_start = 0;
}

/* A switch-out inside take_gil or drop_gil: that call waits. */
static __always_inline void gil_take_switch_out(__u32 tid)
{
	struct gil_take *t = bpf_map_lookup_elem(&gil_takes, &tid);
	if (!t)
		return;
	if (t->start)
		t->blocked = 1;
	if (t->drop_start)
		t->drop_blocked = 1;
}

#endif
