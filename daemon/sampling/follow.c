/* follow.c - a process tree followed as it forks and execs. */
#include "sampling/follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyprocess.h"
#include "sys/clock.h"
#include "sys/procfs.h"

static struct follow_proc *find(struct follow *f, pid_t pid)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->procs[i].pid == pid)
			return &f->procs[i];
	return NULL;
}

static struct follow_proc *add(struct follow *f, pid_t pid)
{
	struct follow_proc *p = find(f, pid);
	if (p)
		return p;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		struct follow_proc *np = realloc(f->procs, cap * sizeof(*np));
		if (!np) {
			f->failed = true;
			return NULL;
		}
		f->procs = np;
		f->cap = cap;
	}
	p = &f->procs[f->n++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	return p;
}

static void gone(struct follow *f, pid_t pid)
{
	struct follow_proc *p = find(f, pid);
	if (p)
		*p = f->procs[--f->n];
}

static int on_event(void *ctx, const void *rec, size_t len)
{
	struct follow *f = ctx;
	const struct pybpf_proc_event *e = rec;
	struct follow_proc *p;
	if (len < sizeof(*e))
		return 0;
	switch (e->kind) {
	case PYBPF_EV_FORK:
		/* a forked Python is one at once; anything else may exec one */
		f->forks++;
		if (!add(f, (pid_t)e->pid) ||
		    pending_add(&f->pending, (pid_t)e->pid, monotonic_ns()))
			f->failed = true;
		break;
	case PYBPF_EV_EXEC:
		if (!(p = find(f, (pid_t)e->pid)))
			break; /* not of the tree (the daemon's discovery hears every exec) */
		f->execs++;
		if (p->python) {
			/* another program now: what it was stays in the profile */
			recorder_remove_pid(f->r, p->pid);
			p->python = false;
		}
		if (pending_add(&f->pending, p->pid, monotonic_ns()))
			f->failed = true;
		break;
	case PYBPF_EV_EXIT:
		if (find(f, (pid_t)e->pid)) {
			f->exits++;
			gone(f, (pid_t)e->pid);
		}
		break;
	}
	return 0;
}

static int remember(struct follow *f, pid_t pid)
{
	if (f->npythons == f->pythons_cap) {
		size_t cap = f->pythons_cap ? 2 * f->pythons_cap : 16;
		pid_t *np = realloc(f->pythons, cap * sizeof(*np));
		if (!np)
			return -1;
		f->pythons = np;
		f->pythons_cap = cap;
	}
	f->pythons[f->npythons++] = pid;
	return 0;
}

/* The processes below root that run already: followed as if just forked. */
static void follow_existing(struct follow *f, pid_t root)
{
	size_t n;
	uint32_t *pids = procfs_descendants(root, &n);
	for (size_t i = 1; pids && i < n; i++) {
		if (find(f, (pid_t)pids[i]))
			continue;
		if (bpfs_follow(f->r->bpf, (pid_t)pids[i], on_event, f))
			continue;
		if (!add(f, (pid_t)pids[i]) ||
		    pending_add(&f->pending, (pid_t)pids[i], monotonic_ns()))
			f->failed = true;
	}
	free(pids);
}

int follow_start(struct follow *f, struct recorder *r, struct elfcache *elves, pid_t root,
		 bool registered, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->r = r;
	f->elves = elves;
	/* a capture of one tree can look often: a spawned Python is caught
	 * within milliseconds of its interpreter coming up */
	f->pending.every = 5000000ULL;
	struct follow_proc *p = add(f, root);
	if (!p || bpfs_follow(r->bpf, root, on_event, f)) {
		snprintf(err, errlen, "pid %d: following its subprocesses failed (BPF)", (int)root);
		return -1;
	}
	p->python = registered;
	if (registered ? remember(f, root) : pending_add(&f->pending, root, monotonic_ns())) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* again: a child forked by one of them before it was followed */
	follow_existing(f, root);
	follow_existing(f, root);
	return 0;
}

/* One look at a followed process: registered once its interpreter is up. */
static enum discovery_verdict look(void *ctx, pid_t pid, uint64_t age)
{
	struct follow *f = ctx;
	struct follow_proc *p = find(f, pid);
	struct pyprocess pp;
	char err[256];
	if (!p)
		return DISCOVERY_GIVE_UP; /* exited */
	enum discovery_verdict v =
		discovery_verdict(pyprocess_inspect(pid, f->elves, &pp, err, sizeof(err)), age);
	if (v == DISCOVERY_REGISTER && recorder_add_pid(f->r, &pp, err, sizeof(err)) == 0) {
		p->python = true;
		if (remember(f, pid))
			f->failed = true;
	}
	return v;
}

/* Processes gone without their exit heard (the events ring was full):
 * looked for once a second, so that a tree's end is never missed. */
static void sweep(struct follow *f, uint64_t now)
{
	if (now - f->swept < 1000000000ULL)
		return;
	f->swept = now;
	for (size_t i = 0; i < f->n;) {
		char st = procfs_task_state(f->procs[i].pid, (uint32_t)f->procs[i].pid);
		if (st == '?' || st == 'Z' || st == 'X') {
			f->procs[i] = f->procs[--f->n];
		} else
			i++;
	}
}

void follow_tick(struct follow *f)
{
	uint64_t now = monotonic_ns();
	pending_poll(&f->pending, now, look, f);
	sweep(f, now);
}

size_t follow_alive(const struct follow *f)
{
	return f->n;
}

bool follow_waiting(const struct follow *f)
{
	return f->pending.n > 0;
}

void follow_free(struct follow *f)
{
	free(f->procs);
	free(f->pythons);
	pending_free(&f->pending);
	memset(f, 0, sizeof(*f));
}
