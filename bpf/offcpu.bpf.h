/* offcpu.bpf.h - threads off CPU: at a switch-out, why the thread blocks
 * (the syscall it sits in and its arguments: include/offcpu_reason.h) and
 * its stack; at its switch-in, the time away, counted by stack and reason.
 * A wait on the GIL's own condition variable or mutex is a GIL wait. */
#ifndef PYBPF_OFFCPU_BPF_H
#define PYBPF_OFFCPU_BPF_H

#include "capture.bpf.h"
#include "db.bpf.h"
#include "gil.bpf.h"
#include "http.bpf.h"
#include "loop.bpf.h"
#include "maps.bpf.h"
#include "offcpu_reason.h"

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
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return state == 0 ? REASON_RUNQUEUE : REASON_OTHER;
	long nr = BPF_CORE_READ(regs, orig_ax);
	__u64 a0 = BPF_CORE_READ(regs, di);
	int r = pybpf_syscall_reason(nr, a0);
	int gil_futex = 0;
	if (r == SYSCALL_BY_FUTEX) {
		const struct py_layout *L = bpf_map_lookup_elem(&layouts, &layout_idx);
		gil_futex = L && pybpf_futex_is_gil(L, proc->gil_addr, a0);
	}
	/* preempted while runnable; but preempted on the way out of a futex
	 * call on the GIL (handing it over, or just woken for it) is part of
	 * the GIL hand-over: a busy host must not turn GIL waits into run
	 * queue time */
	if (state == 0)
		return gil_futex ? REASON_GIL : REASON_RUNQUEUE;
	if (r == SYSCALL_BY_FUTEX)
		return gil_futex ? REASON_GIL : REASON_LOCK;
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

/* The GIL side of a switch-out: episodes and the waiting flag.  A thread
 * preempted in the middle of a GIL wait episode (woken, runnable, not
 * holding it yet) is still waiting for the GIL: the whole span from asking
 * for the GIL to holding it is GIL wait, whether the CPUs are busy or not. */
static __always_inline void gil_on_switch_out(const struct py_proc *proc, __u32 pid, __u32 tid,
					      struct offcpu_start *st, int last_holder)
{
	if (!proc->gil_addr)
		return;
	struct gil_stats *gs = gil_stats_of(pid);
	struct gil_thread *gt = gil_thread_of(pid, tid);
	if (gs)
		st->waiters = cap_waiters(gs->waiters);
	if (!gt)
		return;
	/* the last to take the GIL (holding it, or just made to drop it): it
	 * got the GIL since its last wake-up, whether a sample saw it or not */
	if (gt->episode_start && last_holder)
		gil_episode_end(pid, gt);
	if (st->reason == REASON_RUNQUEUE && gt->episode_start && !st->holds_gil)
		st->reason = REASON_GIL;
	if (gt->episode_start && (st->reason != REASON_GIL || st->holds_gil))
		gil_episode_end(pid, gt); /* it got the GIL since its last wake-up */
	if (st->reason == REASON_GIL && !gt->episode_start)
		gt->episode_start = st->ts;
	gil_set_waiting(gt, st->reason == REASON_GIL);
}

#define PF_EXITING 0x00000004

/* prev leaves the CPU: remember when, where and why.  Not a thread that is
 * exiting: its last switch-out never ends (it never runs again). */
static __always_inline void switch_out(void *ctx, struct task_struct *prev)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	const struct py_proc *proc = bpf_map_lookup_elem(&procs, &pid);
	struct capture c;
	if (!proc || !pid || (BPF_CORE_READ(prev, flags) & PF_EXITING))
		return;
	stat_inc(STAT_SWITCHES);
	long state = BPF_CORE_READ(prev, __state);
	__u8 reason = offcpu_reason(prev, state, proc, proc->layout_idx);
	if (offcpu_stacks || loop_busy(tid) || http_serving(tid)) {
		/* a stack lost (counted) loses the stack, never the time: the
		 * interval is kept by reason, and userspace reads its stack */
		capture_stack(ctx, SCRATCH_SWITCH, pid, tid, proc, &c);
	} else {
		const struct py_layout *L = bpf_map_lookup_elem(&layouts, &proc->layout_idx);
		__u64 ts = 0;
		c.hash = 0; /* time by reason only */
		c.tstate = L && !find_tstate(L, proc, tid, &ts) ? ts : 0;
	}
	/* after the capture: a branch before it doubles the states the
	 * verifier walks through the stack's loops */
	__u32 sql;
	reason = db_reason(tid, reason, &sql);
	struct offcpu_start st = {
		.ts = bpf_ktime_get_ns(), .hash = c.hash, .pid = pid, .reason = reason, .sql = sql};
	int last_holder;
	st.holds_gil = gil_holder(proc, proc->layout_idx, c.tstate, &last_holder);
	gil_on_switch_out(proc, pid, tid, &st, last_holder);
	gil_take_switch_out(tid);
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
				      .waiters = st->waiters,
				      .sql = st->sql};
	__u64 ns = now > st->ts ? now - st->ts : 0;
	if (st->reason == REASON_GIL) {
		struct gil_thread *gt = bpf_map_lookup_elem(&gil_threads, &tid);
		if (gt) {
			gt->last_wake = now;
			gil_set_waiting(gt, 0);
		}
	}
	bpf_map_delete_elem(&offcpu, &tid);
	loop_note(tid, key.hash, KIND_OFFCPU, key.reason, ns, now - ns);
	http_note(key.pid, tid, key.hash);
	if (count_add(&key, ns))
		stat_inc(STAT_DROP_COUNTS);
}

#endif
