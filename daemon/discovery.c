/* discovery.c - which processes are Pythons to profile: every one running
 * when the daemon starts (a /proc scan), then each new program image from
 * the BPF exec events, inspected a few times in its first seconds (its
 * libpython may not be mapped, its interpreter not initialised yet), and
 * each exit from the BPF exit events. */
#define _GNU_SOURCE
#include "daemon.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define MS	    1000000ULL
#define PENDING_MAX 4096
/* An exec'd program is retried for this long while it is not Python yet. */
#define NOT_PYTHON_FOR (1200 * MS)
/* ... and this long while it is a Python whose interpreter is not ready. */
#define NOT_READY_FOR (10000 * MS)

static const uint64_t retry_after[] = {5 * MS, 25 * MS, 70 * MS, 150 * MS, 300 * MS, 500 * MS};

struct dproc *daemon_proc(struct daemon *d, pid_t pid)
{
	for (size_t i = 0; i < d->nprocs; i++)
		if (d->procs[i].pid == pid)
			return &d->procs[i];
	return NULL;
}

const char *daemon_service_of(struct daemon *d, uint32_t pid)
{
	struct dproc *p = daemon_proc(d, (pid_t)pid);
	return p ? p->service : "unknown";
}

static uid_t proc_uid(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
}

bool daemon_may_see(struct daemon *d, uid_t uid, pid_t pid)
{
	(void)d;
	return uid == 0 || proc_uid(pid) == uid;
}

static void read_command(pid_t pid, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	out[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && out[n - 1] == 0)
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (out[i] == 0 || !isprint((unsigned char)out[i]))
			out[i] = ' ';
	out[n] = 0;
}

/* Registers an inspected Python with the recorder and the process table. */
static int add_python(struct daemon *d, const struct pyprocess *pp)
{
	char err[512];
	if (d->nprocs == d->procs_cap) {
		size_t ncap = d->procs_cap ? d->procs_cap * 2 : 32;
		struct dproc *np = realloc(d->procs, ncap * sizeof(*np));
		if (!np)
			return -1;
		d->procs = np;
		d->procs_cap = ncap;
	}
	if (recorder_add_pid(&d->rec, pp, err, sizeof(err))) {
		log_warn("pid %d: not profiled: %s", (int)pp->pid, err);
		d->ctr.discover_errors++;
		return -1;
	}
	struct dproc *p = &d->procs[d->nprocs++];
	memset(p, 0, sizeof(*p));
	p->pid = pp->pid;
	p->pp = *pp;
	p->uid = proc_uid(pp->pid);
	service_name(pp->pid, d->cfg.service_rule, p->service, sizeof(p->service));
	read_command(pp->pid, p->command, sizeof(p->command));
	d->ctr.processes_seen++;
	log_info("pid %d: CPython %u.%u.%u (%s), service %s%s%s", (int)pp->pid, pp->major,
		 pp->minor, pp->micro, pp->object, p->service, pp->root[0] ? ", root " : "",
		 pp->root);
	if (pp->layout_note[0])
		log_info("pid %d: %s", (int)pp->pid, pp->layout_note);
	return 0;
}

/* Inspects pid once: 1 registered, 0 try again later, -1 give up. */
static int try_pid(struct daemon *d, pid_t pid, uint64_t age, bool quiet)
{
	struct pyprocess pp;
	char err[512] = "";
	if (daemon_proc(d, pid))
		return 1;
	enum pyprocess_result r = pyprocess_inspect(pid, &pp, err, sizeof(err));
	switch (r) {
	case PYPROC_OK:
		return add_python(d, &pp) == 0 ? 1 : -1;
	case PYPROC_NOT_PYTHON:
		return age < NOT_PYTHON_FOR ? 0 : -1;
	case PYPROC_NOT_READY:
		if (age < NOT_READY_FOR)
			return 0;
		log_warn("%s (gave up after %.0f s)", err, NOT_READY_FOR / 1e9);
		return -1;
	case PYPROC_UNSUPPORTED:
		d->ctr.unsupported++;
		log_warn("%s", err);
		return -1;
	case PYPROC_ERROR:
		/* gone already: a short-lived program, not an error */
		if (!quiet && kill(pid, 0) == 0) {
			d->ctr.discover_errors++;
			log_debug("%s", err);
		}
		return -1;
	}
	return -1;
}

void discovery_scan_all(struct daemon *d)
{
	DIR *dir = opendir("/proc");
	struct dirent *e;
	size_t found = 0;
	if (!dir) {
		log_err("cannot list /proc: %s", strerror(errno));
		return;
	}
	while ((e = readdir(dir))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		/* running programs: not Python now means not Python */
		if (try_pid(d, (pid_t)pid, NOT_READY_FOR, true) == 1)
			found++;
	}
	closedir(dir);
	log_info("found %zu Python processes", found);
}

static void pending_add(struct daemon *d, pid_t pid, uint64_t now)
{
	for (size_t i = 0; i < d->npending; i++)
		if (d->pending[i].pid == pid) {
			d->pending[i] = (struct pending){pid, now + retry_after[0], now, 0};
			return;
		}
	if (d->npending == PENDING_MAX) {
		d->ctr.discover_errors++;
		return;
	}
	if (d->npending == d->pending_cap) {
		size_t ncap = d->pending_cap ? d->pending_cap * 2 : 64;
		struct pending *np = realloc(d->pending, ncap * sizeof(*np));
		if (!np)
			return;
		d->pending = np;
		d->pending_cap = ncap;
	}
	d->pending[d->npending++] = (struct pending){pid, now + retry_after[0], now, 0};
}

/* The process stopped being the Python we knew (exit, or exec of something
 * else): stop sampling it; its window is flushed before it is forgotten. */
static void proc_gone(struct daemon *d, pid_t pid)
{
	struct dproc *p = daemon_proc(d, pid);
	if (!p || p->exited)
		return;
	p->exited = true;
	p->exited_at = monotonic_ns();
	bpfs_remove_process(d->rec.bpf, pid);
	log_info("pid %d (%s) exited", (int)pid, p->service);
}

static void forget(struct daemon *d, pid_t pid)
{
	for (size_t i = 0; i < d->nprocs; i++) {
		if (d->procs[i].pid != pid)
			continue;
		recorder_remove_pid(&d->rec, pid);
		d->procs[i] = d->procs[--d->nprocs];
		return;
	}
}

int discovery_on_event(void *ctx, const void *rec, size_t len)
{
	struct daemon *d = ctx;
	struct pybpf_proc_event ev;
	if (len < sizeof(ev))
		return 0;
	memcpy(&ev, rec, sizeof(ev));
	if ((pid_t)ev.pid == getpid())
		return 0;
	if (ev.kind == PYBPF_EV_EXIT) {
		proc_gone(d, (pid_t)ev.pid);
	} else if (ev.kind == PYBPF_EV_EXEC) {
		/* a Python that exec'd another program: its samples so far stay in
		 * the window, the new image is a new process to inspect */
		if (daemon_proc(d, (pid_t)ev.pid)) {
			proc_gone(d, (pid_t)ev.pid);
			forget(d, (pid_t)ev.pid);
		}
		pending_add(d, (pid_t)ev.pid, monotonic_ns());
	}
	return 0;
}

void discovery_poll(struct daemon *d)
{
	uint64_t now = monotonic_ns();
	for (size_t i = 0; i < d->npending;) {
		struct pending *p = &d->pending[i];
		if (p->next_try > now) {
			i++;
			continue;
		}
		int r = try_pid(d, p->pid, now - p->first_seen, false);
		if (r != 0) {
			*p = d->pending[--d->npending];
			continue;
		}
		p->tries++;
		size_t n = sizeof(retry_after) / sizeof(retry_after[0]);
		p->next_try = now + retry_after[p->tries < n ? p->tries : n - 1];
		i++;
	}
}

/* Counts are drained a generation late: an exited process's last samples
 * arrive up to two drains (about 2 s) after its exit. */
#define REAP_AFTER (3000 * MS)

void discovery_reap(struct daemon *d)
{
	uint64_t now = monotonic_ns();
	for (size_t i = 0; i < d->nprocs;) {
		if (!d->procs[i].exited || now - d->procs[i].exited_at < REAP_AFTER) {
			i++;
			continue;
		}
		forget(d, d->procs[i].pid); /* moves the last entry to i */
	}
}
