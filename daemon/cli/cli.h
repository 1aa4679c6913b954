/* cli.h - what the pybpfctl commands share: global options, argument
 * parsing, the daemon connection, progress lines and the one record summary.
 * One file per command (record.c, dump.c, report.c, top.c, status.c), each
 * running locally or through pybpfd. */
#ifndef PYBPF_CLI_H
#define PYBPF_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "control/client.h"
#include "python/pyprocess.h"
#include "sampling/follow.h"
#include "sampling/recorder.h"

#define EXIT_USAGE 2

extern volatile sig_atomic_t stop_requested;

/* The daemon's socket (from --socket / $PYBPF_SOCKET), and whether the user
 * said --no-daemon. */
extern const char *ctl_path;
extern bool no_daemon;

/* --- commands ------------------------------------------------------------- */

int cmd_record(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_report(int argc, char **argv, bool gil);
int cmd_top(int argc, char **argv);
int cmd_asyncio(int argc, char **argv);
int cmd_requests(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_ps(int argc, char **argv);

/* --- arguments (opts.c): each prints what is wrong ------------------------- */

int parse_uint(const char *s, const char *what, unsigned long min, unsigned long max,
	       unsigned long *out);
int parse_pid(const char *s, pid_t *out);
/* A duration in seconds, > 0 and at most max. */
int parse_seconds(const char *s, double max, double *out);
int parse_rate(const char *s, unsigned long *out);
/* The mode name (cpu, wall, offcpu, gil), or -1 said. */
int parse_mode(const char *s);

/* --- the daemon (remote.c) ------------------------------------------------- */

/* A connection to pybpfd, or -1 when it does not run (or --no-daemon). */
int daemon_connect(void);
/* As daemon_connect, for commands that need it: says why not. */
int daemon_require(void);
/* Sends rq and waits for the answer (Ctrl-C sends a stop; label names the
 * progress line, NULL for none); prints the daemon's error.  NULL on
 * failure.  Closes nothing. */
Pybpf__Control__Response *daemon_call(int fd, Pybpf__Control__Request *rq, const char *label);
/* Writes a response's data to stdout, frees it; 0 or 1. */
int print_response_data(Pybpf__Control__Response *r);

/* --- output ---------------------------------------------------------------- */

/* A progress line on stderr ("\r" on a terminal, a line every 5 s else). */
struct progress {
	bool quiet, tty;
	uint64_t start, last;
};
void progress_init(struct progress *p, bool quiet);
/* Prints "[pybpf] LABEL 1.2s  TEXT" when due (final: always, and ends it). */
void progress_show(struct progress *p, const char *label, const char *text, bool final);
/* The same with a recorder's samples and drops as the text. */
void progress_recorder(struct progress *p, struct recorder *r, const char *label, bool final);
/* Steps r for `seconds` (or until pid ends, or Ctrl-C) with a "measuring"
 * progress line (none when quiet).  With a tree (--subprocesses): its new
 * processes registered as they come, until none of it is left.  0, or -1
 * said. */
int recorder_measure(struct recorder *r, pid_t pid, struct follow *tree, double seconds,
		     bool quiet);

/* What a recording gives, local or through the daemon. */
struct record_summary {
	pid_t pid;
	bool tree;	   /* --subprocesses: pid's tree */
	const pid_t *pids; /* the Python processes of the tree profiled */
	size_t npids;
	const char *python;		   /* "3.11.2" */
	const char *output[8], *format[8]; /* each file written, and its format */
	size_t noutputs;
	const char *mode;
	unsigned rate_hz;
	double duration_s;
	uint64_t samples;
	const char *via; /* "local" or "pybpfd" */
	struct recorder_drop drops[RECORDER_MAX_DROPS];
	size_t ndrops;
	uint64_t unknown_code;
	const struct recorder_stats *st; /* local runs: every counter; else NULL */
};
/* The one printer: JSON on stdout, or a line on stderr unless quiet. */
void print_record_summary(const struct record_summary *s, bool json, bool quiet);

/* Says once where the process's own debug offsets corrected the table. */
void warn_layout(const struct pyprocess *pp);

#endif
