// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* profile.bpf.c - the entry points: CPython stacks on CPU and off CPU, and
 * the process events of discovery.  The work is in the headers:
 *   maps.bpf.h     state and maps          tstate.bpf.h  finding the PyThreadState
 *   walk.bpf.h     the frame walk          capture.bpf.h one stack, sent and counted
 *   gil.bpf.h      GIL holder and waits    offcpu.bpf.h  switch-out / switch-in
 *   events.bpf.h   exec / exit events        loop.bpf.h    event loops' iterations
 *   db.bpf.h       database drivers' calls http.bpf.h    HTTP/1.x requests
 * Everything shared with userspace is in include/pybpf_shared.h. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "capture.bpf.h"
#include "db.bpf.h"
#include "events.bpf.h"
#include "gil.bpf.h"
#include "http.bpf.h"
#include "loop.bpf.h"
#include "maps.bpf.h"
#include "offcpu.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A sample of the CPU's current thread (perf event, every CPU). */
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
	struct pybpf_count_key key = {
		.hash = c.hash, .pid = pid, .tid = tid, .gen = gen, .sql = db_sql_now(tid)};
	gil_on_sample(proc, pid, tid, c.tstate, &key);
	if (count_add(&key, 0)) {
		stat_inc(STAT_DROP_COUNTS);
		return 0;
	}
	stat_inc(STAT_RECORDED);
	loop_note(tid, c.hash, KIND_CPU, REASON_NONE, 0, 0);
	http_note(pid, tid, c.hash);
	return 0;
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

/* Event loops' waits, while asked for.  The kernel functions every wait of
 * its class goes through (epoll_wait/epoll_pwait/epoll_pwait2, poll/ppoll,
 * select/pselect6): they run only for those calls.  Where they cannot be
 * traced (not in the kernel's BTF, inlined, no trampolines), the system
 * call tracepoints, which run for every system call of the host. */
#define LOOP_WAIT_HOOKS(fn, name, w)                                                               \
	SEC("fentry/" #fn)                                                                         \
	int BPF_PROG(on_##name##_enter)                                                            \
	{                                                                                          \
		return loop_hook(w, 1);                                                            \
	}                                                                                          \
	SEC("fexit/" #fn)                                                                          \
	int BPF_PROG(on_##name##_exit)                                                             \
	{                                                                                          \
		return loop_hook(w, 0);                                                            \
	}

LOOP_WAIT_HOOKS(do_epoll_wait, epoll, 2)
LOOP_WAIT_HOOKS(do_sys_poll, poll, 1)
LOOP_WAIT_HOOKS(core_sys_select, select, 1)

/* Every system call, while asked for: event loops' waits where the wait
 * functions cannot be traced, and HTTP requests' socket reads and writes. */
SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long nr)
{
	if (http_enabled)
		http_sys_enter(regs, nr);
	return loop_hook(pybpf_loop_wait_syscall(nr), 1);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	if (http_enabled)
		http_sys_exit(regs, ret);
	if (!loops_enabled)
		return 0;
	/* a tracepoint's argument: read directly, no helper call */
	return loop_hook(pybpf_loop_wait_syscall(regs->orig_ax), 0);
}

/* take_gil of an interpreter with symbols (attached while asked for). */
SEC("uprobe")
int on_take_gil(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	if (bpf_map_lookup_elem(&procs, &pid))
		gil_take_enter(pid, (__u32)id);
	return 0;
}

SEC("uretprobe")
int on_take_gil_ret(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	gil_take_return(id >> 32, (__u32)id);
	return 0;
}

SEC("uprobe")
int on_drop_gil(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	if (bpf_map_lookup_elem(&procs, &pid))
		gil_drop_enter(pid, (__u32)id);
	return 0;
}

SEC("uretprobe")
int on_drop_gil_ret(struct pt_regs *ctx)
{
	gil_drop_return((__u32)bpf_get_current_pid_tgid());
	return 0;
}

/* A database driver's entry point (drivers.c; attached while off-CPU time
 * is recorded, per library file: any process may run it). */
#define DB_ENTRY(name, kind)                                                                       \
	SEC("uprobe")                                                                              \
	int name(struct pt_regs *ctx)                                                              \
	{                                                                                          \
		db_enter(ctx, kind);                                                               \
		return 0;                                                                          \
	}
DB_ENTRY(on_db_call, DB_PLAIN)
DB_ENTRY(on_db_sql2, DB_SQL_ARG2)
DB_ENTRY(on_db_sql3, DB_SQL_ARG3)
DB_ENTRY(on_db_prepare, DB_PREPARE)
DB_ENTRY(on_db_step, DB_STEP)

SEC("uretprobe")
int on_db_call_ret(struct pt_regs *ctx)
{
	db_call_return(PT_REGS_RC(ctx));
	return 0;
}

/* A new program image: perhaps a Python to profile. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (proc_events_enabled &&
	    (!proc_events_followed_only || bpf_map_lookup_elem(&follow, &pid)))
		proc_event(pid, PYBPF_EV_EXEC);
	return 0;
}

/* A followed process forks: its child (a new process, not a thread) is
 * followed too, and said. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ppid = BPF_CORE_READ(parent, tgid), pid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;
	if (pid == ppid || !bpf_map_lookup_elem(&follow, &ppid))
		return 0;
	if (bpf_map_update_elem(&follow, &pid, &one, BPF_ANY)) {
		stat_inc(STAT_DROP_FOLLOW);
		return 0;
	}
	proc_event(pid, PYBPF_EV_FORK);
	return 0;
}

/* A thread of a registered process ends: forget what was kept of it (its
 * tid may be reused), keep its name for samples drained after it; when it
 * is the leader, the process ends. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	int registered = bpf_map_lookup_elem(&procs, &pid) != NULL;
	int followed = pid == tid && bpf_map_delete_elem(&follow, &pid) == 0;
	if (registered)
		thread_exit(pid, tid);
	if (proc_events_enabled && pid == tid && (registered || followed))
		proc_event(pid, PYBPF_EV_EXIT);
	return 0;
}
