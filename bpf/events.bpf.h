/* events.bpf.h - execs and exits for the daemon's discovery (events_rb). */
#ifndef PYBPF_EVENTS_BPF_H
#define PYBPF_EVENTS_BPF_H

#include "gil.bpf.h"
#include "maps.bpf.h"

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

/* The thread tid of pid exits. */
static __always_inline void thread_exit(__u32 pid, __u32 tid)
{
	struct exited_thread e = {.pid = pid};
	struct gil_thread *gt = bpf_map_lookup_elem(&gil_threads, &tid);
	if (gt) {
		gil_set_waiting(gt, 0);
		bpf_map_delete_elem(&gil_threads, &tid);
	}
	bpf_map_delete_elem(&offcpu, &tid);
	bpf_map_delete_elem(&tstates, &tid);
	bpf_map_delete_elem(&gil_takes, &tid);
	bpf_map_delete_elem(&loops, &tid);
	bpf_map_delete_elem(&db_calls, &tid);
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_map_update_elem(&exited_threads, &tid, &e, BPF_ANY);
}

#endif
