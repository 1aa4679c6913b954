/* idle.c - threads that stayed off CPU for a whole recording. */
#define _GNU_SOURCE
#include "idle.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump.h"
#include "memread.h"
#include "offcpu_reason.h"

static int fd_reason(pid_t pid, long fd)
{
	char fn[64], target[256];
	struct stat st;
	snprintf(fn, sizeof(fn), "/proc/%d/fd/%ld", (int)pid, fd);
	ssize_t n = readlink(fn, target, sizeof(target) - 1);
	if (n <= 0)
		return REASON_OTHER;
	target[n] = 0;
	if (strncmp(target, "socket:", 7) == 0)
		return REASON_SOCKET;
	if (stat(fn, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return REASON_FILE;
	return REASON_OTHER;
}

int idle_reason(const struct pyprocess *pp, uint32_t tid)
{
	char fn[96], line[512];
	long nr = -1;
	unsigned long long a0 = 0, a1 = 0;
	snprintf(fn, sizeof(fn), "/proc/%d/task/%u/syscall", (int)pp->pid, tid);
	FILE *f = fopen(fn, "re");
	if (!f)
		return REASON_OTHER;
	int got = fgets(line, sizeof(line), f) ? sscanf(line, "%ld %llx %llx", &nr, &a0, &a1) : 0;
	fclose(f);
	if (got < 1 || nr < 0)
		return REASON_OTHER; /* "running", or not in a syscall */
	int r = pybpf_syscall_reason(nr, a0);
	if (r == SYSCALL_BY_FUTEX)
		return pybpf_futex_is_gil(&pp->layout, pp->gil_addr, a0) ? REASON_GIL : REASON_LOCK;
	if (r == SYSCALL_BY_FD)
		return fd_reason(pp->pid, (long)a0);
	if (r == SYSCALL_BY_POLL) {
		int fd = -1;
		if (!a0 || !a1 || mem_read(pp->pid, a0, &fd, sizeof(fd)))
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

static int seed_thread(struct aggregator *a, struct bpf_session *s, const struct pyprocess *pp,
		       uint32_t tid, const struct dump_thread *t)
{
	static struct prof_frame frames[DUMP_MAX_FRAMES];
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
	uint64_t hash;
	if (agg_add_stack(a, (uint32_t)pp->pid, frames, n, &hash))
		return -1;
	if (bpfs_seed_offcpu(s, tid, (uint32_t)pp->pid, hash, (uint8_t)idle_reason(pp, tid)) == 0)
		return 0;
	return errno == EEXIST ? 0 : -1; /* the BPF program saw it leave meanwhile */
}

static char task_state(pid_t pid, uint32_t tid)
{
	char fn[96], buf[512], state = '?';
	snprintf(fn, sizeof(fn), "/proc/%d/task/%u/stat", (int)pid, tid);
	FILE *f = fopen(fn, "re");
	if (!f)
		return state;
	if (fgets(buf, sizeof(buf), f)) {
		char *rp = strrchr(buf, ')');
		if (rp && rp[1] == ' ')
			state = rp[2];
	}
	fclose(f);
	return state;
}

int idle_threads_seed(struct aggregator *a, struct bpf_session *s, const struct pyprocess *pp)
{
	char fn[64], err[256] = "";
	struct dump d;
	int added = 0;
	snprintf(fn, sizeof(fn), "/proc/%d/task", (int)pp->pid);
	DIR *dir = opendir(fn);
	if (!dir)
		return 0; /* the process is gone */
	if (dump_process(pp, &d, err, sizeof(err)))
		memset(&d, 0, sizeof(d));
	struct dirent *de;
	while ((de = readdir(dir))) {
		uint32_t tid = (uint32_t)strtoul(de->d_name, NULL, 10);
		char st = tid ? task_state(pp->pid, tid) : 'R';
		if (st != 'S' && st != 'D')
			continue; /* running or runnable: its next switch shows it */
		if (seed_thread(a, s, pp, tid, dumped(&d, tid))) {
			added = -1;
			break;
		}
		added++;
	}
	closedir(dir);
	dump_free(&d);
	return added;
}
