/* main.c - pybpfctl, the pybpf command line: global options and the
 * commands (one file each). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "python/pylayout.h"

volatile sig_atomic_t stop_requested;
const char *ctl_path;
bool no_daemon;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *out)
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
		"  asyncio  what blocks a process's event loops: stalls, their stacks and why\n"
		"  requests a web process's endpoints' time, and its database statements\n"
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

/* --socket PATH and --no-daemon before the command. */
static void global_options(int *argc, char ***argv)
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
}

int main(int argc, char **argv)
{
	global_options(&argc, &argv);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
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
	if (!strcmp(cmd, "asyncio"))
		return cmd_asyncio(argc - 1, argv + 1);
	if (!strcmp(cmd, "requests"))
		return cmd_requests(argc - 1, argv + 1);
	fprintf(stderr, "pybpfctl: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
