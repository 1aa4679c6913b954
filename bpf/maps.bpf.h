/* maps.bpf.h - the BPF side's state: the switches userspace flips, every map
 * (types from include/pybpf_shared.h), and the drop counters. */
#ifndef PYBPF_MAPS_BPF_H
#define PYBPF_MAPS_BPF_H

#include "pybpf_shared.h"

/* Flipped by userspace; samples count into the current generation. */
volatile __u32 gen;
/* Cleared by the daemon while nobody asks for off-CPU stacks: switch-outs
 * then count time by reason without capturing (and sending) the stack. */
volatile __u32 offcpu_stacks = 1;
/* Cleared by userspace to keep tasks out of the stacks (pybpfctl --no-tasks,
 * pybpfd's task_labels = false): see pybpf_stack.coro. */
volatile __u32 task_stacks = 1;
/* Set by userspace: only then does on_switch do anything. */
volatile __u32 offcpu_enabled;
/* statements' templates read at database calls (sql_text = off: 0) */
volatile __u32 sql_text_enabled = 1;
/* Set by the daemon: report execs and exits in events_rb. */
volatile __u32 proc_events_enabled;
/* Set when only the followed trees' events are wanted (pybpfctl's
 * --subprocesses without the daemon's discovery). */
volatile __u32 proc_events_followed_only;
/* Set by userspace while event loops are measured (pybpfctl asyncio): a
 * busy span longer than this is a stall. */
volatile __u64 loop_threshold_ns;
volatile __u32 loops_enabled;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_PROCS);
	__type(key, __u32); /* tgid */
	__type(value, struct py_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PYBPF_MAX_LAYOUTS);
	__type(key, __u32);
	__type(value, struct py_layout);
} layouts SEC(".maps");

struct tstate_entry {
	__u64 tstate;  /* 0: the thread has none (until expires) */
	__u64 expires; /* for negative entries */
	__u64 born;    /* when the thread was first looked for */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tid */
	__type(value, struct tstate_entry);
} tstates SEC(".maps");

struct scratch {
	struct pybpf_stack rec;
	/* slack past PYBPF_BUF: the compiler may fold a checked offset into a
	 * pointer before a later, tighter check */
	__u8 fbuf[PYBPF_BUF + 64];
	__u8 cbuf[PYBPF_BUF + 64];
};

/* Slot 0 for on_sample, slot 1 for on_switch. */
#define SCRATCH_SAMPLE 0
#define SCRATCH_SWITCH 1

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Stack hashes userspace already has. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} known_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pybpf_count_key);
	__type(value, struct pybpf_count);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tid */
	__type(value, struct offcpu_start);
} offcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_PROCS);
	__type(key, __u32); /* tgid */
	__type(value, struct gil_stats);
} gil_stats SEC(".maps");

/* Deleted when the thread exits (on_exit), so a plain hash: an LRU could
 * evict a thread whose waiting flag is set, and the count would drift. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tid */
	__type(value, struct gil_thread);
} gil_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct exited_thread);
} exited_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_THREADS);
	__type(key, __u32); /* tid */
	__type(value, struct gil_take);
} gil_takes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_THREADS);
	__type(key, __u32); /* tid */
	__type(value, struct db_call);
} db_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* template hash */
	__type(value, struct sql_text);
} sql_texts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct sql_key);
	__type(value, struct sql_stat);
} sql_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sql_hist_key);
	__type(value, __u64);
} sql_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct db_stmt_key);
	__type(value, struct db_stmt);
} db_stmts SEC(".maps");

/* A statement's text as read, and its template as made (per CPU). */
struct sql_scratch {
	__u8 raw[PYBPF_SQL_MAX];
	struct sql_text t;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sql_scratch);
} sql_scratch SEC(".maps");

/* GIL wait episodes by length: key gil_hist_key(tgid, bucket). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_PROCS * 16);
	__type(key, __u64);
	__type(value, __u64);
} gil_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} stacks_rb SEC(".maps");

/* The processes of the trees followed (record --subprocesses): a root
 * userspace puts in, and every process forked from one in it since. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PYBPF_MAX_FOLLOW);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} follow SEC(".maps");

/* Execs and exits, for the daemon's discovery (proc_events_enabled). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} events_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);
	if (v)
		*v += 1;
}

/* Event loops (pybpfctl asyncio): per thread, and the stalls. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tid */
	__type(value, struct loop_thread);
} loops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} stalls_rb SEC(".maps");

#endif
