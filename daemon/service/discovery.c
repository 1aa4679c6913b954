/* discovery.c - which processes are Pythons to profile (discovery.h):
 * the schedule of looks at new processes, and the daemon's side of it
 * (registering, exits, forgetting). */
#define _GNU_SOURCE
#include "service/daemon.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/log.h"
#include "sys/procfs.h"

#define MS 1000000ULL

/* --- the daemon's processes -------------------------------------------------------- */

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

static void proc_gone(struct daemon *d, pid_t pid);

/* Still a live process: its /proc entry is there and not a zombie (a
 * zombie leader with threads left is alive). */
static bool still_running(pid_t pid)
{
	char st = procfs_task_state(pid, 0);
	if (st == '?')
		return false;
	return (st != 'Z' && st != 'X') || procfs_count_tasks(pid) > 1;
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
	/* registered: an exit from now on is seen; one before it was not */
	p->pid = pp->pid;
	p->pp = *pp;
	p->uid = procfs_uid(pp->pid);
	service_name(pp->pid, d->cfg.service_rule, p->service, sizeof(p->service));
	procfs_cmdline_text(pp->pid, p->command, sizeof(p->command));
	d->ctr.processes_seen++;
	log_info("pid %d: CPython %u.%u.%u (%s), service %s%s%s", (int)pp->pid, pp->major,
		 pp->minor, pp->micro, pp->object, p->service, pp->root[0] ? ", root " : "",
		 pp->root);
	if (pp->layout_note[0])
		log_info("pid %d: %s", (int)pp->pid, pp->layout_note);
	/* its forks are said from now on: a pre-fork server's workers (gunicorn,
	 * Celery, multiprocessing) are Pythons that never exec */
	if (bpfs_follow(d->rec.bpf, pp->pid, discovery_on_event, d))
		log_debug("pid %d: its forks will not be seen", (int)pp->pid);
	if (!still_running(pp->pid))
		proc_gone(d, pp->pid);
	return 0;
}

struct look_ctx {
	struct daemon *d;
	bool quiet; /* the start scan: most processes are not Python */
};

/* Inspects pid once, and registers it when it is a Python to profile. */
static enum discovery_verdict look(void *ctx, pid_t pid, uint64_t age)
{
	struct look_ctx *l = ctx;
	struct daemon *d = l->d;
	struct pyprocess pp;
	char err[512] = "";
	if (daemon_proc(d, pid))
		return DISCOVERY_REGISTER;
	enum pyprocess_result r = pyprocess_inspect(pid, d->rec.agg.elves, &pp, err, sizeof(err));
	enum discovery_verdict v = discovery_verdict(r, age);
	if (v == DISCOVERY_REGISTER)
		return add_python(d, &pp) == 0 ? DISCOVERY_REGISTER : DISCOVERY_GIVE_UP;
	if (v == DISCOVERY_RETRY)
		return v;
	if (r == PYPROC_NOT_READY) {
		log_warn("%s (gave up after %.0f s)", err, DISCOVERY_NOT_READY_FOR / 1e9);
	} else if (r == PYPROC_UNSUPPORTED) {
		d->ctr.unsupported++;
		log_warn("%s", err);
	} else if (r == PYPROC_ERROR && !l->quiet && kill(pid, 0) == 0) {
		/* gone already is a short-lived program, not an error */
		d->ctr.discover_errors++;
		log_debug("%s", err);
	}
	return v;
}

void discovery_scan_all(struct daemon *d)
{
	struct look_ctx l = {d, true};
	size_t n, found = 0;
	uint32_t *pids = procfs_pids(&n);
	if (!pids) {
		log_err("cannot list /proc: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if ((pid_t)pids[i] == getpid())
			continue;
		/* running programs: not Python now means not Python */
		found += look(&l, (pid_t)pids[i], DISCOVERY_NOT_READY_FOR) == DISCOVERY_REGISTER;
	}
	free(pids);
	log_info("found %zu Python processes", found);
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

/* The process table back to what is live after a churn: an entry is some
 * 9 KiB, and 2,000 short processes at once left 18 MB behind. */
static void shrink_procs(struct daemon *d)
{
	size_t ncap = d->procs_cap;
	while (ncap > 32 && d->nprocs * 4 < ncap)
		ncap /= 2;
	if (ncap == d->procs_cap)
		return;
	struct dproc *np = realloc(d->procs, ncap * sizeof(*np));
	if (np) { /* else the larger table stays, still right */
		d->procs = np;
		d->procs_cap = ncap;
	}
}

static void forget(struct daemon *d, pid_t pid)
{
	for (size_t i = 0; i < d->nprocs; i++) {
		if (d->procs[i].pid != pid)
			continue;
		recorder_remove_pid(&d->rec, pid);
		d->procs[i] = d->procs[--d->nprocs];
		shrink_procs(d);
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
	} else if (ev.kind == PYBPF_EV_FORK) {
		/* a child of a Python is one (or execs, which is said too) */
		if (!daemon_proc(d, (pid_t)ev.pid) &&
		    pending_add(&d->pending, (pid_t)ev.pid, monotonic_ns()))
			d->ctr.discover_errors++;
	} else if (ev.kind == PYBPF_EV_EXEC) {
		/* a Python that exec'd another program: its samples so far stay in
		 * the window, the new image is a new process to inspect */
		if (daemon_proc(d, (pid_t)ev.pid)) {
			proc_gone(d, (pid_t)ev.pid);
			forget(d, (pid_t)ev.pid);
		}
		if (pending_add(&d->pending, (pid_t)ev.pid, monotonic_ns()))
			d->ctr.discover_errors++;
	}
	return 0;
}

struct dproc *discovery_look_now(struct daemon *d, pid_t pid)
{
	struct look_ctx l = {d, false};
	if (!daemon_proc(d, pid))
		look(&l, pid, 0);
	return daemon_proc(d, pid);
}

void discovery_poll(struct daemon *d)
{
	struct look_ctx l = {d, false};
	pending_poll(&d->pending, monotonic_ns(), look, &l);
}

/* Counts are drained a generation late: an exited process's last samples
 * arrive up to two drains (about 2 s) after its exit. */
#define REAP_AFTER (3000 * MS)

static int cmp_pid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* A report names its waits by stack when it ends: not while one runs. */
static bool report_running(const struct daemon *d)
{
	for (const struct capture *c = d->captures; c; c = c->next)
		if (!c->done && c->kind == CAPTURE_REPORT)
			return true;
	return false;
}

void discovery_reap(struct daemon *d, bool full)
{
	uint64_t now = monotonic_ns();
	size_t n = 0;
	uint32_t *gone = malloc((d->nprocs ? d->nprocs : 1) * sizeof(*gone));
	for (size_t i = 0; i < d->nprocs;) {
		struct dproc *p = &d->procs[i];
		/* an exit the kernel's event did not tell (none is lost once a
		 * process is registered, but this costs one stat a window) */
		if (full && !p->exited && !still_running(p->pid)) {
			log_debug("pid %d: gone without an exit event", (int)p->pid);
			proc_gone(d, p->pid);
		}
		if (!p->exited || now - p->exited_at < REAP_AFTER) {
			i++;
			continue;
		}
		if (gone)
			gone[n++] = (uint32_t)p->pid;
		forget(d, p->pid); /* moves the last entry to i */
	}
	/* its counts are all in (a tick or two after the exit): its stacks
	 * go now, not after stack_idle_s */
	if (gone && n && !report_running(d)) {
		qsort(gone, n, sizeof(*gone), cmp_pid);
		long k = recorder_drop_pids(&d->rec, gone, n);
		if (k < 0)
			log_warn("out of memory while forgetting the stacks of exited processes");
		else if (k)
			log_debug("forgot %ld stacks of %zu exited processes, %zu left", k, n,
				  agg_stack_count(&d->rec.agg));
	}
	free(gone);
	d->reaped_since_trim += n;
	/* what the exited processes held goes back to the system, not only to
	 * malloc's free lists (churn leaves them fragmented): once a window */
	if (full && d->reaped_since_trim) {
		malloc_trim(0);
		d->reaped_since_trim = 0;
	}
}
