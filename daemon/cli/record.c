/* record.c - `pybpfctl record`: sample a process (or a command it starts)
 * and write a profile, with BPF loaded here or through pybpfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/command.h"
#include "export/export.h"
#include "native/elfcache.h"
#include "profile/view.h"
#include "sampling/follow.h"
#include "sys/fileio.h"
#include "sys/procfs.h"

#define MAX_DURATION_S (86400.0 * 365)

#define MAX_OUTPUTS 8

struct record_opts {
	pid_t pid;
	int mode;
	double duration;
	unsigned long rate;
	const char *output[MAX_OUTPUTS]; /* one capture, written in each */
	int format[MAX_OUTPUTS];
	size_t noutputs;
	int forced_format; /* -f, or -1 */
	bool quiet, json;
	bool subprocesses; /* the process's whole tree, as it forks and execs */
	bool no_tasks;	   /* stacks without their asyncio task */
	bool no_sql_text;  /* no database statement read */
	struct prof_view view;
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
		"                        (gil, lock, socket, file, sleep, runqueue, other;\n"
		"                        db: waits inside a database driver's call)\n"
		"  -o, --output FILE     where to write the profile ('-' for stdout); given\n"
		"                        several times, the one capture is written to each\n"
		"  -f, --format FMT      pprof (gzip'd profile.proto), collapsed, svg,\n"
		"                        speedscope or chrometrace (Chrome's trace events, each\n"
		"                        thread a flame chart; .trace) (default: from FILE's\n"
		"                        extension, else pprof;\n"
		"                        with several -o, always from the extensions)\n"
		"      --native          every native frame (the interpreter's own too)\n"
		"      --no-native       Python frames only\n"
		"                        (default: the interpreter's own frames - python,\n"
		"                        libpython - folded into the Python frame they run;\n"
		"                        extension, library and kernel frames kept)\n"
		"      --function        a function's lines as one (at its first line)\n"
		"      --nolineno        no line numbers at all\n"
		"      --threads         each thread a root frame\n"
		"      --gil             only the samples of a thread holding the GIL\n"
		"      --idle            cpu mode with the threads off CPU too, each wait\n"
		"                        counted as the samples it lasted (--mode wall is the\n"
		"                        same in nanoseconds, with each wait's reason)\n"
		"      --full-filenames  whole paths in the text formats (svg, collapsed,\n"
		"                        speedscope, chrometrace; by default a file in the\n"
		"                        packages or the standard library is named by its path\n"
		"                        there, as py-spy does: django/core/handlers/base.py;\n"
		"                        pprof always keeps the path)\n"
		"      --no-tasks        no `task` label: the samples of asyncio tasks running\n"
		"                        the same code merge (by default each task has its\n"
		"                        own, labelled with its name and the tasks awaiting\n"
		"                        it, `task_parents`; 3.11+; without pybpfd, whose\n"
		"                        task_labels setting decides)\n"
		"      --no-sql-text     read no database statement: the time of database\n"
		"                        calls stays (reason db), no `sql` label (without\n"
		"                        pybpfd, whose sql_text setting decides)\n"
		"  -s, --subprocesses    every Python process below it too, started before or\n"
		"                        during the capture (fork, multiprocessing, subprocess,\n"
		"                        a shell's children), each sample labelled with its\n"
		"                        pid; the capture ends when the whole tree has exited\n"
		"                        (without pybpfd)\n"
		"  -q, --quiet           no progress line\n"
		"      --json            print a JSON summary on stdout at the end\n"
		"  -h, --help            this text\n"
		"\n"
		"Needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE) and a kernel with BTF,\n"
		"unless pybpfd runs: then it records, and only its socket is needed.\n");
}

static int parse(int argc, char **argv, struct record_opts *o)
{
	enum {
		OPT_JSON = 256,
		OPT_NATIVE,
		OPT_NO_NATIVE,
		OPT_FUNCTION,
		OPT_NOLINENO,
		OPT_THREADS,
		OPT_GIL,
		OPT_IDLE,
		OPT_FULL_FILENAMES,
		OPT_NO_TASKS,
		OPT_NO_SQL_TEXT
	};
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
		{"native", no_argument, NULL, OPT_NATIVE},
		{"no-native", no_argument, NULL, OPT_NO_NATIVE},
		{"function", no_argument, NULL, OPT_FUNCTION},
		{"nolineno", no_argument, NULL, OPT_NOLINENO},
		{"threads", no_argument, NULL, OPT_THREADS},
		{"gil", no_argument, NULL, OPT_GIL},
		{"idle", no_argument, NULL, OPT_IDLE},
		{"subprocesses", no_argument, NULL, 's'},
		{"full-filenames", no_argument, NULL, OPT_FULL_FILENAMES},
		{"no-tasks", no_argument, NULL, OPT_NO_TASKS},
		{"no-sql-text", no_argument, NULL, OPT_NO_SQL_TEXT},
		{NULL, 0, NULL, 0},
	};
	int c;
	*o = (struct record_opts){.rate = 99, .forced_format = -1};
	while ((c = getopt_long(argc, argv, "+p:d:r:o:f:m:qsh", opts, NULL)) != -1) {
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
			if (o->noutputs == MAX_OUTPUTS) {
				fprintf(stderr, "pybpfctl record: at most %d -o\n", MAX_OUTPUTS);
				return -1;
			}
			o->output[o->noutputs++] = optarg;
			break;
		case 'f':
			o->forced_format = export_format_parse(optarg);
			if (o->forced_format < 0) {
				fprintf(stderr,
					"pybpfctl: unknown format '%s' (pprof, collapsed, svg, "
					"speedscope, chrometrace)\n",
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
		case OPT_NATIVE:
			o->view.native = PROF_NATIVE_ALL;
			break;
		case OPT_NO_NATIVE:
			o->view.native = PROF_NATIVE_NONE;
			break;
		case OPT_FUNCTION:
			o->view.function = true;
			break;
		case OPT_NOLINENO:
			o->view.nolineno = true;
			break;
		case OPT_THREADS:
			o->view.threads = true;
			break;
		case OPT_GIL:
			o->view.gil_only = true;
			break;
		case OPT_IDLE:
			o->view.idle = true;
			break;
		case 's':
			o->subprocesses = true;
			break;
		case OPT_FULL_FILENAMES:
			o->view.full_filenames = true;
			break;
		case OPT_NO_TASKS:
			o->no_tasks = true;
			break;
		case OPT_NO_SQL_TEXT:
			o->no_sql_text = true;
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
	if (o->view.idle) {
		if (o->mode != AGG_MODE_CPU) {
			fprintf(stderr,
				"pybpfctl record: --idle is cpu mode's (--mode %s counts "
				"waits already)\n",
				agg_mode_name((enum agg_mode)o->mode));
			return -1;
		}
		o->mode = AGG_MODE_WALL; /* what is sampled; shown as cpu */
	}
	if (!o->noutputs) {
		fprintf(stderr, "pybpfctl record: -o FILE is required\n");
		return -1;
	}
	if (o->noutputs > 1 && o->forced_format >= 0) {
		fprintf(stderr, "pybpfctl record: with several -o, each file's extension says its "
				"format (no -f)\n");
		return -1;
	}
	if (!o->pid == !o->command) {
		fprintf(stderr, "pybpfctl record: give either --pid PID or -- COMMAND\n");
		return -1;
	}
	for (size_t i = 0; i < o->noutputs; i++)
		o->format[i] = o->forced_format >= 0 ? o->forced_format
						     : (int)export_format_from_path(o->output[i]);
	return 0;
}

static bool process_gone(pid_t pid, struct command *child)
{
	if (child)
		return command_gone(child);
	return kill(pid, 0) != 0 && errno == ESRCH;
}

static int record_loop(const struct record_opts *o, struct recorder *r, struct progress *pr,
		       struct command *child, struct follow *tree)
{
	uint64_t end = o->duration > 0 ? r->start_mono + (uint64_t)(o->duration * 1e9) : 0;
	while (!stop_requested) {
		/* a new process of the tree is looked at within milliseconds */
		if (recorder_step(r, tree && follow_waiting(tree) ? 5 : 100) < 0) {
			fprintf(stderr, "pybpfctl: reading from the BPF program failed\n");
			return -1;
		}
		if (tree)
			follow_tick(tree);
		progress_recorder(pr, r, "recording", false);
		if (end && monotonic_ns() >= end)
			break;
		if (child && !child->reaped && tree)
			command_gone(child); /* reaped, so that its exit is seen */
		if (tree ? !follow_alive(tree) : process_gone(o->pid, child))
			break;
	}
	return 0;
}

static void summary_outputs(const struct record_opts *o, struct record_summary *s)
{
	for (size_t i = 0; i < o->noutputs; i++) {
		s->output[i] = o->output[i];
		s->format[i] = export_format_name((enum export_format)o->format[i]);
	}
	s->noutputs = o->noutputs;
}

static void local_summary(const struct record_opts *o, const struct recorder_stats *st,
			  const struct profile *p, const struct pyprocess *pp,
			  const struct follow *tree)
{
	char python[32] = "?";
	if (pp)
		snprintf(python, sizeof(python), "%u.%u.%u", pp->major, pp->minor, pp->micro);
	struct record_summary s = {
		.pid = o->pid,
		.tree = tree != NULL,
		.pids = tree ? tree->pythons : NULL,
		.npids = tree ? tree->npythons : 0,
		.python = python,
		.mode = o->view.idle ? "cpu" : agg_mode_name((enum agg_mode)o->mode),
		.rate_hz = (unsigned)o->rate,
		.duration_s = (double)p->duration_ns / 1e9,
		.samples = p->total_count,
		.via = "local",
		.unknown_code = st->agg.unknown_code,
		.st = st,
	};
	s.ndrops = recorder_drops(st, s.drops);
	summary_outputs(o, &s);
	print_record_summary(&s, o->json, o->quiet);
}

/* The recording itself, once the process is known (pp: NULL when it is the
 * root of a tree to follow that is no Python yet). */
static int record_local(struct record_opts *o, struct recorder *r, struct pyprocess *pp,
			struct command *child, struct elfcache *elves)
{
	char err[512] = "", title[256];
	struct progress pr;
	struct follow tree, *t = o->subprocesses ? &tree : NULL;
	int ret = 1;
	int added = pp ? recorder_add_pid(r, pp, err, sizeof(err)) : 0;
	if (!added && t && follow_start(t, r, elves, o->pid, pp != NULL, err, sizeof(err))) {
		follow_free(t);
		added = -1;
	}
	if (child)
		command_resume(child); /* registered (or followed): it runs on */
	if (added) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	progress_init(&pr, o->quiet);
	if (record_loop(o, r, &pr, child, t)) {
		if (t)
			follow_free(t);
		return 1;
	}
	if (t && !t->npythons)
		fprintf(stderr, "pybpfctl: no Python process ran in the tree of pid %d\n",
			(int)o->pid);
	progress_recorder(&pr, r, "recording", true);
	struct profile *all = recorder_finish(r);
	struct profile *p = all ? profile_view(all, &o->view) : NULL;
	if (all) {
		profile_free(all);
		free(all);
	}
	if (!p) {
		fprintf(stderr, "pybpfctl: out of memory building the profile\n");
		return 1;
	}
	if (t)
		snprintf(title, sizeof(title), "pybpf: pid %d and its subprocesses, %u Hz",
			 (int)o->pid, p->rate_hz);
	else
		snprintf(title, sizeof(title), "pybpf: pid %d, CPython %u.%u.%u, %u Hz",
			 (int)o->pid, pp->major, pp->minor, pp->micro, p->rate_hz);
	ret = 0;
	for (size_t i = 0; i < o->noutputs; i++)
		if (export_write_file(p, (enum export_format)o->format[i], o->output[i], title)) {
			fprintf(stderr, "pybpfctl: writing %s failed: %s\n", o->output[i],
				strerror(errno));
			ret = 1;
		}
	if (!ret) {
		struct recorder_stats st;
		recorder_stats(r, &st);
		local_summary(o, &st, p, pp, t);
	}
	if (t)
		follow_free(t);
	profile_free(p);
	free(p);
	return ret;
}

/* pybpfctl's exit status: 1 when the profile was not written; else the
 * command's own when it ended by itself (or on Ctrl-C), 0 when the recording
 * ended first and stopped it. */
static int finish_command(struct command *child, int ret)
{
	if (!child || child->pid <= 0)
		return ret;
	command_resume(child); /* still held: something failed before it ran */
	bool by_itself = command_gone(child);
	if (!by_itself)
		command_stop(child, stop_requested, false);
	if (ret)
		return ret;
	return by_itself || stop_requested ? command_exit_code(child) : 0;
}

static int run_local(struct record_opts *o)
{
	struct recorder r;
	struct pyprocess pp;
	struct command cmd = {.pid = -1}, *child = NULL;
	char err[512] = "";
	int ret = 1;
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
	bpfs_set_task_stacks(r.bpf, !o->no_tasks);
	bpfs_set_sql_text(r.bpf, !o->no_sql_text);
	bool is_python = true;
	if (o->command) {
		int s = command_start_python(&cmd, o->command, elves, &pp, o->subprocesses,
					     &is_python);
		child = cmd.pid > 0 ? &cmd : NULL;
		if (s) {
			ret = s > 0 ? s : 1;
			goto out;
		}
		o->pid = cmd.pid;
		if (is_python)
			warn_layout(&pp);
	}
	ret = record_local(o, &r, is_python ? &pp : NULL, child, elves);
out:
	recorder_close(&r);
	elfcache_free(elves);
	return finish_command(child, ret);
}

/* --- through pybpfd ----------------------------------------------------------- */

static void remote_summary(const struct record_opts *o, const Pybpf__Control__RecordSummary *rs)
{
	struct record_summary s = {
		.pid = o->pid,
		.python = rs && rs->python ? rs->python : "",
		.mode = o->view.idle ? "cpu" : agg_mode_name((enum agg_mode)o->mode),
		.rate_hz = rs ? rs->rate_hz : 0,
		.duration_s = rs ? rs->duration_s : 0,
		.samples = rs ? rs->samples : 0,
		.via = "pybpfd",
	};
	for (size_t i = 0; rs && i < rs->n_drops && s.ndrops < RECORDER_MAX_DROPS; i++)
		s.drops[s.ndrops++] =
			(struct recorder_drop){rs->drops[i]->name, rs->drops[i]->value};
	s.unknown_code = rs ? rs->unknown_code : 0;
	summary_outputs(o, &s);
	print_record_summary(&s, o->json, o->quiet);
}

static int record_remote(int fd, const struct record_opts *o, bool resume)
{
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	Pybpf__Control__RecordRequest rec = PYBPF__CONTROL__RECORD_REQUEST__INIT;
	uint32_t pid = (uint32_t)o->pid;
	char title[128];
	snprintf(title, sizeof(title), "pybpf: pid %d", (int)o->pid);
	rec.pids = &pid;
	rec.n_pids = 1;
	rec.duration_s = o->duration;
	char *formats[MAX_OUTPUTS];
	for (size_t i = 0; i < o->noutputs; i++)
		formats[i] = (char *)export_format_name((enum export_format)o->format[i]);
	rec.mode = (char *)agg_mode_name((enum agg_mode)o->mode);
	rec.format = formats[0];
	rec.formats = formats;
	rec.n_formats = o->noutputs;
	rec.title = title;
	rec.resume = resume;
	rec.native = (char *)prof_native_name(o->view.native);
	rec.function = o->view.function;
	rec.nolineno = o->view.nolineno;
	rec.threads = o->view.threads;
	rec.gil = o->view.gil_only;
	rec.idle = o->view.idle;
	rec.full_filenames = o->view.full_filenames;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_RECORD;
	rq.record = &rec;
	if (o->rate != 99 && !o->quiet)
		fprintf(stderr, "pybpfctl: pybpfd samples at its own rate; --rate is ignored\n");
	Pybpf__Control__Response *r = daemon_call(fd, &rq, o->quiet ? NULL : "recording");
	close(fd);
	if (!r)
		return 1;
	int ret = 0;
	if (r->n_outputs != o->noutputs) {
		fprintf(stderr,
			"pybpfctl: pybpfd sent %zu profiles for %zu outputs (an older "
			"pybpfd?)\n",
			r->n_outputs, o->noutputs);
		ret = 1;
	}
	for (size_t i = 0; !ret && i < o->noutputs; i++) {
		struct iovec iov = {r->outputs[i].data, r->outputs[i].len};
		if (output_write(o->output[i], 0644, &iov, 1)) {
			fprintf(stderr, "pybpfctl: writing %s failed: %s\n", o->output[i],
				strerror(errno));
			ret = 1;
		}
	}
	if (!ret)
		remote_summary(o, r->summary);
	pybpf__control__response__free_unpacked(r, NULL);
	return ret;
}

/* pybpfd runs: it records; a COMMAND is started here and found by it. */
static int run_remote(int fd, struct record_opts *o)
{
	struct command cmd = {.pid = -1}, *child = NULL;
	if (o->command) {
		struct pyprocess pp;
		bool is_python;
		struct elfcache *elves = elfcache_new();
		int r = elves ? command_start_python(&cmd, o->command, elves, &pp, false,
						     &is_python)
			      : 1;
		elfcache_free(elves);
		child = cmd.pid > 0 ? &cmd : NULL;
		if (r) {
			close(fd);
			return finish_command(child, r > 0 ? r : 1);
		}
		o->pid = cmd.pid;
	}
	/* a held command: pybpfd registers it, then continues it */
	int r = record_remote(fd, o, child && child->held);
	return finish_command(child, r);
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o;
	if (parse(argc, argv, &o))
		return EXIT_USAGE;
	int fd = daemon_connect();
	if (fd >= 0 && o.subprocesses) {
		/* pybpfd's captures are of the pids given; a tree is followed here */
		if (!o.quiet)
			fprintf(stderr, "pybpfctl: --subprocesses: profiling here, not through "
					"pybpfd\n");
		close(fd);
		fd = -1;
	}
	return fd >= 0 ? run_remote(fd, &o) : run_local(&o);
}
