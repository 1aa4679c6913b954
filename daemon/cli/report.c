/* report.c - `pybpfctl gil` and `pybpfctl io`: record a process in wall
 * mode for a while, here or through pybpfd, then print the GIL or the
 * off-CPU report (report/gil_io.c makes both). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "native/elfcache.h"
#include "report/report.h"
#include "sys/procfs.h"

#define MAX_DURATION_S (24 * 3600.0)

struct report_opts {
	pid_t pid;
	double duration;
	unsigned long rate;
	bool json;
};

static void usage(FILE *out, bool gil)
{
	if (gil)
		fprintf(out,
			"usage: pybpfctl gil --pid PID [--duration SECS] [--rate HZ] [--json]\n"
			"\n"
			"Measures the GIL of a CPython process: how much of the time it is held,\n"
			"held while others wait (contended), held by a thread that is off CPU, "
			"the\n"
			"average number of waiting threads, acquisitions per second and the wait\n"
			"latency (p50, p99, max); then per thread the time on CPU, holding and\n"
			"waiting, and the stacks that wait and that hold while others wait; then "
			"a\n"
			"verdict.  GIL waits are futex waits on the GIL's own condition variables\n"
			"and mutexes, seen at every context switch (a thread woken for the GIL "
			"that\n"
			"waits in the run queue still waits for it); where the interpreter names\n"
			"take_gil and drop_gil (a build with symbols, or its debug file "
			"installed),\n"
			"uprobes on them also time every acquisition exactly while the report\n"
			"runs (\"waits*\", \"take_gil\" lines).  Holding is read from the GIL at\n"
			"every sample (--rate, default 499 Hz).\n");
	else
		fprintf(out,
			"usage: pybpfctl io --pid PID [--duration SECS] [--rate HZ] [--json]\n"
			"\n"
			"Where the threads of a CPython process spend their time: on CPU, or off "
			"CPU\n"
			"by reason (gil, lock, socket, file, sleep, runqueue, other: from the\n"
			"syscall each thread blocks in and its arguments; db: any wait inside\n"
			"a database client library's call), with the top Python stacks of each\n"
			"reason.\n");
	fprintf(out, "\n"
		     "options:\n"
		     "  -p, --pid PID          process to measure\n"
		     "  -d, --duration SECS    how long (default 5)\n"
		     "  -r, --rate HZ          CPU samples per second (default 499)\n"
		     "      --json             machine-readable output\n"
		     "  -h, --help             this text\n");
}

static int report_local(const struct report_opts *o, bool gil, struct elfcache *elves)
{
	struct pyprocess pp;
	struct recorder r;
	struct report_baseline base;
	char err[512] = "";
	int ret = 1;

	if (pyprocess_inspect(o->pid, elves, &pp, err, sizeof(err)) != PYPROC_OK) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	warn_layout(&pp);
	if (gil && !pp.gil_addr)
		fprintf(stderr, "pybpfctl: pid %d: the GIL could not be located\n", (int)pp.pid);
	if (recorder_open(&r, (uint32_t)o->rate, AGG_MODE_WALL, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	if (recorder_add_pid(&r, &pp, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		goto out;
	}
	/* the exact signal, where the interpreter names take_gil */
	if (gil && pp.take_gil_off && bpfs_attach_gil_takes(r.bpf, &pp))
		fprintf(stderr,
			"pybpfctl: pid %d: uprobes on take_gil failed (%s); futex signal only\n",
			(int)pp.pid, strerror(errno));
	recorder_begin(&r);
	if (report_baseline_take(&base, r.bpf, &r.agg, &pp))
		goto out;
	if (recorder_measure(&r, o->pid, NULL, o->duration, o->json) == 0) {
		struct profile *p = recorder_finish(&r);
		if (!p) {
			fprintf(stderr, "pybpfctl: out of memory\n");
		} else {
			struct report_input in;
			report_collect(&in, &r.agg, &r.agg.waits, r.bpf, &pp, &base, NULL,
				       (double)p->duration_ns / 1e9);
			(gil ? report_gil : report_io)(&in, o->json, stdout);
			profile_free(p);
			free(p);
			ret = 0;
		}
	}
	report_baseline_free(&base);
out:
	recorder_close(&r);
	return ret;
}

static int report_remote(int fd, const struct report_opts *o, bool gil)
{
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	Pybpf__Control__ReportRequest rep = PYBPF__CONTROL__REPORT_REQUEST__INIT;
	rep.pid = (uint32_t)o->pid;
	rep.duration_s = o->duration;
	rep.gil = gil;
	rep.json = o->json;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_REPORT;
	rq.report = &rep;
	Pybpf__Control__Response *r = daemon_call(fd, &rq, o->json ? NULL : "measuring");
	close(fd);
	return r ? print_response_data(r) : 1;
}

int cmd_report(int argc, char **argv, bool gil)
{
	enum { OPT_JSON = 256 };
	static const struct option opts[] = {
		{"pid", required_argument, NULL, 'p'},	{"duration", required_argument, NULL, 'd'},
		{"rate", required_argument, NULL, 'r'}, {"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},	{NULL, 0, NULL, 0},
	};
	struct report_opts o = {.rate = 499, .duration = 5};
	int c;
	while ((c = getopt_long(argc, argv, "p:d:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pid(optarg, &o.pid))
				return EXIT_USAGE;
			break;
		case 'd':
			if (parse_seconds(optarg, MAX_DURATION_S, &o.duration))
				return EXIT_USAGE;
			break;
		case 'r':
			if (parse_rate(optarg, &o.rate))
				return EXIT_USAGE;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'h':
			usage(stdout, gil);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!o.pid) {
		fprintf(stderr, "pybpfctl %s: --pid PID is required\n", gil ? "gil" : "io");
		return EXIT_USAGE;
	}
	int fd = daemon_connect();
	if (fd >= 0)
		return report_remote(fd, &o, gil);
	struct elfcache *elves = elfcache_new();
	int ret = elves ? report_local(&o, gil, elves) : 1;
	elfcache_free(elves);
	return ret;
}
