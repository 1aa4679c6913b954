/* pybpfctl_top.c - `pybpfctl top`: a live table of the functions on CPU,
 * refreshed every interval, from pybpfd or from BPF loaded here. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/command.h"
#include "native/elfcache.h"
#include "sampling/follow.h"
#include "report/top.h"
#include "sys/parse.h"
#include "sys/textesc.h"

struct top_opts {
	pid_t pid;
	double interval;
	unsigned long rate;
	bool once, json;
	bool gil, idle;	     /* the view: GIL holders' samples only; threads off CPU too */
	bool subprocesses;   /* the process's whole tree */
	bool full_filenames; /* whole paths (by default py-spy's short names) */
	char **command;	     /* top -- COMMAND: started here, shown until it exits */
};

struct term {
	bool raw;
	struct termios saved;
};

static void term_raw(struct term *t)
{
	struct termios raw;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved))
		return;
	raw = t->saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	t->raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

static void term_restore(struct term *t)
{
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
}

/* True when the user pressed q (or stdin ended, or Ctrl-C). */
static bool quit_pressed(bool tty_in)
{
	char c;
	if (stop_requested)
		return true;
	if (!tty_in)
		return false;
	while (read(STDIN_FILENO, &c, 1) == 1)
		if (c == 'q' || c == 'Q')
			return true;
	return false;
}

static void show_rows(const struct top_opts *o, const struct top_row *rows, size_t n,
		      uint64_t samples, double seconds, const char *source);

/* The table, its files by their short names unless asked otherwise. */
static void show(const struct top_opts *o, const struct top_row *rows, size_t n, uint64_t samples,
		 double seconds, const char *source)
{
	struct top_row *shown = o->full_filenames ? NULL : calloc(n + 1, sizeof(*shown));
	for (size_t i = 0; shown && i < n; i++) {
		shown[i] = rows[i];
		shown[i].file = profile_short_file(rows[i].file);
	}
	show_rows(o, shown ? shown : rows, n, samples, seconds, source);
	free(shown);
}

static void show_rows(const struct top_opts *o, const struct top_row *rows, size_t n,
		      uint64_t samples, double seconds, const char *source)
{
	if (o->json) {
		printf("{\"samples\": %llu, \"seconds\": %.3f, \"source\": \"%s\", \"rows\": [",
		       (unsigned long long)samples, seconds, source);
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"function\": ", i ? ", " : "");
			json_write_string(stdout, rows[i].function);
			printf(", \"file\": ");
			json_write_string(stdout, rows[i].file);
			printf(", \"line\": %lld, \"self\": %llu, \"total\": %llu}",
			       (long long)rows[i].line, (unsigned long long)rows[i].self,
			       (unsigned long long)rows[i].total);
		}
		printf("]}\n");
		fflush(stdout);
		return;
	}
	struct winsize ws = {0};
	bool tty = isatty(STDOUT_FILENO);
	int width = 200, height = 40;
	if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col) {
		width = ws.ws_col;
		height = ws.ws_row;
	}
	if (tty && !o->once)
		printf("\033[H\033[2J");
	if (o->pid)
		printf("pybpfctl top: pid %d (%s)%s\n", (int)o->pid, source,
		       o->once ? "" : ", q quits");
	else
		printf("pybpfctl top: every Python process you may see (%s)%s\n", source,
		       o->once ? "" : ", q quits");
	size_t rows_fit = height > 8 ? (size_t)(height - 6) : 10;
	top_print(rows, n, samples, seconds, o->once ? n : rows_fit, width, stdout);
	fflush(stdout);
}

/* One interval from the daemon: 0, -1 on error, 1 when the user quit. */
static int remote_once(const struct top_opts *o, bool tty_in)
{
	int fd = daemon_connect();
	if (fd < 0) {
		fprintf(stderr, "pybpfctl: pybpfd went away (%s)\n", ctl_path);
		return -1;
	}
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	Pybpf__Control__TopRequest tr = PYBPF__CONTROL__TOP_REQUEST__INIT;
	tr.pid = (uint32_t)o->pid;
	tr.interval_s = o->interval;
	tr.gil = o->gil;
	tr.idle = o->idle;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_TOP;
	rq.top = &tr;
	if (ctl_send(fd, &rq)) {
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) > 0)
			break;
		if (quit_pressed(tty_in)) {
			close(fd); /* cancels */
			return 1;
		}
	}
	Pybpf__Control__Response *r = ctl_read_response(fd);
	close(fd);
	if (!r || r->code || !r->top) {
		fprintf(stderr, "pybpfctl: %s\n",
			r && r->error && r->error[0] ? r->error : "no answer from pybpfd");
		if (r)
			pybpf__control__response__free_unpacked(r, NULL);
		return -1;
	}
	const Pybpf__Control__TopReply *t = r->top;
	struct top_row *rows = calloc(t->n_rows + 1, sizeof(*rows));
	if (!rows) {
		pybpf__control__response__free_unpacked(r, NULL);
		return -1;
	}
	for (size_t i = 0; i < t->n_rows; i++)
		rows[i] = (struct top_row){t->rows[i]->function, t->rows[i]->file, t->rows[i]->line,
					   t->rows[i]->self, t->rows[i]->total};
	show(o, rows, t->n_rows, t->samples, t->seconds, "pybpfd");
	free(rows);
	pybpf__control__response__free_unpacked(r, NULL);
	return 0;
}

/* The process to show, registered (and its tree followed): 0, or 1 said. */
static int local_start(const struct top_opts *o, struct recorder *r, struct elfcache *elves,
		       struct command *cmd, pid_t *pid, struct follow *tree)
{
	struct pyprocess pp;
	char err[512] = "";
	bool is_python = true;
	if (o->command) {
		int s = command_start_python(cmd, o->command, elves, &pp, o->subprocesses,
					     &is_python);
		if (s)
			return s > 0 ? s : 1;
		*pid = cmd->pid;
	} else if (pyprocess_inspect(*pid, elves, &pp, err, sizeof(err)) != PYPROC_OK) {
		fprintf(stderr, "pybpfctl: %s\n", err[0] ? err : "out of memory");
		return 1;
	}
	if (is_python && recorder_add_pid(r, &pp, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	if (tree && follow_start(tree, r, elves, *pid, is_python, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		return 1;
	}
	command_resume(cmd);
	return 0;
}

static bool local_gone(pid_t pid, struct command *cmd, struct follow *tree)
{
	if (cmd->pid > 0 && !cmd->reaped)
		command_gone(cmd);
	if (tree)
		return !follow_alive(tree);
	return cmd->pid > 0 ? cmd->reaped : kill(pid, 0) && errno == ESRCH;
}

/* Without a daemon: sample the process here. */
static int local_top(const struct top_opts *o, bool tty_in)
{
	struct recorder r;
	struct command cmd = {.pid = -1};
	struct follow tree, *t = o->subprocesses ? &tree : NULL;
	char err[512] = "";
	pid_t pid = o->pid;
	int ret = 1;
	if (!o->pid && !o->command) {
		fprintf(stderr,
			"pybpfctl top: without pybpfd, --pid PID or -- COMMAND is required\n");
		return EXIT_USAGE;
	}
	struct elfcache *elves = elfcache_new();
	if (!elves)
		return 1;
	memset(&tree, 0, sizeof(tree));
	if (recorder_open(&r, (uint32_t)o->rate, o->idle ? AGG_MODE_WALL : AGG_MODE_CPU, err,
			  sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		elfcache_free(elves);
		return 1;
	}
	int s = local_start(o, &r, elves, &cmd, &pid, t);
	if (s) {
		ret = s;
		goto out;
	}
	struct top_opts shown = *o;
	shown.pid = pid;
	for (;;) {
		uint64_t start = monotonic_ns();
		uint64_t end = start + (uint64_t)(o->interval * 1e9);
		bool quit = false, gone = false;
		while (monotonic_ns() < end && !(quit = quit_pressed(tty_in)) &&
		       !(gone = local_gone(pid, &cmd, t))) {
			if (recorder_step(&r, t && follow_waiting(t) ? 5 : 100) < 0)
				goto out;
			if (t)
				follow_tick(t);
		}
		if (quit)
			break;
		/* what the kernel holds of this interval, so the table covers all of it */
		if (recorder_flush(&r) < 0)
			goto out;
		struct profile *taken = agg_take(&r.agg), *p = top_view(taken, o->gil, o->idle);
		struct top_table tt;
		if (taken) {
			profile_free(taken);
			free(taken);
		}
		if (!p || top_compute(p, &tt)) {
			fprintf(stderr, "pybpfctl: out of memory\n");
			goto out;
		}
		show(&shown, tt.rows, tt.n, tt.samples, (double)(monotonic_ns() - start) / 1e9,
		     "local");
		top_free(&tt);
		profile_free(p);
		free(p);
		if (o->once)
			break;
		if (gone) {
			fprintf(stderr, "pybpfctl: pid %d%s exited\n", (int)pid,
				t ? " and its subprocesses" : "");
			break;
		}
	}
	ret = 0;
out:
	recorder_close(&r);
	if (t)
		follow_free(t);
	elfcache_free(elves);
	if (cmd.pid > 0) {
		command_resume(&cmd);
		bool by_itself = command_gone(&cmd);
		if (!by_itself)
			command_stop(&cmd, stop_requested, true);
		if (!ret && (by_itself || stop_requested))
			ret = command_exit_code(&cmd);
	}
	return ret;
}

int cmd_top(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_ONCE, OPT_GIL, OPT_IDLE, OPT_FULL_FILENAMES };
	static const struct option opts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"interval", required_argument, NULL, 'i'},
		{"rate", required_argument, NULL, 'r'},
		{"once", no_argument, NULL, OPT_ONCE},
		{"gil", no_argument, NULL, OPT_GIL},
		{"idle", no_argument, NULL, OPT_IDLE},
		{"subprocesses", no_argument, NULL, 's'},
		{"full-filenames", no_argument, NULL, OPT_FULL_FILENAMES},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct top_opts o = {.interval = 1, .rate = 99};
	int c;
	while ((c = getopt_long(argc, argv, "+p:i:r:sh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pid(optarg, &o.pid))
				return EXIT_USAGE;
			break;
		case 'i':
			if (parse_seconds(optarg, 60, &o.interval))
				return EXIT_USAGE;
			break;
		case 'r':
			if (parse_rate(optarg, &o.rate))
				return EXIT_USAGE;
			break;
		case OPT_ONCE:
			o.once = true;
			break;
		case OPT_GIL:
			o.gil = true;
			break;
		case OPT_IDLE:
			o.idle = true;
			break;
		case 's':
			o.subprocesses = true;
			break;
		case OPT_FULL_FILENAMES:
			o.full_filenames = true;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'h':
			printf("usage: pybpfctl top [--pid PID] [--interval SECS] [--rate HZ] "
			       "[--gil] [--idle] [--subprocesses] [--once] [--json]\n"
			       "       pybpfctl top [OPTIONS] -- COMMAND [ARGS...]\n"
			       "\n"
			       "A live table of the Python functions on CPU, by own (self) and "
			       "total\n"
			       "share of the samples of the last interval, like py-spy top.  "
			       "Without\n"
			       "--pid: every Python process pybpfd profiles that you may see.  q "
			       "quits.\n"
			       "\n"
			       "options:\n"
			       "  -p, --pid PID          one process\n"
			       "  -i, --interval SECS    refresh period (default 1, at most 60)\n"
			       "  -r, --rate HZ          samples per second per CPU (default 99; "
			       "pybpfd\n"
			       "                         samples at its own)\n"
			       "      --gil              only the samples of a thread holding the "
			       "GIL\n"
			       "      --idle             the threads off CPU too, each wait "
			       "counted "
			       "as the\n"
			       "                         samples it lasted (py-spy's --idle)\n"
			       "  -s, --subprocesses     every Python process below it too "
			       "(without "
			       "pybpfd)\n"
			       "      --full-filenames   whole paths (by default a file in the "
			       "packages or\n"
			       "                         the standard library by its path there)\n"
			       "      --once             one table, then exit\n"
			       "      --json             a JSON object per interval (with --once: "
			       "one)\n"
			       "  -h, --help             this text\n");
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		o.command = &argv[optind];
	if (o.command && o.pid) {
		fprintf(stderr, "pybpfctl top: give either --pid PID or -- COMMAND\n");
		return EXIT_USAGE;
	}
	if (o.subprocesses && !o.pid && !o.command) {
		fprintf(stderr, "pybpfctl top: --subprocesses needs --pid PID or -- COMMAND\n");
		return EXIT_USAGE;
	}
	struct term t = {0};
	bool tty_in = !o.once && isatty(STDIN_FILENO);
	if (tty_in)
		term_raw(&t);
	int fd = daemon_connect();
	int ret = 0;
	if (fd >= 0 && (o.command || o.subprocesses)) {
		/* pybpfd's tables are of a pid it knows: a command started here, or
		 * a tree followed, is sampled here */
		fprintf(stderr, "pybpfctl: %s: sampling here, not through pybpfd\n",
			o.command ? "top -- COMMAND" : "--subprocesses");
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		ret = local_top(&o, tty_in);
	} else {
		close(fd);
		if (o.rate != 99)
			fprintf(stderr,
				"pybpfctl: pybpfd samples at its own rate; --rate is ignored\n");
		for (;;) {
			int r = remote_once(&o, tty_in);
			if (r < 0)
				ret = 1;
			if (r != 0 || o.once || quit_pressed(tty_in))
				break;
		}
	}
	term_restore(&t);
	return ret;
}
