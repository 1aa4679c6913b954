/* dump.c - `pybpfctl dump`: the current Python stack of every thread, read
 * here or by pybpfd. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "native/elfcache.h"
#include "python/dump.h"
#include "python/pytasks.h"
#include "sys/procfs.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pybpfctl dump --pid PID [--locals] [--native] [--subprocesses] "
		"[--json] [--nonblocking]\n"
		"       pybpfctl dump --pid PID --tasks [--json]\n"
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
		"  -n, --native      native frames too, interleaved with the Python frames\n"
		"                    as record shows them: the interpreter's own (the\n"
		"                    python binary, libpython) folded into the Python frame\n"
		"                    they run, extension and library frames (libc, libz,\n"
		"                    numpy) kept; every thread is held still for the moment\n"
		"                    of its read (ptrace)\n"
		"      --json        machine-readable output\n"
		"      --nonblocking never hold a thread still: a stack that keeps changing\n"
		"                    may come out partial\n"
		"  -s, --subprocesses every Python process below PID too, one after the\n"
		"                    other (--json: {\"processes\": [...]})\n"
		"  -t, --tasks       the process's asyncio tasks instead (3.11+): each task's\n"
		"                    name, state, its coroutine where it waits or runs, what\n"
		"                    it awaits and the task awaiting it (through gather()\n"
		"                    or the task itself), as `python -m asyncio pstree`\n"
		"                    does on 3.14, read from memory without attaching\n"
		"  -h, --help        this text\n");
}

/* prefix: printed before the dump, once there is one (a tree's separator) */
static int dump_remote(int fd, pid_t pid, bool json, unsigned flags, const char *prefix)
{
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	Pybpf__Control__DumpRequest dump = PYBPF__CONTROL__DUMP_REQUEST__INIT;
	dump.pid = (uint32_t)pid;
	dump.json = json;
	dump.nonblocking = flags & DUMP_NONBLOCKING;
	dump.locals = flags & DUMP_LOCALS;
	dump.native = flags & DUMP_NATIVE;
	dump.tasks = flags & DUMP_TASKS;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_DUMP;
	rq.dump = &dump;
	Pybpf__Control__Response *r = daemon_call(fd, &rq, NULL);
	close(fd);
	if (r)
		fputs(prefix, stdout);
	return r ? print_response_data(r) : 1;
}

/* One process; in a tree (quiet_not_python), one that is no Python is
 * skipped: 2. */
static int dump_local(pid_t pid, bool json, unsigned flags, bool quiet_not_python,
		      const char *prefix)
{
	struct pyprocess pp;
	struct dump d;
	char err[512] = "";
	struct elfcache *elves = elfcache_new();
	int ret = 1;
	if (!elves)
		return 1;
	enum pyprocess_result pr = pyprocess_inspect(pid, elves, &pp, err, sizeof(err));
	if (pr == PYPROC_NOT_PYTHON && quiet_not_python) {
		ret = 2;
		goto out;
	}
	if (pr == PYPROC_OK && (flags & DUMP_TASKS)) {
		fputs(prefix, stdout);
		ret = pytasks_print(&pp, json, stdout, err, sizeof(err)) ? 1 : 0;
		if (ret)
			fprintf(stderr, "pybpfctl: %s\n", err);
		goto out;
	}
	if (pr != PYPROC_OK || dump_process(&pp, &d, flags, err, sizeof(err))) {
		fprintf(stderr, "pybpfctl: %s\n", err);
		goto out;
	}
	fputs(prefix, stdout);
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

/* The Pythons of pid's tree pybpfd knows, in the tree's order. */
static uint32_t *remote_pythons(uint32_t *tree, size_t n, size_t *out)
{
	Pybpf__Control__PsRequest ps = PYBPF__CONTROL__PS_REQUEST__INIT;
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_PS;
	rq.ps = &ps;
	*out = 0;
	int fd = daemon_connect();
	Pybpf__Control__Response *r = fd >= 0 ? daemon_call(fd, &rq, NULL) : NULL;
	if (fd >= 0)
		close(fd);
	if (!r)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool known = false;
		for (size_t k = 0; r->ps && k < r->ps->n_procs && !known; k++)
			known = r->ps->procs[k]->pid == tree[i];
		if (known)
			tree[(*out)++] = tree[i];
	}
	pybpf__control__response__free_unpacked(r, NULL);
	return tree;
}

/* Every Python process of pid's tree, one dump after the other. */
static int dump_tree(pid_t pid, bool json, unsigned flags, bool remote)
{
	size_t n, shown = 0;
	uint32_t *tree = procfs_descendants(pid, &n);
	int ret = 0;
	if (!tree) {
		fprintf(stderr, "pybpfctl: cannot list the processes: %s\n", strerror(errno));
		return 1;
	}
	if (remote && !remote_pythons(tree, n, &n)) {
		free(tree);
		return 1;
	}
	if (json)
		printf("{\"pid\": %d, \"processes\": [", (int)pid);
	for (size_t i = 0; i < n; i++) {
		const char *sep = !shown ? "" : json ? ",\n" : "\n";
		int fd = remote ? daemon_connect() : -1;
		int r = remote ? (fd >= 0 ? dump_remote(fd, (pid_t)tree[i], json, flags, sep) : 1)
			       : dump_local((pid_t)tree[i], json, flags, true, sep);
		if (r == 0)
			shown++;
		else if (r == 1)
			ret = 1;
	}
	if (json)
		printf("]}\n");
	else if (!shown)
		fprintf(stderr, "pybpfctl: no Python process in the tree of pid %d\n", (int)pid);
	free(tree);
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
		{"native", no_argument, NULL, 'n'},
		{"tasks", no_argument, NULL, 't'},
		{"subprocesses", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	pid_t pid = 0;
	bool json = false, tree = false;
	int c;
	while ((c = getopt_long(argc, argv, "p:lntsh", opts, NULL)) != -1) {
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
		case 'n':
			flags |= DUMP_NATIVE;
			break;
		case 's':
			tree = true;
			break;
		case 't':
			flags |= DUMP_TASKS;
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
	if ((flags & DUMP_NATIVE) && (flags & DUMP_NONBLOCKING)) {
		fprintf(stderr, "pybpfctl dump: --native holds each thread still to unwind it: "
				"it cannot be --nonblocking\n");
		return EXIT_USAGE;
	}
	if ((flags & DUMP_TASKS) && (flags & (DUMP_LOCALS | DUMP_NATIVE))) {
		fprintf(stderr, "pybpfctl dump: --tasks lists tasks, not threads' frames: "
				"no --locals or --native with it\n");
		return EXIT_USAGE;
	}
	int fd = daemon_connect();
	if (tree) {
		if (fd >= 0)
			close(fd);
		return dump_tree(pid, json, flags, fd >= 0);
	}
	return fd >= 0 ? dump_remote(fd, pid, json, flags, "")
		       : dump_local(pid, json, flags, false, "");
}
