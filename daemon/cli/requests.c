/* requests.c - `pybpfctl requests`: a web process's endpoints and where
 * their time goes, and its database statements (report/requests.c).
 * Measured here, in wall mode: every thread on CPU and off it, the
 * database drivers' calls timed in the kernel. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "native/elfcache.h"
#include "report/requests.h"

#define MAX_DURATION_S (24 * 3600.0)

struct requests_opts {
	pid_t pid;
	double duration;
	unsigned long rate;
	bool json, sql_text;
	bool subprocesses; /* the process's whole tree: a server's workers */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pybpfctl requests --pid PID [--subprocesses] [--duration SECS] [--rate "
		"HZ]\n"
		"                         [--no-sql-text] [--json]\n"
		"\n"
		"Where the endpoints of a web process (Django, Flask, FastAPI, any WSGI or\n"
		"ASGI application: the `endpoint` label) spend their threads' time: on CPU,\n"
		"waiting for the GIL, for the database (db: inside a database client\n"
		"library's call), other I/O (socket, file), locks, sleeps; and its database\n"
		"statements by total time, as templates (literals made '?' in the kernel),\n"
		"with their calls' count, p50/p99/max latency and the endpoint they ran\n"
		"under.  Measured from the kernel; nothing changes in the process.  Runs\n"
		"here, not through pybpfd.  HTTP/1.x requests are seen at the socket: the\n"
		"read of a request line starts one, the write of the status line of its\n"
		"response ends it; they are counted, timed (p50/p99/max latency) and named\n"
		"by route (GET /orders/?: no query, numbers and ids made ?) and by the\n"
		"endpoint whose stacks were sampled while they ran.\n"
		"\n"
		"options:\n"
		"  -p, --pid PID          process to measure\n"
		"  -s, --subprocesses     and every Python process below it, started before or\n"
		"                         during the measure (a gunicorn or uvicorn master:\n"
		"                         all its workers, their requests and statements\n"
		"                         added up)\n"
		"  -d, --duration SECS    how long (default 5)\n"
		"  -r, --rate HZ          CPU samples per second (default 499)\n"
		"      --no-sql-text      read no statement: time only, no `sql` anywhere\n"
		"      --json             machine-readable output\n"
		"  -h, --help             this text\n");
}

static const char *stack_endpoint(void *ctx, uint64_t hash)
{
	return agg_stack_endpoint(ctx, hash);
}

static int requests_local(const struct requests_opts *o, struct elfcache *elves)
{
	struct pyprocess pp;
	struct recorder r;
	char err[512] = "";
	int ret = 1;
	struct http_log http = {.pid = o->subprocesses ? 0 : o->pid};
	struct follow tree, *t = o->subprocesses ? &tree : NULL;
	const char *why = NULL;

	if (pyprocess_inspect(o->pid, elves, &pp, err, sizeof(err)) != PYPROC_OK) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	warn_layout(&pp);
	if (recorder_open(&r, (uint32_t)o->rate, AGG_MODE_WALL, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	bpfs_set_sql_text(r.bpf, o->sql_text);
	if (recorder_add_pid(&r, &pp, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		goto out;
	}
	if (t && follow_start(t, &r, elves, o->pid, true, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: pid %d: following its subprocesses: %s\n", (int)o->pid,
			err);
		follow_free(t);
		t = NULL;
		goto out;
	}
	if (bpfs_http_start(r.bpf, http_log_add, &http)) {
		snprintf(err, sizeof(err), "attaching to sys_enter/sys_exit failed: %s",
			 strerror(errno));
		why = err;
		fprintf(stderr, "pybpfctl: requests not measured: %s\n", why);
	}
	recorder_begin(&r);
	if (recorder_measure(&r, o->pid, t, o->duration, o->json) == 0) {
		bpfs_http_stop(r.bpf);
		bpfs_consume(r.bpf); /* the last requests answered */
		if (!why && http_log_endpoints(&http, stack_endpoint, &r.agg)) {
			fprintf(stderr, "pybpfctl: out of memory\n");
			goto out;
		}
		struct profile *p = recorder_finish(&r);
		if (!p) {
			fprintf(stderr, "pybpfctl: out of memory\n");
			goto out;
		}
		struct requests_input in = {
			.p = p,
			.bpf = r.bpf,
			.pp = &pp,
			.pids = t ? t->pythons : NULL,
			.npids = t ? t->npythons : 0,
			.seconds = (double)p->duration_ns / 1e9,
			.sql_text = o->sql_text,
			.http = why ? NULL : &http,
			.http_why = why,
		};
		if (report_requests(&in, o->json, stdout))
			fprintf(stderr, "pybpfctl: out of memory\n");
		else
			ret = 0;
		profile_free(p);
		free(p);
	}
out:
	if (t)
		follow_free(t);
	recorder_close(&r);
	http_log_free(&http);
	return ret;
}

int cmd_requests(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_NO_SQL };
	static const struct option opts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"duration", required_argument, NULL, 'd'},
		{"rate", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, OPT_JSON},
		{"no-sql-text", no_argument, NULL, OPT_NO_SQL},
		{"subprocesses", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct requests_opts o = {.duration = 5, .rate = 499, .sql_text = true};
	int c;
	while ((c = getopt_long(argc, argv, "p:sd:r:h", opts, NULL)) != -1) {
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
		case 's':
			o.subprocesses = true;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_NO_SQL:
			o.sql_text = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!o.pid) {
		fprintf(stderr, "pybpfctl requests: --pid PID is required\n");
		return EXIT_USAGE;
	}
	struct elfcache *elves = elfcache_new();
	int ret = elves ? requests_local(&o, elves) : 1;
	elfcache_free(elves);
	return ret;
}
