/* events.bpf.h - execs and exits for the daemon's discovery (events_rb). */
#ifndef PYBPF_EVENTS_BPF_H
#define PYBPF_EVENTS_BPF_H

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

#endif
