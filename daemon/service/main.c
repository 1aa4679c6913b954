/* main.c - pybpfd, the pybpf daemon: profiles every Python process of the host all
 * the time and exports the profiles (spool files, push, pull). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pylayout.h"
#include "service/config.h"
#include "service/daemon.h"
#include "sys/log.h"

#define EXIT_USAGE 2

static volatile int stop_requested, reload_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pybpfd [OPTIONS]\n"
		"\n"
		"Profiles every CPython process of this host (%s) continuously, in\n"
		"containers too, and exports a profile per service and window: files in a\n"
		"spool directory, pushes to a Pyroscope-compatible server, an HTTP pull\n"
		"endpoint (/debug/pprof/profile, /metrics).  pybpfctl talks to it.\n"
		"\n"
		"options:\n"
		"  -c, --config FILE       configuration (default %s)\n"
		"  -r, --rate HZ           samples per second per CPU (rate_hz)\n"
		"  -w, --window SECS       window length (window_s)\n"
		"      --spool-dir DIR     write windows to DIR (spool, spool_dir)\n"
		"      --push-url URL      push windows to URL (push, push_url)\n"
		"      --pull-listen ADDR  serve HTTP on ADDR (pull, pull_listen)\n"
		"      --socket PATH       control socket (socket)\n"
		"  -s, --set KEY=VALUE     any configuration key; repeatable\n"
		"      --check-config      print the effective configuration and exit\n"
		"  -h, --help              this text\n"
		"  -V, --version           the version\n"
		"\n"
		"Command-line values override the file, also after a reload.\n"
		"Signals: SIGHUP reloads the configuration; SIGTERM writes the current\n"
		"window and exits.  Logs go to stderr with syslog priority prefixes.\n"
		"Needs root (or CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and friends: see\n"
		"pybpfd(8)) and a kernel with BTF.\n",
		pylayout_supported(), CONFIG_DEFAULT_PATH);
}

static int add_override(struct daemon *d, const char *key, const char *value)
{
	char **no = realloc(d->overrides, (d->noverrides + 1) * sizeof(*no));
	if (!no)
		return -1;
	d->overrides = no;
	if (value) {
		if (asprintf(&no[d->noverrides], "%s=%s", key, value) < 0)
			return -1;
	} else {
		no[d->noverrides] = strdup(key);
		if (!no[d->noverrides])
			return -1;
	}
	d->noverrides++;
	return 0;
}

static int parse_args(int argc, char **argv, struct daemon *d, int *check_only)
{
	enum { OPT_SPOOL = 256, OPT_PUSH, OPT_PULL, OPT_SOCKET, OPT_CHECK };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"rate", required_argument, NULL, 'r'},
		{"window", required_argument, NULL, 'w'},
		{"spool-dir", required_argument, NULL, OPT_SPOOL},
		{"push-url", required_argument, NULL, OPT_PUSH},
		{"pull-listen", required_argument, NULL, OPT_PULL},
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"set", required_argument, NULL, 's'},
		{"check-config", no_argument, NULL, OPT_CHECK},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c, r = 0;
	while ((c = getopt_long(argc, argv, "c:r:w:s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(d->config_path, sizeof(d->config_path), "%s", optarg);
			d->config_missing_ok = false;
			break;
		case 'r':
			r |= add_override(d, "rate_hz", optarg);
			break;
		case 'w':
			r |= add_override(d, "window_s", optarg);
			break;
		case OPT_SPOOL:
			r |= add_override(d, "spool", "true") |
			     add_override(d, "spool_dir", optarg);
			break;
		case OPT_PUSH:
			r |= add_override(d, "push", "true") | add_override(d, "push_url", optarg);
			break;
		case OPT_PULL:
			r |= add_override(d, "pull", "true") |
			     add_override(d, "pull_listen", optarg);
			break;
		case OPT_SOCKET:
			r |= add_override(d, "socket", optarg);
			break;
		case 's':
			r |= add_override(d, optarg, NULL);
			break;
		case OPT_CHECK:
			*check_only = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("pybpfd %s\n", PYBPF_VERSION);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pybpfd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return r;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	int check_only = 0;
	char err[512];
	snprintf(d.config_path, sizeof(d.config_path), "%s", CONFIG_DEFAULT_PATH);
	d.config_missing_ok = true;
	if (parse_args(argc, argv, &d, &check_only)) {
		fprintf(stderr, "pybpfd: see pybpfd --help\n");
		return EXIT_USAGE;
	}
	if (daemon_load_config(&d, &d.cfg, err, sizeof(err))) {
		fprintf(stderr, "<3>pybpfd: %s\n", err);
		return EXIT_USAGE;
	}
	if (check_only) {
		config_print(&d.cfg, stdout);
		return 0;
	}
	log_set_level((enum log_level)d.cfg.log_level);
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("pybpfd %s starting (configuration %s)", PYBPF_VERSION, d.config_path);
	int ret = daemon_run(&d, &stop_requested, &reload_requested);
	log_info("pybpfd stopped");
	for (size_t i = 0; i < d.noverrides; i++)
		free(d.overrides[i]);
	free(d.overrides);
	return ret;
}
