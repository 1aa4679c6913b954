/* unwind.bpf.h - the shared CPython unwinding steps (include/pyunwind.h)
 * with the target's memory read by bpf_probe_read_user. */
#ifndef PYBPF_UNWIND_BPF_H
#define PYBPF_UNWIND_BPF_H

static __always_inline long pyu_read(void *rctx, void *dst, __u32 len, __u64 addr)
{
	(void)rctx;
	return bpf_probe_read_user(dst, len, (const void *)addr);
}

#include "pyunwind.h"

#endif
