/* idle.c - threads already off CPU when tracking starts. */
#define _GNU_SOURCE
#include "sampling/idle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offcpu_reason.h"
#include "python/dump.h"
#include "sys/memread.h"
#include "sys/procfs.h"

static int fd_reason(pid_t pid, long fd)
{
	switch (procfs_fd_kind(pid, fd)) {
	case FD_KIND_SOCKET:
		return REASON_SOCKET;
	case FD_KIND_FILE:
		return REASON_FILE;
	case FD_KIND_OTHER:
		break;
	}
	return REASON_OTHER;
}

int idle_reason(const struct pyprocess *pp, uint32_t tid)
{
	long nr = -1;
	uint64_t a[2];
	if (procfs_syscall(pp->pid, tid, &nr, a))
		return REASON_OTHER;
	int r = pybpf_syscall_reason(nr, a[0]);
	if (r == SYSCALL_BY_FUTEX)
		return pybpf_futex_is_gil(&pp->layout.bpf, pp->gil_addr, a[0]) ? REASON_GIL
									       : REASON_LOCK;
	if (r == SYSCALL_BY_FD)
		return fd_reason(pp->pid, (long)a[0]);
	if (r == SYSCALL_BY_POLL) {
		int fd = -1;
		if (!a[0] || !a[1] || mem_read(pp->pid, a[0], &fd, sizeof(fd)))
			return REASON_SLEEP;
		return fd_reason(pp->pid, fd);
	}
	return r;
}

static const struct dump_thread *dumped(const struct dump *d, uint32_t tid)
{
	for (size_t i = 0; i < d->nthreads; i++)
		if (d->threads[i].tid == tid)
			return &d->threads[i];
	return NULL;
}

/* The stack of a thread as dumped (t NULL: none), added to the aggregator. */
static int thread_stack(struct aggregator *a, const struct pyprocess *pp,
			const struct dump_thread *t, struct prof_frame *frames, uint64_t *hash)
{
	size_t n = 0;
	for (size_t i = 0; t && i < t->nframes; i++)
		frames[n++] = (struct prof_frame){
			.kind = PROF_FRAME_PYTHON,
			.name = t->frames[i].name,
			.file = t->frames[i].file,
			.start_line = t->frames[i].first_line,
			.line = t->frames[i].line,
		};
	if (!n)
		frames[n++] = (struct prof_frame){.kind = PROF_FRAME_SPECIAL,
						  .name = "[no Python frames]"};
	return agg_add_stack(a, (uint32_t)pp->pid, frames, n, hash);
}

static int seed_thread(struct aggregator *a, struct bpf_session *s, const struct pyprocess *pp,
		       uint32_t tid, const struct dump_thread *t, struct prof_frame *frames)
{
	uint64_t hash;
	if (thread_stack(a, pp, t, frames, &hash))
		return -1;
	if (bpfs_seed_offcpu(s, tid, (uint32_t)pp->pid, hash, (uint8_t)idle_reason(pp, tid)) == 0)
		return 0;
	return errno == EEXIST ? 0 : -1; /* the BPF program saw it leave meanwhile */
}

int idle_threads_seed(struct aggregator *a, struct bpf_session *s, const struct pyprocess *pp)
{
	char err[256] = "";
	struct dump d;
	size_t ntids;
	int added = 0, failed = 0;
	uint32_t *tids = procfs_tasks(pp->pid, &ntids);
	struct prof_frame *frames = calloc(DUMP_MAX_FRAMES, sizeof(*frames));
	if (!tids || !frames) {
		free(tids);
		free(frames);
		return tids ? -1 : 0; /* no task list: the process is gone */
	}
	/* the threads asleep: never worth holding a running one still */
	if (dump_process(pp, &d, DUMP_NONBLOCKING, err, sizeof(err)))
		memset(&d, 0, sizeof(d));
	for (size_t i = 0; i < ntids; i++) {
		char st = procfs_task_state(pp->pid, tids[i]);
		if (st != 'S' && st != 'D')
			continue; /* running or runnable: its next switch shows it */
		/* one that fails costs its own interval, not the others' */
		if (seed_thread(a, s, pp, tids[i], dumped(&d, tids[i]), frames))
			failed++;
		else
			added++;
	}
	dump_free(&d);
	free(frames);
	free(tids);
	return failed ? -1 : added;
}

int idle_stacks(struct aggregator *a, const struct pyprocess *pp, const uint32_t *tids, size_t n,
		uint64_t *hashes)
{
	char err[256] = "";
	struct dump d;
	int ret = 0;
	struct prof_frame *frames = calloc(DUMP_MAX_FRAMES, sizeof(*frames));
	if (!frames)
		return -1;
	if (dump_process(pp, &d, DUMP_NONBLOCKING, err, sizeof(err)))
		memset(&d, 0, sizeof(d)); /* gone: no stacks, not an error */
	for (size_t i = 0; i < n && d.nthreads; i++)
		if (thread_stack(a, pp, dumped(&d, tids[i]), frames, &hashes[i])) {
			ret = -1;
			break;
		}
	dump_free(&d);
	free(frames);
	return ret;
}
