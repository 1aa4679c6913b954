/* taskstop.c - hold a thread still with ptrace, then let it go. */
#define _GNU_SOURCE
#include "sys/taskstop.h"

#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#define POLL_MS 200

/* Waits for tid's next stop; 0 when it is in a ptrace stop, -1 when gone. */
static int wait_stop(struct taskstop *ts)
{
	struct timespec tick = {0, 100000}; /* 0.1 ms */
	for (int i = 0;; i++) {
		int st;
		/* a running thread stops at once; one in a disk wait when it
		 * leaves it: poll a while, then wait for it */
		pid_t r = waitpid(ts->tid, &st, __WALL | (i < POLL_MS * 10 ? WNOHANG : 0));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			nanosleep(&tick, NULL);
			continue;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			errno = ESRCH;
			return -1;
		}
		if (!WIFSTOPPED(st))
			continue;
		if (st >> 16 == PTRACE_EVENT_STOP)
			return 0; /* our interrupt */
		/* a signal on its way to it: keep it for the resume */
		if (WSTOPSIG(st) != SIGTRAP)
			ts->sig = WSTOPSIG(st);
		return 0;
	}
}

int task_stop(struct taskstop *ts, pid_t tid)
{
	ts->tid = tid;
	ts->sig = 0;
	if (ptrace(PTRACE_SEIZE, tid, 0, 0))
		return -1;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) || wait_stop(ts)) {
		int e = errno;
		ptrace(PTRACE_DETACH, tid, 0, 0);
		errno = e;
		return -1;
	}
	return 0;
}

void task_resume(struct taskstop *ts)
{
	ptrace(PTRACE_DETACH, ts->tid, 0, (void *)(long)ts->sig);
}
