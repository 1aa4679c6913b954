/* loop.bpf.h - event loops: each thread's iterations between its waits,
 * their busy time, and what ran in the ones longer than the threshold
 * (include/pybpf_shared.h, "event loops"). */
#ifndef PYBPF_LOOP_BPF_H
#define PYBPF_LOOP_BPF_H

#include "gil.bpf.h"
#include "maps.bpf.h"

/* A zeroed loop_thread: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct loop_thread);
} loop_zero SEC(".maps");

static __always_inline struct loop_thread *loop_thread_of(__u32 pid, __u32 tid, int create)
{
	struct loop_thread *lt = bpf_map_lookup_elem(&loops, &tid);
	__u32 zero = 0;
	if (lt || !create)
		return lt;
	struct loop_thread *z = bpf_map_lookup_elem(&loop_zero, &zero);
	if (!z)
		return NULL;
	__builtin_memset(z, 0, sizeof(*z));
	z->pid = pid;
	bpf_map_update_elem(&loops, &tid, z, BPF_NOEXIST);
	return bpf_map_lookup_elem(&loops, &tid);
}

/* tid is inside an iteration of its event loop: what it blocks in there is
 * what stalls the loop (its stack is wanted even while off-CPU stacks are
 * not: pybpfd's windows attribute stalls by stack). */
static __always_inline int loop_busy(__u32 tid)
{
	if (!loops_enabled)
		return 0;
	struct loop_thread *lt = bpf_map_lookup_elem(&loops, &tid);
	return lt && lt->iter_start;
}

/* What tid did while in an iteration: a CPU sample of stack hash, or ns
 * off CPU in it since `since` (an interval begun before the iteration
 * counts from its start). */
static __always_inline void loop_note(__u32 tid, __u64 hash, __u8 kind, __u8 reason, __u64 ns,
				      __u64 since)
{
	if (!loops_enabled)
		return;
	struct loop_thread *lt = bpf_map_lookup_elem(&loops, &tid);
	if (!lt || !lt->iter_start)
		return;
	if (since && since < lt->iter_start)
		ns = since + ns > lt->iter_start ? since + ns - lt->iter_start : 0;
	__u32 n = lt->nslots;
	for (__u32 i = 0; i < LOOP_SLOTS; i++) {
		struct loop_slot *s = &lt->slots[i];
		if (i == n) {
			s->hash = hash;
			s->kind = kind;
			s->reason = reason;
			s->ns = ns;
			s->count = 1;
			lt->nslots = (__u16)(n + 1);
			return;
		}
		if (s->hash == hash && s->kind == kind && s->reason == reason) {
			s->ns += ns;
			s->count++;
			return;
		}
	}
	lt->other_ns += ns;
}

static __always_inline void loop_send_stall(struct loop_thread *lt, __u32 pid, __u32 tid, __u64 now)
{
	struct pybpf_stall *e = bpf_ringbuf_reserve(&stalls_rb, sizeof(*e), 0);
	if (!e) {
		lt->stalls_lost++;
		return;
	}
	e->pid = pid;
	e->tid = tid;
	e->start = lt->iter_start;
	e->end = now;
	e->other_ns = lt->other_ns;
	e->nslots = lt->nslots < LOOP_SLOTS ? lt->nslots : LOOP_SLOTS;
	e->pad = 0;
	__builtin_memcpy(e->slots, lt->slots, sizeof(e->slots));
	bpf_ringbuf_submit(e, 0);
}

/* tid begins a wait of class w (pybpf_loop_wait_syscall): its iteration ends. */
static __always_inline void loop_wait_enter(__u32 pid, __u32 tid, int w)
{
	struct loop_thread *lt = loop_thread_of(pid, tid, 1);
	if (!lt)
		return;
	if (w == 2)
		lt->epoll = 1;
	else if (lt->epoll)
		return; /* a poll of its work (a socket's timeout): busy */
	__u64 now = bpf_ktime_get_ns();
	if (lt->iter_start && now > lt->iter_start) {
		__u64 busy = now - lt->iter_start;
		lt->iterations++;
		lt->busy_ns += busy;
		if (busy > lt->max_busy_ns)
			lt->max_busy_ns = busy;
		__u32 b = log_bucket(busy);
		if (b < GIL_HIST_BUCKETS)
			lt->hist[b]++;
		if (busy >= loop_threshold_ns) {
			lt->stalls++;
			lt->stall_ns += busy;
			loop_send_stall(lt, pid, tid, now);
		}
	}
	lt->iter_start = 0;
}

/* ... and ends it: an iteration begins. */
static __always_inline void loop_wait_exit(__u32 pid, __u32 tid, int w)
{
	struct loop_thread *lt = loop_thread_of(pid, tid, 1);
	if (!lt || (w == 1 && lt->epoll))
		return;
	lt->iter_start = bpf_ktime_get_ns();
	lt->nslots = 0;
	lt->other_ns = 0;
}

/* The hooks: the current task begins or ends a wait of class w, if it is a
 * thread of a registered process. */
static __always_inline int loop_hook(int w, int enter)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	if (!loops_enabled || !w || !bpf_map_lookup_elem(&procs, &pid))
		return 0;
	if (enter)
		loop_wait_enter(pid, (__u32)id, w);
	else
		loop_wait_exit(pid, (__u32)id, w);
	return 0;
}

#endif
