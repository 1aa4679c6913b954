/* command.c - start, watch and stop the profiled command. */
#define _GNU_SOURCE
#include "cli/command.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "python/pyprocess.h"
#include "sys/clock.h"
#include "sys/procfs.h"

#define GRACE_MS 2000

/* Forks argv; in the child, traced first when `trace` (it stops itself so
 * the parent can set options).  fds[0] is the read end of a CLOEXEC pipe a
 * failed exec writes its errno to. */
static int spawn(struct command *c, char **argv, bool trace, int *fd)
{
	int fds[2];
	*c = (struct command){.pid = -1};
	if (pipe2(fds, O_CLOEXEC)) {
		fprintf(stderr, "pybpfctl: cannot start %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "pybpfctl: cannot start %s: %s\n", argv[0], strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return 1;
	}
	if (pid == 0) {
		close(fds[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (trace && ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
			raise(SIGSTOP);
		execvp(argv[0], argv);
		int e = errno;
		if (write(fds[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	c->pid = pid;
	*fd = fds[0];
	return 0;
}

/* After a failed exec (e read from the pipe): the status to give. */
static int exec_failed(struct command *c, char **argv, int e)
{
	fprintf(stderr, "pybpfctl: cannot run %s: %s\n", argv[0], strerror(e));
	command_wait(c);
	return e == ENOENT ? 127 : 126; /* as env(1) and timeout(1) */
}

int command_start(struct command *c, char **argv)
{
	int fd, e = 0;
	int r = spawn(c, argv, false, &fd);
	if (r)
		return r;
	ssize_t n;
	while ((n = read(fd, &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(fd);
	return n == (ssize_t)sizeof(e) ? exec_failed(c, argv, e) : 0;
}

/* Waits (0.2 s at most) until the untraced command is in its stop. */
static void await_stop(struct command *c)
{
	for (int i = 0; i < 200; i++) {
		siginfo_t si = {0};
		if (waitid(P_PID, (id_t)c->pid, &si, WSTOPPED | WEXITED | WNOWAIT | WNOHANG) == 0 &&
		    si.si_pid == c->pid)
			break;
		usleep(1000);
	}
}

/* At a ptrace stop: done tracing, the command left stopped when `held`
 * (a SIGSTOP that stays pending across the detach), else running. */
static void untrace(struct command *c, bool held, bool at_sigstop)
{
	if (held && !at_sigstop)
		kill(c->pid, SIGSTOP);
	ptrace(PTRACE_DETACH, c->pid, NULL, (void *)(long)(held && at_sigstop ? SIGSTOP : 0));
	if (held)
		await_stop(c);
	c->held = held;
}

int command_start_held(struct command *c, char **argv, command_ready_fn ready, void *ctx)
{
	int fd, e = 0;
	int r = spawn(c, argv, true, &fd);
	if (r)
		return r;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	bool execd = false, traced = false, failed = false, asked = false;
	enum command_readiness rd = COMMAND_WAIT;
	uint64_t last_look = 0;
	for (;;) {
		if (!execd && !failed) {
			ssize_t n = read(fd, &e, sizeof(e));
			failed = n == (ssize_t)sizeof(e); /* it exits next: run it there */
			execd = n == 0;
		}
		int st;
		pid_t w = waitpid(c->pid, &st, WUNTRACED | WNOHANG);
		if (w == 0) {
			/* no system call for a while: look anyway, and stop it
			 * to act on what was decided */
			uint64_t now = monotonic_ns();
			if (traced && execd && !asked && now - last_look > 100000000ULL) {
				last_look = now;
				rd = ready(ctx, c->pid);
				if (rd != COMMAND_WAIT && kill(c->pid, SIGSTOP) == 0)
					asked = true;
			}
			usleep(200);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
			c->status = st;
			c->reaped = w == c->pid;
			break;
		}
		int sig = WSTOPSIG(st);
		if (!traced) {
			/* its own SIGSTOP: traced now, or (tracing refused) run as is */
			traced =
				ptrace(PTRACE_SETOPTIONS, c->pid, NULL,
				       (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) ==
				0;
			if (!traced) {
				kill(c->pid, SIGCONT);
				break;
			}
			ptrace(PTRACE_SYSCALL, c->pid, NULL, NULL);
			continue;
		}
		if (asked && sig == SIGSTOP) { /* ours, after a look while it ran */
			untrace(c, rd == COMMAND_READY, true);
			break;
		}
		if (sig == (SIGTRAP | 0x80)) {
			if (!asked && execd)
				rd = ready(ctx, c->pid);
			if (!asked && rd != COMMAND_WAIT) {
				untrace(c, rd == COMMAND_READY, false);
				break;
			}
			ptrace(PTRACE_SYSCALL, c->pid, NULL, NULL);
			continue;
		}
		/* the trap after exec is ours; any other signal is the program's */
		ptrace(PTRACE_SYSCALL, c->pid, NULL, (void *)(long)(sig == SIGTRAP ? 0 : sig));
	}
	/* an exec that failed after the last look still says so */
	if (!failed && !execd) {
		ssize_t n;
		fcntl(fd, F_SETFL, 0);
		while ((n = read(fd, &e, sizeof(e))) < 0 && errno == EINTR)
			;
		failed = n == (ssize_t)sizeof(e);
	}
	close(fd);
	return failed ? exec_failed(c, argv, e) : 0;
}

void command_resume(struct command *c)
{
	if (!c->held)
		return;
	kill(c->pid, SIGCONT);
	c->held = false;
}

bool command_gone(struct command *c)
{
	if (c->reaped)
		return true;
	if (c->pid > 0 && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->reaped = true;
	return c->reaped;
}

void command_wait(struct command *c)
{
	while (!c->reaped && c->pid > 0) {
		if (waitpid(c->pid, &c->status, 0) == c->pid)
			c->reaped = true;
		else if (errno != EINTR)
			break;
	}
}

/* Waits up to ms for the command to exit. */
static bool gone_within(struct command *c, int ms)
{
	struct timespec tick = {0, 10 * 1000000L};
	for (int i = 0; i < ms / 10; i++) {
		if (command_gone(c))
			return true;
		nanosleep(&tick, NULL);
	}
	return command_gone(c);
}

void command_stop(struct command *c, bool interrupted, bool quiet)
{
	static const struct {
		int sig;
		const char *name;
	} steps[] = {{SIGINT, "SIGINT"}, {SIGTERM, "SIGTERM"}, {SIGKILL, "SIGKILL"}};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (command_gone(c))
			return;
		if (!quiet && i > 0)
			fprintf(stderr, "pybpfctl: pid %d did not exit; sending %s\n", (int)c->pid,
				steps[i].name);
		/* after Ctrl-C the terminal has sent SIGINT to it already */
		if (i > 0 || !interrupted)
			kill(c->pid, steps[i].sig);
		if (steps[i].sig != SIGKILL && gone_within(c, GRACE_MS))
			return;
	}
	command_wait(c);
}

int command_exit_code(const struct command *c)
{
	if (!c->reaped)
		return 0;
	if (WIFEXITED(c->status))
		return WEXITSTATUS(c->status);
	if (WIFSIGNALED(c->status))
		return 128 + WTERMSIG(c->status);
	return 1;
}

/* --- a Python command ----------------------------------------------------------- */

/* The command's interpreter, looked at at its system calls until it is up. */
struct python_wait {
	struct elfcache *elves;
	struct pyprocess *pp;
	enum pyprocess_result r;
	uint64_t since;
	unsigned looks;
	char err[512];
};

static enum command_readiness python_ready(void *ctx, pid_t pid)
{
	struct python_wait *w = ctx;
	uint64_t age = monotonic_ns() - w->since;
	if (stop_requested)
		return COMMAND_GIVE_UP;
	w->r = pyprocess_inspect(pid, w->elves, w->pp, w->err, sizeof(w->err));
	if (w->r == PYPROC_OK)
		return COMMAND_READY;
	/* not Python for 3 s (a shell starting it, say), or not up in 10 s */
	if (w->r == PYPROC_UNSUPPORTED || (w->r == PYPROC_NOT_PYTHON && age > 3000000000ULL) ||
	    age > 10000000000ULL)
		return COMMAND_GIVE_UP;
	return COMMAND_WAIT;
}

/* With --subprocesses the command need not be Python: one that is not (a
 * shell, say: no CPython mapped, and not called python*) is held at once,
 * before it can fork, and its tree followed from there. */
static enum command_readiness tree_ready(void *ctx, pid_t pid)
{
	struct python_wait *w = ctx;
	char exe[PATH_MAX];
	uint64_t age = monotonic_ns() - w->since;
	if (stop_requested)
		return COMMAND_GIVE_UP;
	/* the first look is at the exec's own return, before the trap the exec
	 * sends a traced process: held there, that trap would kill it */
	if (!w->looks++)
		return COMMAND_WAIT;
	w->r = pyprocess_inspect(pid, w->elves, w->pp, w->err, sizeof(w->err));
	if (w->r == PYPROC_OK)
		return COMMAND_READY;
	const char *base = procfs_exe(pid, exe, sizeof(exe)) ? "" : strrchr(exe, '/');
	bool pythonish = base && !strncmp(base[0] == '/' ? base + 1 : base, "python", 6);
	if ((w->r == PYPROC_NOT_READY && age < 10000000000ULL) ||
	    (w->r == PYPROC_NOT_PYTHON && pythonish && age < 3000000000ULL))
		return COMMAND_WAIT;
	return COMMAND_READY; /* held as it is: registered once it is Python */
}

/* Starts the command and holds it, stopped, once its interpreter is up: so
 * even a command of a few milliseconds is registered before it runs on
 * (with `tree`, as tree_ready says; *is_python tells whether pp is it).
 * 0 (held), -1 (said), or the start's own exit status. */
int command_start_python(struct command *child, char **argv, struct elfcache *elves,
			 struct pyprocess *pp, bool tree, bool *is_python)
{
	struct python_wait w = {.elves = elves, .pp = pp, .since = monotonic_ns()};
	int r = command_start_held(child, argv, tree ? tree_ready : python_ready, &w);
	*is_python = w.r == PYPROC_OK;
	if (r)
		return r;
	if (child->held)
		return 0;
	if (command_gone(child))
		fprintf(stderr, "pybpfctl: pid %d exited before its interpreter started\n",
			(int)child->pid);
	else
		fprintf(stderr, "pybpfctl: %s\n", w.err[0] ? w.err : "interrupted");
	return -1;
}
