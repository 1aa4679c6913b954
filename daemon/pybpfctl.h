/* pybpfctl.h - what the pybpfctl sources share: options, the daemon socket
 * and the commands that go through it. */
#ifndef PYBPF_PYBPFCTL_H
#define PYBPF_PYBPFCTL_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#define EXIT_USAGE 2

extern volatile sig_atomic_t stop_requested;

struct record_opts {
	pid_t pid;
	int mode;
	double duration;
	unsigned long rate;
	const char *output;
	int format;
	bool quiet, json;
	char **command;
};

/* The daemon's socket (from --socket / $PYBPF_SOCKET), and whether the user
 * said --no-daemon. */
extern const char *ctl_path;
extern bool no_daemon;

/* A connection to pybpfd, or -1 when it does not run (or --no-daemon). */
int daemon_connect(void);

/* The commands through the daemon (fd from daemon_connect, closed here). */
int remote_record(int fd, const struct record_opts *o, pid_t child);
int remote_dump(int fd, pid_t pid, bool json);
int remote_report(int fd, const struct record_opts *o, bool gil);
int cmd_status(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_top(int argc, char **argv);

int parse_uint(const char *s, const char *what, unsigned long max, unsigned long *out);
int parse_pid(const char *s, pid_t *out);
int parse_seconds(const char *s, double *out);

#endif
