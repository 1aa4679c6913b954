/* offcpu_reason.h - why a thread blocked, from the syscall it sits in: one
 * table for the BPF program (bpf/profile.bpf.c, at sched_switch) and for
 * userspace (daemon/idle.c, from /proc/PID/task/TID/syscall). */
#ifndef PYBPF_OFFCPU_REASON_H
#define PYBPF_OFFCPU_REASON_H

#include "pybpf_shared.h"

/* What the caller must still look at to decide. */
enum {
	SYSCALL_BY_FD = 100,	/* the file descriptor in arg 0: socket, file or other */
	SYSCALL_BY_POLL = 101,	/* the first pollfd of arg 0 (none: a sleep) */
	SYSCALL_BY_FUTEX = 102, /* the futex address in arg 0: the GIL's, or a lock */
};

/* x86-64 syscall numbers */
enum {
	NR_read = 0,
	NR_write = 1,
	NR_poll = 7,
	NR_pread64 = 17,
	NR_pwrite64 = 18,
	NR_readv = 19,
	NR_writev = 20,
	NR_select = 23,
	NR_nanosleep = 35,
	NR_connect = 42,
	NR_accept = 43,
	NR_sendto = 44,
	NR_recvfrom = 45,
	NR_sendmsg = 46,
	NR_recvmsg = 47,
	NR_futex = 202,
	NR_clock_nanosleep = 230,
	NR_epoll_wait = 232,
	NR_pselect6 = 270,
	NR_ppoll = 271,
	NR_epoll_pwait = 281,
	NR_accept4 = 288,
	NR_recvmmsg = 299,
	NR_sendmmsg = 307,
	NR_epoll_pwait2 = 441,
	NR_futex_waitv = 449,
};

/* The reason for syscall nr with first argument a0, or one of SYSCALL_BY_*. */
static inline __attribute__((always_inline)) int pybpf_syscall_reason(long nr, __u64 a0)
{
	switch (nr) {
	case NR_futex:
		return SYSCALL_BY_FUTEX;
	case NR_futex_waitv:
		return REASON_LOCK;
	case NR_nanosleep:
	case NR_clock_nanosleep:
		return REASON_SLEEP;
	case NR_connect:
	case NR_accept:
	case NR_accept4:
	case NR_sendto:
	case NR_recvfrom:
	case NR_sendmsg:
	case NR_recvmsg:
	case NR_recvmmsg:
	case NR_sendmmsg:
	case NR_epoll_wait:
	case NR_epoll_pwait:
	case NR_epoll_pwait2:
		return REASON_SOCKET;
	case NR_read:
	case NR_write:
	case NR_pread64:
	case NR_pwrite64:
	case NR_readv:
	case NR_writev:
		return SYSCALL_BY_FD;
	case NR_poll:
	case NR_ppoll:
		return SYSCALL_BY_POLL;
	case NR_select:
	case NR_pselect6:
		return a0 == 0 ? REASON_SLEEP : REASON_SOCKET; /* select(0, ...) sleeps */
	default:
		return REASON_OTHER;
	}
}

/* Is the futex at addr one of the GIL's (its condition variables and
 * mutexes: waiting to take it, or to hand it over)? */
static inline __attribute__((always_inline)) int pybpf_futex_is_gil(const struct py_layout *L,
								    __u64 gil, __u64 addr)
{
	return gil && addr >= gil + L->gil_futex_lo && addr < gil + L->gil_futex_hi;
}

#endif
