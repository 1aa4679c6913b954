/* dump.c - `pybpfctl dump`: the current Python stack of every thread, read
 * here or by pybpfd. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "native/elfcache.h"
#include "python/dump.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: pybpfctl dump --pid PID [--locals] [--json] [--nonblocking]\n"
		     "\n"
		     "Prints the current Python stack of every thread of a CPython process, with\n"
		     "thread names, states and line numbers, innermost frame first.  A running\n"
		     "thread whose stack changes faster than it can be read is held still for\n"
		     "the moment of one read (as py-spy does); a stack that could not be read\n"
		     "whole is marked incomplete (\"partial\" in --json).\n"
		     "\n"
		     "options:\n"
		     "  -p, --pid PID     process to inspect\n"
		     "  -l, --locals      each frame's arguments and local variables: a short\n"
		     "                    repr of str, bytes, int, float, bool and None, the\n"
		     "                    first 10 elements of a list, tuple, dict or set, and\n"
		     "                    <Class object at 0x...> for anything else; at most 120\n"
		     "                    characters each, read from memory (nothing runs in\n"
		     "                    the target), after the stack, as the thread runs on\n"
		     "      --json        machine-readable output\n"
		     "      --nonblocking never hold a thread still: a stack that keeps changing\n"
		     "                    may come out partial\n"
		     "  -h, --help        this text\n");
}

static int dump_remote(int fd, pid_t pid, bool json, unsigned flags)
{
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	Pybpf__Control__DumpRequest dump = PYBPF__CONTROL__DUMP_REQUEST__INIT;
	dump.pid = (uint32_t)pid;
	dump.json = json;
	dump.nonblocking = flags & DUMP_NONBLOCKING;
	dump.locals = flags & DUMP_LOCALS;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_DUMP;
	rq.dump = &dump;
	Pybpf__Control__Response *r = daemon_call(fd, &rq, NULL);
	close(fd);
	return r ? print_response_data(r) : 1;
}

static int dump_local(pid_t pid, bool json, unsigned flags)
{
	struct pyprocess pp;
	struct dump d;
	char err[512] = "";
	struct elfcache *elves = elfcache_new();
	int ret = 1;
	if (!elves)
		return 1;
	if (pyprocess_inspect(pid, elves, &pp, err, sizeof(err)) != PYPROC_OK ||
	    dump_process(&pp, &d, flags, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		goto out;
	}
	if (json)
		dump_print_json(&pp, &d, stdout);
	else
		dump_print_text(&pp, &d, stdout);
	dump_free(&d);
	ret = 0;
out:
	elfcache_free(elves);
	return ret;
}

int cmd_dump(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_NONBLOCKING };
	unsigned flags = 0;
	static const struct option opts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, OPT_JSON},
		{"nonblocking", no_argument, NULL, OPT_NONBLOCKING},
		{"locals", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	pid_t pid = 0;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "p:lh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pid(optarg, &pid))
				return EXIT_USAGE;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_NONBLOCKING:
			flags |= DUMP_NONBLOCKING;
			break;
		case 'l':
			flags |= DUMP_LOCALS;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (!pid) {
		fprintf(stderr, "pybpfctl dump: --pid PID is required\n");
		return EXIT_USAGE;
	}
	int fd = daemon_connect();
	return fd >= 0 ? dump_remote(fd, pid, json, flags) : dump_local(pid, json, flags);
}
