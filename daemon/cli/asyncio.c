/* asyncio.c - `pybpfctl asyncio`: what blocks a process's event loops.
 * Measured here, from the kernel (report/loops.c), in wall mode: every
 * wait of its threads timed, and what ran in the iterations longer than
 * the threshold kept by stack and reason. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "native/elfcache.h"
#include "report/loops.h"
#include "sys/procfs.h"

#define MAX_DURATION_S	 (24 * 3600.0)
#define MAX_THRESHOLD_MS 600000.0

struct loop_opts {
	pid_t pid;
	double duration, threshold_ms;
	unsigned long rate;
	bool json;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pybpfctl asyncio --pid PID [--duration SECS] [--threshold MS] [--rate HZ] "
		"[--json]\n"
		"\n"
		"What blocks the event loops of a Python process (asyncio's, uvloop's, any\n"
		"thread that waits in epoll, poll or select).  An iteration runs from the\n"
		"return of one wait to the entry of the next; its busy time is that span, on\n"
		"CPU or off it for any reason but the loop's own wait.  An iteration longer\n"
		"than the threshold is a stall (asyncio's slow_callback_duration).  Per loop\n"
		"thread: iterations per second, busy time p50/p99/max, the stalls and their\n"
		"share of the time, and the stacks that ran in them with why (cpu, sleep,\n"
		"socket, file, lock, gil, runqueue, other, db), grouped.  Measured from the\n"
		"kernel; nothing changes in the process.  Runs here, not through pybpfd.\n"
		"\n"
		"options:\n"
		"  -p, --pid PID          process to measure\n"
		"  -d, --duration SECS    how long (default 5)\n"
		"  -t, --threshold MS     a stall is a busy span this long or longer\n"
		"                         (default 100)\n"
		"  -r, --rate HZ          CPU samples per second (default 499)\n"
		"      --json             machine-readable output\n"
		"  -h, --help             this text\n");
}

static int loops_local(const struct loop_opts *o, struct elfcache *elves)
{
	struct pyprocess pp;
	struct recorder r;
	struct loop_stalls stalls = {0};
	char err[512] = "";
	int ret = 1;

	if (pyprocess_inspect(o->pid, elves, &pp, err, sizeof(err)) != PYPROC_OK) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	warn_layout(&pp);
	if (recorder_open(&r, (uint32_t)o->rate, AGG_MODE_WALL, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	if (recorder_add_pid(&r, &pp, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		goto out;
	}
	if (bpfs_loops_start(r.bpf, (uint64_t)(o->threshold_ms * 1e6), loop_stalls_add, &stalls)) {
		fprintf(stderr, "pybpfctl: attaching to the event loops' waits failed: %s\n",
			strerror(errno));
		goto out;
	}
	recorder_begin(&r);
	uint64_t t0 = monotonic_ns();
	if (recorder_measure(&r, o->pid, NULL, o->duration, o->json) == 0) {
		uint64_t t1 = monotonic_ns();
		const char *hooks = bpfs_loop_hooks(r.bpf);
		bpfs_loops_stop(r.bpf);
		struct profile *p = recorder_finish(&r); /* drains the stalls too */
		if (!p) {
			fprintf(stderr, "pybpfctl: out of memory\n");
		} else {
			struct loop_report_input in = {
				.agg = &r.agg,
				.bpf = r.bpf,
				.pp = &pp,
				.stalls = &stalls,
				.seconds = (double)(t1 - t0) / 1e9,
				.start_mono = t0,
				.end_mono = t1,
				.threshold_ms = o->threshold_ms,
				.rate_hz = (uint32_t)o->rate,
				.hooks = hooks,
			};
			loop_report(&in, o->json, stdout);
			profile_free(p);
			free(p);
			ret = 0;
		}
	}
out:
	recorder_close(&r);
	loop_stalls_free(&stalls);
	return ret;
}

static int parse_threshold(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0 && v <= MAX_THRESHOLD_MS)) {
		fprintf(stderr,
			"pybpfctl asyncio: --threshold '%s': a number of milliseconds above 0, "
			"at most %.0f\n",
			s, MAX_THRESHOLD_MS);
		return -1;
	}
	*out = v;
	return 0;
}

int cmd_asyncio(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option opts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"duration", required_argument, NULL, 'd'},
		{"threshold", required_argument, NULL, 't'},
		{"rate", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct loop_opts o = {.duration = 5, .threshold_ms = 100, .rate = 499};
	int c;
	while ((c = getopt_long(argc, argv, "p:d:t:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pid(optarg, &o.pid))
				return EXIT_USAGE;
			break;
		case 'd':
			if (parse_seconds(optarg, MAX_DURATION_S, &o.duration))
				return EXIT_USAGE;
			break;
		case 't':
			if (parse_threshold(optarg, &o.threshold_ms))
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
			usage(stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!o.pid) {
		fprintf(stderr, "pybpfctl asyncio: --pid PID is required\n");
		return EXIT_USAGE;
	}
	struct elfcache *elves = elfcache_new();
	int ret = elves ? loops_local(&o, elves) : 1;
	elfcache_free(elves);
	return ret;
}
