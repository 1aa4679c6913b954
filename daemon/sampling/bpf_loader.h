/* bpf_loader.h - loads the BPF programs, attaches them to perf events on
 * every CPU, registers processes and reads back stacks, counts and drops. */
#ifndef PYBPF_BPF_LOADER_H
#define PYBPF_BPF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pybpf_shared.h"
#include "python/pyprocess.h"

struct bpf_session;

/* Called for every new stack record. */
typedef int (*bpfs_stack_fn)(void *ctx, const void *rec, size_t len);
/* Called for every (stack, thread, kind, reason) count drained. */
typedef int (*bpfs_count_fn)(void *ctx, const struct pybpf_count_key *key,
			     const struct pybpf_count *val);

/* Loads and attaches at rate_hz samples per second per CPU.  On failure
 * returns NULL and err says why and what to do (privileges, BTF). */
struct bpf_session *bpfs_open(uint32_t rate_hz, bpfs_stack_fn on_stack, void *ctx, char *err,
			      size_t errlen);
/* Starts tracking threads off CPU (sched_switch): off-CPU time, its reasons,
 * GIL waits.  Costs a little on every context switch of a registered process. */
int bpfs_enable_offcpu(struct bpf_session *s);

/* The GIL counters of pid (zeroes when none), its wait-length histogram
 * (GIL_HIST_BUCKETS buckets, 4 per power of two of nanoseconds) and, per
 * thread, its GIL episodes. */
/* The exact GIL signal: uprobes on pp's take_gil (once per interpreter
 * file).  0, or -1 with errno (ENOENT: no take_gil symbol). */
int bpfs_attach_gil_takes(struct bpf_session *s, const struct pyprocess *pp);
void bpfs_detach_gil_takes(struct bpf_session *s);
int bpfs_gil_takes_attached(const struct bpf_session *s);
/* Database time: uprobes on a driver library's entry points (pts[n]: file
 * offsets, and which program) of the file at path, device dev and inode
 * ino, once per file (n 0: a file with none, not tried again).  0, or -1
 * with errno. */
struct bpfs_db_point {
	uint64_t offset;
	enum db_entry_kind kind;
};
int bpfs_attach_db(struct bpf_session *s, const char *path, dev_t dev, ino_t ino,
		   const struct bpfs_db_point *pts, size_t n);
bool bpfs_db_attached(const struct bpf_session *s, dev_t dev, ino_t ino);
/* Whether database calls' statements are read (their templates: sql_text). */
void bpfs_set_sql_text(struct bpf_session *s, bool on);
/* The template of hash sql into out (NUL-ended); 0, or -1 if not kept. */
int bpfs_sql_text(struct bpf_session *s, uint32_t sql, char *out, size_t len);
/* Each template's calls of pid that ended (hist: by log_bucket, as GIL waits'). */
typedef int (*bpfs_sql_fn)(void *ctx, uint32_t sql, const struct sql_stat *st,
			   const uint64_t hist[GIL_HIST_BUCKETS]);
int bpfs_sql_stats(struct bpf_session *s, pid_t pid, bpfs_sql_fn fn, void *ctx);
/* A thread's take_gil figures; its histogram (of the calls that blocked). */
int bpfs_gil_take(struct bpf_session *s, uint32_t tid, struct gil_take *out);
void bpfs_gil_take_hist(struct bpf_session *s, pid_t pid, uint64_t hist[GIL_HIST_BUCKETS]);

int bpfs_gil_stats(struct bpf_session *s, pid_t pid, struct gil_stats *out,
		   uint64_t hist[GIL_HIST_BUCKETS]);
int bpfs_gil_thread(struct bpf_session *s, uint32_t tid, struct gil_thread *out);

/* Tells the BPF side that tid (of pid) left the CPU now, blocked for reason
 * with the stack hash: for threads already asleep when tracking starts. */
int bpfs_seed_offcpu(struct bpf_session *s, uint32_t tid, uint32_t pid, uint64_t hash,
		     uint8_t reason);

/* A thread off CPU now: its tid and the record of its switch-out. */
struct bpfs_offcpu {
	uint32_t tid;
	struct offcpu_start v;
};
/* The name an exited thread of pid had (from sched_process_exit); 0, or -1
 * when the kernel side does not remember it. */
int bpfs_exited_thread(struct bpf_session *s, uint32_t pid, uint32_t tid, char *comm, size_t len);

/* Every thread off CPU now, each once (malloc'd, *n of them), or NULL. */
struct bpfs_offcpu *bpfs_offcpu_now(struct bpf_session *s, size_t *n);
/* The off-CPU interval thread tid is in now: 0, or -1 if none. */
int bpfs_offcpu_of(struct bpf_session *s, uint32_t tid, struct offcpu_start *out);

/* Samples at rate_hz from now on (re-attaches the perf events). */
int bpfs_set_rate(struct bpf_session *s, uint32_t rate_hz, char *err, size_t errlen);
/* Whether off-CPU intervals carry their stack (default) or only their time
 * and reason (cheaper: no unwinding, nothing sent). */
void bpfs_set_offcpu_stacks(struct bpf_session *s, int on);
/* Whether stacks carry their coroutine frame, so that each asyncio task
 * has stacks of its own (default on). */
void bpfs_set_task_stacks(struct bpf_session *s, int on);

/* Called for every exec (any process) and every exit of a registered
 * process: rec is a struct pybpf_proc_event. */
typedef int (*bpfs_event_fn)(void *ctx, const void *rec, size_t len);

/* Event loops (include/pybpf_shared.h): every wait of registered
 * processes' threads timed, stalls (busy spans of threshold_ns or more)
 * sent to on_stall (a struct pybpf_stall) from the next polls.  Costs a
 * look at every system call of the host while on: only while asked. */
int bpfs_loops_start(struct bpf_session *s, uint64_t threshold_ns, bpfs_event_fn on_stall,
		     void *ctx);
void bpfs_loops_stop(struct bpf_session *s);
/* HTTP/1.x requests at the socket: each answered one, a struct
 * pybpf_http_req, to on_request from bpfs_poll (sys_enter and sys_exit:
 * recvfrom, read, sendto, write).  -1 and errno when they cannot attach. */
int bpfs_http_start(struct bpf_session *s, bpfs_event_fn on_request, void *ctx);
void bpfs_http_stop(struct bpf_session *s);
/* What measures the loops while on: "fentry" (the wait functions) or
 * "syscalls" (the system call tracepoints, where those cannot be traced);
 * NULL while off. */
const char *bpfs_loop_hooks(const struct bpf_session *s);
/* fn for every thread's loop figures (until it returns non-zero: 1). */
typedef int (*bpfs_loop_fn)(void *ctx, uint32_t tid, const struct loop_thread *lt);
int bpfs_loop_each(struct bpf_session *s, bpfs_loop_fn fn, void *ctx);
/* The loop figures of pid's threads (at most max): how many. */
size_t bpfs_loop_threads(struct bpf_session *s, pid_t pid, uint32_t *tids, struct loop_thread *out,
			 size_t max);
/* Starts reporting execs and exits (sched_process_exec/exit); the events
 * arrive through bpfs_poll(). */
int bpfs_enable_proc_events(struct bpf_session *s, bpfs_event_fn on_event, void *ctx);
/* Follows pid's tree: every process it forks from now on (and they fork)
 * is followed too and said (PYBPF_EV_FORK), its execs and its exit as
 * well, to on_event (which, when proc events were not enabled before,
 * then hears of the followed processes only). */
int bpfs_follow(struct bpf_session *s, pid_t pid, bpfs_event_fn on_event, void *ctx);

/* Stops sampling (detaches from the perf events); maps stay readable and
 * threads that exit are still named (exited_threads) until bpfs_close. */
void bpfs_stop(struct bpf_session *s);
void bpfs_close(struct bpf_session *s);

int bpfs_add_process(struct bpf_session *s, const struct pyprocess *pp);
/* Stops profiling pid and frees what the kernel kept of it (GIL counters). */
int bpfs_remove_process(struct bpf_session *s, pid_t pid);
/* The kernel sends stack hash again when it next sees it. */
void bpfs_forget_stack(struct bpf_session *s, uint64_t hash);

/* A descriptor that polls readable when stacks or events wait. */
int bpfs_epoll_fd(struct bpf_session *s);
/* Delivers new stacks; waits at most timeout_ms for the first. */
int bpfs_poll(struct bpf_session *s, int timeout_ms);
/* Takes what every ring buffer holds now, whether it woke or not. */
void bpfs_consume(struct bpf_session *s);

/* Counts go to a new generation from now on (filling + 1); returns the one
 * that was filling, after the samples in flight have landed in it. */
uint32_t bpfs_flip(struct bpf_session *s);
/* Moves the counts of the generations before keep_from to on_count, oldest
 * generation first; new stacks are delivered before. */
int bpfs_drain(struct bpf_session *s, uint32_t keep_from, bpfs_count_fn on_count, void *ctx);

/* Sums the per-CPU counters (enum pybpf_stat). */
int bpfs_stats(struct bpf_session *s, uint64_t out[STAT__COUNT]);
/* Time the sampling program ran and how often, from the kernel's BPF stats
 * (non-zero only while sysctl kernel.bpf_stats_enabled is 1). */
int bpfs_prog_runtime(struct bpf_session *s, uint64_t *run_ns, uint64_t *run_cnt);
/* A counter's name and kind (PYBPF_STATS in include/pybpf_shared.h). */
const char *bpfs_stat_name(int stat);
enum pybpf_stat_kind bpfs_stat_kind(int stat);

#endif
