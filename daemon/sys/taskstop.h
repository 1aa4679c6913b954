/* taskstop.h - one thread of another process held still for a moment, as
 * debuggers and py-spy do (PTRACE_SEIZE + PTRACE_INTERRUPT): nothing runs
 * in it, and it resumes where it was, its system call restarted. */
#ifndef PYBPF_TASKSTOP_H
#define PYBPF_TASKSTOP_H

#include <sys/types.h>

struct taskstop {
	pid_t tid;
	int sig; /* a signal that arrived meanwhile, passed on at resume */
};

/* Stops tid (a host tid).  0, or -1 with errno: EPERM (no CAP_SYS_PTRACE,
 * or traced already), ESRCH (it exited). */
int task_stop(struct taskstop *ts, pid_t tid);
/* Lets it run again. */
void task_resume(struct taskstop *ts);

#endif
