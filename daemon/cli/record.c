/* record.c - `pybpfctl record`: sample a process (or a command it starts)
 * and write a profile, with BPF loaded here or through pybpfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "export/export.h"
#include "native/elfcache.h"
#include "sys/fileio.h"

#define MAX_DURATION_S (86400.0 * 365)

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

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pybpfctl record --pid PID [OPTIONS] -o FILE\n"
		"       pybpfctl record [OPTIONS] -o FILE -- COMMAND [ARGS...]\n"
		"\n"
		"Samples every thread of a CPython process on CPU in the kernel and writes\n"
		"a symbolized profile (Python functions, files and lines, with native and\n"
		"kernel frames).  With a COMMAND, runs it and profiles it until it exits.\n"
		"\n"
		"options:\n"
		"  -p, --pid PID         process to profile\n"
		"  -d, --duration SECS   stop after SECS seconds (default: until the process\n"
		"                        exits or Ctrl-C)\n"
		"  -r, --rate HZ         samples per second per CPU (default 99, max 10000)\n"
		"  -m, --mode MODE       cpu (default): time on CPU;  wall: on CPU and off CPU,\n"
		"                        every thread;  offcpu: time off CPU;  gil: time waiting\n"
		"                        for the GIL.  Off-CPU samples carry a reason label\n"
		"                        (gil, lock, socket, file, sleep, runqueue, other)\n"
		"  -o, --output FILE     where to write the profile ('-' for stdout)\n"
		"  -f, --format FMT      pprof (gzip'd profile.proto), collapsed, svg or\n"
		"                        speedscope (default: from FILE's extension, else pprof)\n"
		"  -q, --quiet           no progress line\n"
		"      --json            print a JSON summary on stdout at the end\n"
		"  -h, --help            this text\n"
		"\n"
		"Needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE) and a kernel with BTF,\n"
		"unless pybpfd runs: then it records, and only its socket is needed.\n");
}

static int parse(int argc, char **argv, struct record_opts *o)
{
	enum { OPT_JSON = 256 };
	static const struct option opts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"duration", required_argument, NULL, 'd'},
		{"rate", required_argument, NULL, 'r'},
		{"output", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f'},
		{"quiet", no_argument, NULL, 'q'},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{"mode", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	int c;
	*o = (struct record_opts){.rate = 99, .format = -1};
	while ((c = getopt_long(argc, argv, "+p:d:r:o:f:m:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if ((o->mode = parse_mode(optarg)) < 0)
				return -1;
			break;
		case 'p':
			if (parse_pid(optarg, &o->pid))
				return -1;
			break;
		case 'd':
			if (parse_seconds(optarg, MAX_DURATION_S, &o->duration))
				return -1;
			break;
		case 'r':
			if (parse_rate(optarg, &o->rate))
				return -1;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'f':
			o->format = export_format_parse(optarg);
			if (o->format < 0) {
				fprintf(stderr,
					"pybpfctl: unknown format '%s' (pprof, collapsed, svg, "
					"speedscope)\n",
					optarg);
				return -1;
			}
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind < argc)
		o->command = &argv[optind];
	if (!o->output) {
		fprintf(stderr, "pybpfctl record: -o FILE is required\n");
		return -1;
	}
	if (!o->pid == !o->command) {
		fprintf(stderr, "pybpfctl record: give either --pid PID or -- COMMAND\n");
		return -1;
	}
	if (o->format < 0)
		o->format = (int)export_format_from_path(o->output);
	return 0;
}

/* Forks COMMAND stopped before exec; *go releases it. */
static pid_t spawn_held(char **argv, int *go)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char b;
		close(fds[1]);
		if (read(fds[0], &b, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "pybpfctl: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	*go = fds[1];
	return pid;
}

/* Starts o->command and lets it run; its pid, or -1 (said). */
static pid_t start_command(struct record_opts *o)
{
	int go = -1;
	pid_t child = spawn_held(o->command, &go);
	if (child < 0) {
		fprintf(stderr, "pybpfctl: cannot start %s: %s\n", o->command[0], strerror(errno));
		return -1;
	}
	if (write(go, "g", 1) != 1 || close(go))
		return -1;
	o->pid = child;
	return child;
}

static bool process_gone(pid_t pid, pid_t child, int *status)
{
	if (child > 0)
		return waitpid(child, status, WNOHANG) == child;
	return kill(pid, 0) != 0 && errno == ESRCH;
}

/* Waits until the launched command's interpreter is initialised. */
static int wait_for_python(pid_t pid, struct elfcache *elves, struct pyprocess *pp, int *status,
			   bool *exited)
{
	char err[512] = "";
	enum pyprocess_result r = PYPROC_NOT_PYTHON;
	for (int i = 0; i < 1000 && !stop_requested; i++) { /* 10 s */
		if (process_gone(pid, pid, status)) {
			*exited = true;
			fprintf(stderr, "pybpfctl: pid %d exited before its interpreter started\n",
				(int)pid);
			return -1;
		}
		r = pyprocess_inspect(pid, elves, pp, err, sizeof(err));
		if (r == PYPROC_OK)
			return 0;
		if (r == PYPROC_UNSUPPORTED || (r == PYPROC_NOT_PYTHON && i > 300))
			break;
		usleep(10000);
	}
	fprintf(stderr, "pybpfctl: %s\n", err[0] ? err : "interrupted");
	return -1;
}

static int record_loop(const struct record_opts *o, struct recorder *r, struct progress *pr,
		       pid_t child, int *status)
{
	uint64_t end = o->duration > 0 ? r->start_mono + (uint64_t)(o->duration * 1e9) : 0;
	while (!stop_requested) {
		if (recorder_step(r, 100) < 0) {
			fprintf(stderr, "pybpfctl: reading from the BPF program failed\n");
			return -1;
		}
		progress_recorder(pr, r, "recording", false);
		if (end && monotonic_ns() >= end)
			break;
		if (process_gone(o->pid, child, status))
			break;
	}
	return 0;
}

static void local_summary(const struct record_opts *o, const struct recorder_stats *st,
			  const struct profile *p, const struct pyprocess *pp)
{
	char python[32];
	snprintf(python, sizeof(python), "%u.%u.%u", pp->major, pp->minor, pp->micro);
	struct record_summary s = {
		.pid = pp->pid,
		.python = python,
		.output = o->output,
		.format = export_format_name((enum export_format)o->format),
		.mode = agg_mode_name((enum agg_mode)o->mode),
		.rate_hz = (unsigned)o->rate,
		.duration_s = (double)p->duration_ns / 1e9,
		.samples = p->total_count,
		.via = "local",
		.unknown_code = st->agg.unknown_code,
		.st = st,
	};
	s.ndrops = recorder_drops(st, s.drops);
	print_record_summary(&s, o->json, o->quiet);
}

/* The recording itself, once the process is known. */
static int record_local(struct record_opts *o, struct recorder *r, struct pyprocess *pp,
			pid_t child, int *status)
{
	char err[512] = "", title[256];
	struct progress pr;
	int ret = 1;
	if (recorder_add_pid(r, pp, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	progress_init(&pr, o->quiet);
	if (record_loop(o, r, &pr, child, status))
		return 1;
	progress_recorder(&pr, r, "recording", true);
	struct profile *p = recorder_finish(r);
	if (!p) {
		fprintf(stderr, "pybpfctl: out of memory building the profile\n");
		return 1;
	}
	snprintf(title, sizeof(title), "pybpf: pid %d, CPython %u.%u.%u, %u Hz", (int)o->pid,
		 pp->major, pp->minor, pp->micro, p->rate_hz);
	if (export_write_file(p, (enum export_format)o->format, o->output, title)) {
		fprintf(stderr, "pybpfctl: writing %s failed: %s\n", o->output, strerror(errno));
	} else {
		struct recorder_stats st;
		recorder_stats(r, &st);
		local_summary(o, &st, p, pp);
		ret = 0;
	}
	profile_free(p);
	free(p);
	return ret;
}

static int run_local(struct record_opts *o)
{
	struct recorder r;
	struct pyprocess pp;
	char err[512] = "";
	int status = 0, ret = 1;
	bool exited = false;
	pid_t child = -1;
	struct elfcache *elves = elfcache_new();

	if (!elves)
		return 1;
	if (o->pid) {
		if (pyprocess_inspect(o->pid, elves, &pp, err, sizeof(err)) != PYPROC_OK) {
			fprintf(stderr, "pybpfctl: %s\n", err);
			elfcache_free(elves);
			return 1;
		}
		warn_layout(&pp);
	}
	if (recorder_open(&r, (uint32_t)o->rate, (enum agg_mode)o->mode, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		elfcache_free(elves);
		return 1;
	}
	if (o->command) {
		child = start_command(o);
		if (child < 0 || wait_for_python(child, elves, &pp, &status, &exited))
			goto out;
		warn_layout(&pp);
	}
	ret = record_local(o, &r, &pp, child, &status);
out:
	if (child > 0 && !exited) {
		if (ret != 0 || stop_requested)
			kill(child, SIGTERM);
		waitpid(child, &status, 0);
	}
	recorder_close(&r);
	elfcache_free(elves);
	return ret;
}

/* --- through pybpfd ----------------------------------------------------------- */

static void remote_summary(const struct record_opts *o, const Pybpf__Control__RecordSummary *rs)
{
	struct record_summary s = {
		.pid = o->pid,
		.python = rs && rs->python ? rs->python : "",
		.output = o->output,
		.format = export_format_name((enum export_format)o->format),
		.mode = agg_mode_name((enum agg_mode)o->mode),
		.rate_hz = rs ? rs->rate_hz : 0,
		.duration_s = rs ? rs->duration_s : 0,
		.samples = rs ? rs->samples : 0,
		.via = "pybpfd",
	};
	for (size_t i = 0; rs && i < rs->n_drops && s.ndrops < RECORDER_MAX_DROPS; i++)
		s.drops[s.ndrops++] =
			(struct recorder_drop){rs->drops[i]->name, rs->drops[i]->value};
	s.unknown_code = rs ? rs->unknown_code : 0;
	print_record_summary(&s, o->json, o->quiet);
}

static int record_remote(int fd, const struct record_opts *o)
{
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	Pybpf__Control__RecordRequest rec = PYBPF__CONTROL__RECORD_REQUEST__INIT;
	uint32_t pid = (uint32_t)o->pid;
	char title[128];
	snprintf(title, sizeof(title), "pybpf: pid %d", (int)o->pid);
	rec.pids = &pid;
	rec.n_pids = 1;
	rec.duration_s = o->duration;
	rec.mode = (char *)agg_mode_name((enum agg_mode)o->mode);
	rec.format = (char *)export_format_name((enum export_format)o->format);
	rec.title = title;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_RECORD;
	rq.record = &rec;
	if (o->rate != 99 && !o->quiet)
		fprintf(stderr, "pybpfctl: pybpfd samples at its own rate; --rate is ignored\n");
	Pybpf__Control__Response *r = daemon_call(fd, &rq, o->quiet ? NULL : "recording");
	close(fd);
	if (!r)
		return 1;
	int ret = 0;
	struct iovec iov = {r->data.data, r->data.len};
	if (output_write(o->output, 0644, &iov, 1)) {
		fprintf(stderr, "pybpfctl: writing %s failed: %s\n", o->output, strerror(errno));
		ret = 1;
	} else {
		remote_summary(o, r->summary);
	}
	pybpf__control__response__free_unpacked(r, NULL);
	return ret;
}

/* pybpfd runs: it records; a COMMAND is started here and found by it. */
static int run_remote(int fd, struct record_opts *o)
{
	pid_t child = -1;
	int status = 0;
	if (o->command) {
		child = start_command(o);
		if (child < 0) {
			close(fd);
			return 1;
		}
	}
	int r = record_remote(fd, o);
	if (child > 0) {
		if (r != 0 || stop_requested)
			kill(child, SIGTERM);
		waitpid(child, &status, 0);
	}
	return r;
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o;
	if (parse(argc, argv, &o))
		return EXIT_USAGE;
	int fd = daemon_connect();
	return fd >= 0 ? run_remote(fd, &o) : run_local(&o);
}
