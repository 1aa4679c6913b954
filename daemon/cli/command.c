/* command.c - start, watch and stop the profiled command. */
#define _GNU_SOURCE
#include "cli/command.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GRACE_MS 2000

int command_start(struct command *c, char **argv)
{
	/* a CLOEXEC pipe reports a failed exec as its errno */
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
		execvp(argv[0], argv);
		int e = errno;
		if (write(fds[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	int e = 0;
	ssize_t n;
	while ((n = read(fds[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(fds[0]);
	c->pid = pid;
	if (n == (ssize_t)sizeof(e)) {
		fprintf(stderr, "pybpfctl: cannot run %s: %s\n", argv[0], strerror(e));
		command_wait(c);
		return e == ENOENT ? 127 : 126; /* as env(1) and timeout(1) */
	}
	return 0;
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
