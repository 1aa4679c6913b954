/* unwind.c - a stopped thread's native stack, by libdwfl. */
#define _GNU_SOURCE
#include "native/unwind.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct unwinder {
	Dwfl *dwfl;
	pid_t pid;
};

/* find_elf has no way to its Dwfl's owner: the process being unwound
 * is this thread's while one of our calls runs. */
static __thread pid_t unwinding_pid;

/* A mapped file as the process sees it (its root: a container's own),
 * else libdwfl's way (the vDSO, deleted files, from memory). */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	if (name[0] == '/' && unwinding_pid > 0) {
		char path[PATH_MAX];
		struct stat st;
		int n = snprintf(path, sizeof(path), "/proc/%d/root%s", (int)unwinding_pid, name);
		/* only a regular file: a device could block the open or read */
		if (n > 0 && (size_t)n < sizeof(path) && !stat(path, &st) && S_ISREG(st.st_mode)) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				*file_name = strdup(path);
				return fd;
			}
		}
	}
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
}

static char *debuginfo_path;

static const Dwfl_Callbacks callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

struct unwinder *unwinder_new(pid_t pid, char *err, size_t errlen)
{
	struct unwinder *u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u->pid = pid;
	unwinding_pid = pid;
	u->dwfl = dwfl_begin(&callbacks);
	int r = u->dwfl ? dwfl_linux_proc_report(u->dwfl, pid) : -1;
	if (r == 0)
		r = dwfl_report_end(u->dwfl, NULL, NULL);
	/* its threads are held still by us, one at a time, not by libdwfl */
	if (r == 0)
		r = dwfl_linux_proc_attach(u->dwfl, pid, true);
	unwinding_pid = 0;
	if (r) {
		snprintf(err, errlen, "pid %d: cannot read its mappings for native unwinding: %s",
			 (int)pid, r > 0 ? strerror(r) : dwfl_errmsg(-1));
		unwinder_free(u);
		return NULL;
	}
	return u;
}

void unwinder_free(struct unwinder *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	free(u);
}

struct walk {
	uint64_t *pcs;
	size_t n, max;
	int cut;
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	bool activation = false;
	if (!dwfl_frame_pc(state, &pc, &activation) || !pc)
		return DWARF_CB_ABORT;
	if (w->n == w->max) {
		w->cut = 1;
		return DWARF_CB_ABORT;
	}
	/* a return address is past its call: the call is one byte back */
	w->pcs[w->n++] = activation ? pc : pc - 1;
	return DWARF_CB_OK;
}

int unwinder_stack(struct unwinder *u, pid_t tid, uint64_t *pcs, size_t max, int *cut)
{
	struct walk w = {.pcs = pcs, .max = max};
	unwinding_pid = u->pid;
	/* -1 at the stack's end (no more CFI) as well as on an error: what
	 * was unwound until then is the stack */
	dwfl_getthread_frames(u->dwfl, tid, frame_cb, &w);
	unwinding_pid = 0;
	*cut = w.cut;
	if (!w.n) {
		errno = ESRCH;
		return -1;
	}
	return (int)w.n;
}
