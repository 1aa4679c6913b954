/* aggregate.h - turns what the BPF side sends (new stacks, counts by stack
 * hash) into symbolized samples of a profile.  One aggregator belongs to one
 * thread (the recorder's); nothing in it is shared. */
#ifndef PYBPF_AGGREGATE_H
#define PYBPF_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "native/kallsyms.h"
#include "profile/profile.h"
#include "pybpf_shared.h"
#include "python/pyprocess.h"
#include "report/waitstats.h"
#include "sampling/stacks.h"

struct agg_proc;
struct agg_scratch;
struct elfcache;

/* What goes into the profile (the per-thread wait statistics get everything). */
enum agg_mode {
	AGG_MODE_CPU,	 /* on-CPU samples: sample type cpu/nanoseconds */
	AGG_MODE_WALL,	 /* on-CPU samples and off-CPU time: wall/nanoseconds */
	AGG_MODE_OFFCPU, /* off-CPU time, every reason: off_cpu/nanoseconds */
	AGG_MODE_GIL,	 /* time waiting for the GIL: gil_wait/nanoseconds */
};

/* Parses "cpu", "wall", "offcpu", "gil"; -1 when unknown. */
int agg_mode_parse(const char *s);
const char *agg_mode_name(enum agg_mode m);
/* The sample type a mode's profile carries ("cpu", "wall", ...). */
const char *agg_mode_value_type(enum agg_mode m);
/* Does a profile of mode m take a count of this kind and reason? */
bool agg_mode_wants(enum agg_mode m, uint8_t kind, uint8_t reason);

struct agg_stats {
	uint64_t stacks;	    /* distinct stacks received */
	uint64_t unknown_stack;	    /* samples whose stack never arrived (dropped) */
	uint64_t unknown_code;	    /* Python frames whose code object could not be read */
	uint64_t stacks_forgotten;  /* stacks dropped by agg_sweep() */
	uint64_t thread_names;	    /* new threads whose Python name was looked for */
	uint64_t thread_name_reads; /* target reads those looks took */
	uint64_t task_reads;	    /* reads of a process's asyncio tasks (new tasks met) */
	uint64_t task_misses;	    /* looks for a stack's task that found none (looked
				     * for again as its samples come) */
	uint64_t sql_unknown;	    /* database waits whose statement's template was gone
				     * (sql_texts full): no sql label */
};

#define AGG_SQL_CACHE 64

struct aggregator {
	struct profile frames;	/* frame interning only: stacks index its frames */
	struct profile *window; /* samples since the last agg_take() */
	uint32_t *remap;	/* frames index -> window index + 1 */
	size_t remap_cap;
	struct stack_table stacks;
	struct agg_proc *procs;
	struct elfcache *elves; /* ELF files of every process, loaded once */
	struct kallsyms ksyms;
	int have_ksyms;
	uint64_t ksyms_loaded;	/* monotonic ns */
	uint64_t ksyms_backoff; /* ns between reloads now; 0: KSYMS_REREAD_NS */
	uint32_t rate_hz;
	enum agg_mode mode;
	struct waitstats waits;
	struct agg_stats stats;
	struct agg_scratch *scratch; /* working buffers of one stack */
	/* the name of a thread gone from /proc, from whoever saw it exit */
	int (*exited_name)(void *ctx, uint32_t pid, uint32_t tid, char *out, size_t len);
	void *exited_ctx;
	/* a database statement's template by its hash (a count's sql), from
	 * whoever keeps them (0, or -1 not known); the last few, kept here */
	int (*sql_text)(void *ctx, uint32_t sql, char *out, size_t len);
	void *sql_ctx;
	struct agg_sql {
		uint32_t sql;
		char text[PYBPF_SQL_MAX];
	} sql_cache[AGG_SQL_CACHE];
};

int agg_init(struct aggregator *a, uint32_t rate_hz, enum agg_mode mode);
void agg_free(struct aggregator *a);
/* Reads the kernel's symbols again (after BPF programs were loaded: their
 * JIT images have symbols too). */
void agg_reload_kallsyms(struct aggregator *a);

/* Starts symbolizing pid (its interpreter described by pp). */
int agg_add_process(struct aggregator *a, const struct pyprocess *pp);
void agg_forget_process(struct aggregator *a, pid_t pid);
/* The process as registered, or NULL. */
const struct pyprocess *agg_process(struct aggregator *a, pid_t pid);

/* A stack record from the ring buffer (len bytes). */
int agg_stack(struct aggregator *a, const void *rec, size_t len);
/* ns of an event loop's stall that thread tid of pid spent in stack hash,
 * off CPU for reason or on it ("cpu"): a sample with only stall time (no
 * count, no value: nothing but the stall type weighs it).  0, 1 when the
 * stack or process is not known (nothing added), -1 out of memory. */
int agg_stall(struct aggregator *a, uint32_t pid, uint32_t tid, uint64_t hash, const char *reason,
	      uint64_t ns);
/* A count drained from the kernel: samples of, or time off CPU with, the
 * stack key->hash on thread key->tid. */
int agg_count(struct aggregator *a, const struct pybpf_count_key *key,
	      const struct pybpf_count *val);

/* Adds a stack built in userspace (n frames, leaf first) for pid; *hash
 * names it for agg_count() (bit 63 set: PYBPF_HASH_USER_BIT). */
int agg_add_stack(struct aggregator *a, uint32_t pid, const struct prof_frame *frames, size_t n,
		  uint64_t *hash);

/* The frames of a stack (indices into a->frames.frames, leaf first). */
int agg_stack_frames(struct aggregator *a, uint64_t hash, const uint32_t **frames, uint32_t *n);
/* The asyncio task a stack ran in (its name), or NULL. */
const char *agg_stack_task(struct aggregator *a, uint64_t hash);
/* The endpoint (view) a stack serves, or NULL. */
const char *agg_stack_endpoint(struct aggregator *a, uint64_t hash);
/* The name /proc gives a thread. */
const char *agg_thread_name(struct aggregator *a, uint32_t pid, uint32_t tid);

/* Samples at rate_hz from now on (the current window too). */
void agg_set_rate(struct aggregator *a, uint32_t rate_hz);

/* Long runs: stacks no longer seen are forgotten.  Every agg_count() of a
 * stack, its record arriving again, or agg_touch() (a thread still off CPU
 * in it) keeps it for `keep` more sweeps; then it is forgotten in two steps
 * (stacks_sweep), and the frame table is rebuilt with the frames still used
 * (agg_stack_frames() indices change).  Thread names are read again.
 * Returns how many stacks it forgot, -1 when out of memory (then nothing is
 * lost). */
void agg_touch(struct aggregator *a, uint64_t hash);
long agg_sweep(struct aggregator *a, uint32_t keep, stacks_forget_fn forget, void *ctx);
/* Drops the stacks of processes gone for good (pids sorted), and the frames
 * only they used.  Returns how many stacks, -1 on ENOMEM. */
long agg_drop_pids(struct aggregator *a, const uint32_t *pids, size_t n, stacks_forget_fn forget,
		   void *ctx);
/* Stacks known now. */
size_t agg_stack_count(const struct aggregator *a);

/* Hands over the samples gathered so far (caller owns and frees it with
 * profile_free + free) and starts a new window.  NULL on ENOMEM. */
struct profile *agg_take(struct aggregator *a);

#endif
