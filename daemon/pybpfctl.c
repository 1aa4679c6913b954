/* pybpfctl - the pybpf command line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control_client.h"
#include "dump.h"
#include "export.h"
#include "memread.h"
#include "pylayout.h"
#include "record.h"
#include "pybpfctl.h"
#include "report.h"

volatile sig_atomic_t stop_requested;
const char *ctl_path;
bool no_daemon;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage_main(FILE *out)
{
	fprintf(out,
		"usage: pybpfctl [--socket PATH] [--no-daemon] COMMAND [OPTIONS]\n"
		"\n"
		"System-wide eBPF profiler for CPython (supported: %s).\n"
		"\n"
		"commands:\n"
		"  record   sample a Python process (or a command) and write a profile\n"
		"  dump     print the current Python stack of every thread of a process\n"
		"  gil      measure a process's GIL: held, contended, waits, culprits\n"
		"  io       where a process's threads wait off CPU, by reason and stack\n"
		"  top      live table of the functions on CPU (like py-spy top)\n"
		"  status   the daemon: uptime, rate, processes, samples, drops, exports\n"
		"  ps       the Python processes the daemon profiles\n"
		"  version  print the version\n"
		"\n"
		"'pybpfctl COMMAND --help' describes each command.\n"
		"\n"
		"When pybpfd runs, record, dump, gil, io and top go through its control\n"
		"socket (%s, or $PYBPF_SOCKET, or --socket PATH); otherwise they load\n"
		"the BPF programs themselves (root needed).  --no-daemon never uses it.\n",
		pylayout_supported(), CTL_DEFAULT_SOCKET);
}

static void usage_record(FILE *out)
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
		"Needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE) and a kernel with BTF.\n");
}

static void usage_dump(FILE *out)
{
	fprintf(out, "usage: pybpfctl dump --pid PID [--json]\n"
		     "\n"
		     "Prints the current Python stack of every thread of a CPython process, with\n"
		     "thread names, states and line numbers, innermost frame first.\n"
		     "\n"
		     "options:\n"
		     "  -p, --pid PID   process to inspect\n"
		     "      --json      machine-readable output\n"
		     "  -h, --help      this text\n");
}

/* Says once where the process's own debug offsets corrected the table. */
static void warn_layout(const struct pyprocess *pp)
{
	if (pp->layout_note[0])
		fprintf(stderr, "pybpfctl: pid %d, CPython %u.%u.%u: %s\n", (int)pp->pid, pp->major,
			pp->minor, pp->micro, pp->layout_note);
}

int parse_uint(const char *s, const char *what, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > max) {
		fprintf(stderr, "pybpfctl: invalid %s '%s'\n", what, s);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_pid(const char *s, pid_t *out)
{
	unsigned long v;
	if (parse_uint(s, "pid", 0x3fffffff, &v))
		return -1;
	if (!v) {
		fprintf(stderr, "pybpfctl: invalid pid '%s' (a process id, > 0)\n", s);
		return -1;
	}
	*out = (pid_t)v;
	return 0;
}

int parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || !*s || *end || v <= 0 || v > 86400 * 365) {
		fprintf(stderr, "pybpfctl: invalid duration '%s' (seconds, > 0)\n", s);
		return -1;
	}
	*out = v;
	return 0;
}

static int format_from_path(const char *path)
{
	size_t n = strlen(path);
#define ENDS(s) (n >= strlen(s) && strcmp(path + n - strlen(s), s) == 0)
	if (ENDS(".svg"))
		return EXPORT_SVG;
	if (ENDS(".collapsed") || ENDS(".folded") || ENDS(".txt"))
		return EXPORT_COLLAPSED;
	if (ENDS(".json") || ENDS(".speedscope"))
		return EXPORT_SPEEDSCOPE;
#undef ENDS
	return EXPORT_PPROF;
}

static int parse_record(int argc, char **argv, struct record_opts *o)
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
			o->mode = agg_mode_parse(optarg);
			if (o->mode < 0) {
				fprintf(stderr,
					"pybpfctl: unknown mode '%s' (cpu, wall, offcpu, gil)\n",
					optarg);
				return -1;
			}
			break;
		case 'p':
			if (parse_pid(optarg, &o->pid))
				return -1;
			break;
		case 'd':
			if (parse_seconds(optarg, &o->duration))
				return -1;
			break;
		case 'r':
			if (parse_uint(optarg, "rate", 10000, &o->rate) || !o->rate)
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
			usage_record(stdout);
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
		o->format = format_from_path(o->output);
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

static bool process_gone(pid_t pid, pid_t child, int *status)
{
	if (child > 0)
		return waitpid(child, status, WNOHANG) == child;
	return kill(pid, 0) != 0 && errno == ESRCH;
}

/* Waits until the launched command's interpreter is initialised. */
static int wait_for_python(pid_t pid, struct pyprocess *pp, int *status, bool *exited)
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
		r = pyprocess_inspect(pid, pp, err, sizeof(err));
		if (r == PYPROC_OK)
			return 0;
		if (r == PYPROC_UNSUPPORTED || (r == PYPROC_NOT_PYTHON && i > 300))
			break;
		usleep(10000);
	}
	fprintf(stderr, "pybpfctl: %s\n", err[0] ? err : "interrupted");
	return -1;
}

static void progress(const struct record_opts *o, struct recorder *r, bool final)
{
	static uint64_t last;
	bool tty = isatty(STDERR_FILENO);
	uint64_t now = monotonic_ns();
	if (o->quiet || (!final && now - last < (tty ? 500000000ULL : 5000000000ULL)))
		return;
	last = now;
	struct recorder_stats st;
	if (recorder_stats(r, &st))
		return;
	fprintf(stderr, "%s[pybpf] %.1fs  %llu samples  %llu dropped%s", tty ? "\r" : "",
		(double)(now - r->start_mono) / 1e9, (unsigned long long)st.bpf[STAT_RECORDED],
		(unsigned long long)recorder_dropped(&st), tty && !final ? "   " : "\n");
}

static void print_summary(const struct record_opts *o, const struct recorder_stats *st,
			  const struct profile *p, const struct pyprocess *pp)
{
	FILE *out = o->json ? stdout : stderr;
	if (o->json) {
		fprintf(out,
			"{\"pid\": %d, \"python\": \"%u.%u.%u\", \"output\": \"%s\", "
			"\"format\": \"%s\", \"mode\": \"%s\", \"rate_hz\": %lu, "
			"\"duration_s\": %.3f, "
			"\"samples\": %llu, \"unknown_stack\": %llu, \"unknown_code\": %llu",
			(int)pp->pid, pp->major, pp->minor, pp->micro, o->output,
			export_format_name(o->format), agg_mode_name((enum agg_mode)o->mode),
			o->rate, (double)p->duration_ns / 1e9, (unsigned long long)p->total_count,
			(unsigned long long)st->agg.unknown_stack,
			(unsigned long long)st->agg.unknown_code);
		for (int i = 0; i < STAT__COUNT; i++)
			fprintf(out, ", \"%s\": %llu", bpfs_stat_name(i),
				(unsigned long long)st->bpf[i]);
		fprintf(out, ", \"bpf_run_ns\": %llu, \"bpf_run_count\": %llu",
			(unsigned long long)st->bpf_run_ns, (unsigned long long)st->bpf_run_cnt);
		fprintf(out, "}\n");
		return;
	}
	if (o->quiet)
		return;
	fprintf(out, "[pybpf] wrote %s (%s): %llu samples of pid %d (CPython %u.%u.%u) in %.1fs\n",
		o->output, export_format_name(o->format), (unsigned long long)p->total_count,
		(int)pp->pid, pp->major, pp->minor, pp->micro, (double)p->duration_ns / 1e9);
	uint64_t dropped = recorder_dropped(st);
	if (dropped || st->bpf[STAT_TRUNCATED] || st->bpf[STAT_PY_FAULT] || st->agg.unknown_code)
		fprintf(out,
			"[pybpf] dropped %llu (ring buffer full %llu, counts map full %llu, "
			"stack lost %llu); truncated stacks %llu; Python read faults %llu; "
			"unknown code objects %llu\n",
			(unsigned long long)dropped, (unsigned long long)st->bpf[STAT_DROP_RINGBUF],
			(unsigned long long)st->bpf[STAT_DROP_COUNTS],
			(unsigned long long)st->agg.unknown_stack,
			(unsigned long long)st->bpf[STAT_TRUNCATED],
			(unsigned long long)st->bpf[STAT_PY_FAULT],
			(unsigned long long)st->agg.unknown_code);
}

static int record_loop(const struct record_opts *o, struct recorder *r, pid_t pid, pid_t child,
		       int *status)
{
	uint64_t end = o->duration > 0 ? r->start_mono + (uint64_t)(o->duration * 1e9) : 0;
	while (!stop_requested) {
		if (recorder_step(r, 100) < 0) {
			fprintf(stderr, "pybpfctl: reading from the BPF program failed\n");
			return -1;
		}
		progress(o, r, false);
		if (end && monotonic_ns() >= end)
			break;
		if (process_gone(pid, child, status))
			break;
	}
	return 0;
}

/* pybpfd runs: it records; a COMMAND is started here and found by it. */
static int record_via_daemon(int fd, struct record_opts *o)
{
	pid_t child = -1;
	int go = -1, status = 0;
	if (o->command) {
		child = spawn_held(o->command, &go);
		if (child < 0) {
			fprintf(stderr, "pybpfctl: cannot start %s: %s\n", o->command[0],
				strerror(errno));
			close(fd);
			return 1;
		}
		if (write(go, "g", 1) != 1 || close(go))
			return 1;
		o->pid = child;
	}
	int r = remote_record(fd, o, child);
	if (child > 0) {
		if (r != 0 || stop_requested)
			kill(child, SIGTERM);
		waitpid(child, &status, 0);
	}
	return r;
}

static int cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct recorder r;
	struct pyprocess pp;
	char err[512] = "";
	int go = -1, status = 0, ret = 1;
	bool exited = false;
	pid_t child = -1;

	if (parse_record(argc, argv, &o))
		return EXIT_USAGE;
	int dfd = daemon_connect();
	if (dfd >= 0)
		return record_via_daemon(dfd, &o);
	if (o.pid) {
		enum pyprocess_result pr = pyprocess_inspect(o.pid, &pp, err, sizeof(err));
		if (pr != PYPROC_OK) {
			fprintf(stderr, "pybpfctl: %s\n", err);
			return 1;
		}
		warn_layout(&pp);
	}
	if (recorder_open(&r, (uint32_t)o.rate, (enum agg_mode)o.mode, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	if (o.command) {
		child = spawn_held(o.command, &go);
		if (child < 0) {
			fprintf(stderr, "pybpfctl: cannot start %s: %s\n", o.command[0],
				strerror(errno));
			goto out;
		}
		if (write(go, "g", 1) != 1 || close(go))
			goto out;
		o.pid = child;
		if (wait_for_python(child, &pp, &status, &exited))
			goto out;
		warn_layout(&pp);
	}
	if (recorder_add_pid(&r, &pp, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		goto out;
	}
	if (record_loop(&o, &r, o.pid, child, &status))
		goto out;
	progress(&o, &r, true);
	struct profile *p = recorder_finish(&r);
	if (!p) {
		fprintf(stderr, "pybpfctl: out of memory building the profile\n");
		goto out;
	}
	char title[256];
	snprintf(title, sizeof(title), "pybpf: pid %d, CPython %u.%u.%u, %u Hz", (int)o.pid,
		 pp.major, pp.minor, pp.micro, p->rate_hz);
	if (export_write_file(p, o.format, o.output, title)) {
		fprintf(stderr, "pybpfctl: writing %s failed: %s\n", o.output, strerror(errno));
	} else {
		struct recorder_stats st;
		recorder_stats(&r, &st);
		print_summary(&o, &st, p, &pp);
		ret = 0;
	}
	profile_free(p);
	free(p);
out:
	if (child > 0 && !exited) {
		if (ret != 0 || stop_requested)
			kill(child, SIGTERM);
		waitpid(child, &status, 0);
	}
	recorder_close(&r);
	return ret;
}

static int cmd_dump(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option opts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long pid = 0;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		if (c == 'p' && !parse_uint(optarg, "pid", 0x3fffffff, &pid))
			continue;
		if (c == OPT_JSON) {
			json = true;
			continue;
		}
		if (c == 'h') {
			usage_dump(stdout);
			return 0;
		}
		return EXIT_USAGE;
	}
	if (!pid) {
		fprintf(stderr, "pybpfctl dump: --pid PID is required\n");
		return EXIT_USAGE;
	}
	int dfd = daemon_connect();
	if (dfd >= 0)
		return remote_dump(dfd, (pid_t)pid, json);
	struct pyprocess pp;
	struct dump d;
	char err[512] = "";
	if (pyprocess_inspect((pid_t)pid, &pp, err, sizeof(err)) != PYPROC_OK ||
	    dump_process(&pp, &d, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	if (json)
		dump_print_json(&pp, &d, stdout);
	else
		dump_print_text(&pp, &d, stdout);
	dump_free(&d);
	return 0;
}

/* Records pid in wall mode for o->duration, then prints the GIL or the
 * off-CPU report. */
static int run_report(struct record_opts *o, bool gil)
{
	struct pyprocess pp;
	struct recorder r;
	char err[512] = "";
	int status = 0, ret = 1;
	uint64_t sw0 = 0, sw1 = 0;

	if (pyprocess_inspect(o->pid, &pp, err, sizeof(err)) != PYPROC_OK) {
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
	struct report_input in = {.pp = &pp};
	uint64_t sw_addr = pp.gil_addr + pp.layout.gil_switch_number;
	in.have_switches = pp.gil_addr && !mem_read_u64(pp.pid, sw_addr, &sw0);
	if (record_loop(o, &r, pp.pid, -1, &status))
		goto out;
	in.have_switches = in.have_switches && !mem_read_u64(pp.pid, sw_addr, &sw1);
	in.switches = sw1 - sw0;
	progress(o, &r, true);
	struct profile *p = recorder_finish(&r);
	if (!p) {
		fprintf(stderr, "pybpfctl: out of memory\n");
		goto out;
	}
	in.seconds = (double)p->duration_ns / 1e9;
	report_collect(&in, &r);
	if (gil)
		report_gil(&in, o->json, stdout);
	else
		report_io(&in, o->json, stdout);
	profile_free(p);
	free(p);
	ret = 0;
out:
	recorder_close(&r);
	return ret;
}

static void usage_report(FILE *out, const char *cmd)
{
	if (!strcmp(cmd, "gil"))
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
			"verdict.  GIL waits are futex waits on the GIL's own condition variable "
			"or\n"
			"mutex, seen at every context switch; holding is read from the GIL at "
			"every\n"
			"sample (--rate, default 499 Hz).\n");
	else
		fprintf(out,
			"usage: pybpfctl io --pid PID [--duration SECS] [--rate HZ] [--json]\n"
			"\n"
			"Where the threads of a CPython process spend their time: on CPU, or off "
			"CPU\n"
			"by reason (gil, lock, socket, file, sleep, runqueue, other: from the\n"
			"syscall each thread blocks in and its arguments), with the top Python\n"
			"stacks of each reason.\n");
	fprintf(out, "\n"
		     "options:\n"
		     "  -p, --pid PID          process to measure\n"
		     "  -d, --duration SECS    how long (default 5)\n"
		     "  -r, --rate HZ          CPU samples per second (default 499)\n"
		     "      --json             machine-readable output\n"
		     "  -h, --help             this text\n");
}

/* `pybpfctl gil` and `pybpfctl io`: record a process in wall mode for a
 * while, then report. */
static int cmd_report(int argc, char **argv, bool gil)
{
	enum { OPT_JSON = 256 };
	static const struct option opts[] = {
		{"pid", required_argument, NULL, 'p'},	{"duration", required_argument, NULL, 'd'},
		{"rate", required_argument, NULL, 'r'}, {"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},	{NULL, 0, NULL, 0},
	};
	struct record_opts o = {.rate = 499, .duration = 5, .output = "-"};
	const char *name = gil ? "gil" : "io";
	int c;
	while ((c = getopt_long(argc, argv, "p:d:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pid(optarg, &o.pid))
				return EXIT_USAGE;
			break;
		case 'd':
			if (parse_seconds(optarg, &o.duration))
				return EXIT_USAGE;
			break;
		case 'r':
			if (parse_uint(optarg, "rate", 10000, &o.rate) || !o.rate)
				return EXIT_USAGE;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'h':
			usage_report(stdout, name);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!o.pid) {
		fprintf(stderr, "pybpfctl %s: --pid PID is required\n", name);
		return EXIT_USAGE;
	}
	o.quiet = o.json;
	int dfd = daemon_connect();
	if (dfd >= 0)
		return remote_report(dfd, &o, gil);
	return run_report(&o, gil);
}

int daemon_connect(void)
{
	if (no_daemon)
		return -1;
	int fd = ctl_connect(ctl_path);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		fprintf(stderr,
			"pybpfctl: pybpfd runs but its socket %s is not yours to use (join the "
			"group pybpf); loading BPF here instead\n",
			ctl_path);
	return fd;
}

/* --socket PATH and --no-daemon before the command. */
static int global_options(int *argc, char ***argv)
{
	const char *path = NULL;
	while (*argc > 1 && (*argv)[1][0] == '-') {
		const char *a = (*argv)[1];
		if (!strcmp(a, "--no-daemon")) {
			no_daemon = true;
		} else if (!strcmp(a, "--socket") && *argc > 2) {
			path = (*argv)[2];
			(*argc)--;
			(*argv)++;
		} else if (!strncmp(a, "--socket=", 9)) {
			path = a + 9;
		} else {
			break;
		}
		(*argc)--;
		(*argv)++;
	}
	ctl_path = ctl_socket_path(path);
	return 0;
}

int main(int argc, char **argv)
{
	global_options(&argc, &argv);
	if (argc < 2) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage_main(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("pybpfctl %s\n", PYBPF_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "record"))
		return cmd_record(argc - 1, argv + 1);
	if (!strcmp(cmd, "dump"))
		return cmd_dump(argc - 1, argv + 1);
	if (!strcmp(cmd, "gil") || !strcmp(cmd, "io"))
		return cmd_report(argc - 1, argv + 1, !strcmp(cmd, "gil"));
	if (!strcmp(cmd, "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "ps"))
		return cmd_ps(argc - 1, argv + 1);
	if (!strcmp(cmd, "top"))
		return cmd_top(argc - 1, argv + 1);
	fprintf(stderr, "pybpfctl: unknown command '%s'\n\n", cmd);
	usage_main(stderr);
	return EXIT_USAGE;
}
