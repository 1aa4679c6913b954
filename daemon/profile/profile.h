/* profile.h - the in-memory profile every exporter reads.
 *
 * A profile is a table of unique frames and a list of samples; each sample is
 * a stack of frame indices, leaf first, with a count.  Strings are interned in
 * the profile and live as long as it does.
 */
#ifndef PYBPF_PROFILE_H
#define PYBPF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum prof_frame_kind {
	PROF_FRAME_PYTHON = 0,
	PROF_FRAME_NATIVE = 1,
	PROF_FRAME_KERNEL = 2,
	PROF_FRAME_SPECIAL = 3, /* "[truncated]", "[unknown]", thread roots */
};

struct prof_frame {
	enum prof_frame_kind kind;
	const char *name;   /* interned, never NULL */
	const char *file;   /* interned, "" when unknown */
	const char *module; /* native: mapped object path; else "" */
	int64_t start_line; /* python: co_firstlineno; else 0 */
	int64_t line;	    /* python: line of the sampled instruction */
	uint64_t address;   /* native/kernel: instruction pointer; python: 0 */
};

struct prof_sample {
	uint32_t *frames; /* indices into profile.frames, leaf first */
	uint32_t nframes;
	uint64_t count; /* number of samples */
	uint64_t value; /* the weighted value (ns), see profile.value_type */
	uint32_t pid;
	uint32_t tid;
	const char *thread_name; /* interned */
	const char *reason;	 /* interned, "" when none (cpu mode) */
	bool holds_gil;		 /* the thread held the GIL (a CPU sample's) */
	/* ns of event-loop stalls spent in this stack (pybpfd's windows: a
	 * third sample type, "stall"); a stall's own samples have no count
	 * and no value, so that nothing else weighs them */
	uint64_t stall_ns;
	/* the asyncio task it ran in, and the tasks awaiting that one
	 * (outermost first, "a > b"): interned, "" when none */
	const char *task;
	const char *task_parents;
	/* the view of the request it serves ("shop.views.checkout"):
	 * interned, "" when none */
	const char *endpoint;
	/* the template of the database statement it waited in ("SELECT * FROM
	 * t WHERE id = ?"): interned, "" when none */
	const char *sql;
};

/* Who a pid is, for labels: its pid in its own pid namespace, its cgroup
 * and its root directory when it is not the host's. */
struct prof_process {
	uint32_t pid;
	uint32_t ns_pid;
	const char *cgroup;  /* interned, "" when unknown */
	const char *root;    /* interned, "" for the host's root */
	const char *cmdline; /* interned, "" when unknown (cut at PROF_CMDLINE_MAX) */
};

#define PROF_CMDLINE_MAX 256

struct prof_strtab;
struct prof_frametab;

struct profile {
	struct prof_frame *frames;
	size_t nframes, frames_cap;
	struct prof_sample *samples;
	size_t nsamples, samples_cap;
	struct prof_process *procs;
	size_t nprocs, procs_cap;
	struct prof_strtab *strings;
	struct prof_frametab *frame_index;

	/* What the second value of every sample measures, e.g. "cpu". */
	const char *value_type; /* interned */
	const char *value_unit; /* interned, "nanoseconds" */
	uint64_t period_ns;	/* nanoseconds per sample (1e9 / rate) */
	uint32_t rate_hz;
	uint64_t start_ns;    /* wall clock, ns since the epoch */
	uint64_t duration_ns; /* length of the recording */
	uint64_t total_count; /* sum of sample counts */
	/* the text formats show Python files by their short names (pprof
	 * always keeps the path: its tools open the source) */
	bool short_files;
};

int profile_init(struct profile *p, uint32_t rate_hz);
void profile_free(struct profile *p);

/* Interns s (copied); returns a pointer valid for the profile's lifetime. */
const char *profile_str(struct profile *p, const char *s);

/* Adds f (strings are interned here) unless an equal frame exists; returns its
 * index or -1 on allocation failure. */
int64_t profile_frame(struct profile *p, const struct prof_frame *f);

/* Adds a sample; frames are indices, leaf first (copied).  Samples with equal
 * stacks, pid, tid, thread name and reason are merged (a stall's only with
 * stall samples).  Returns 0 or -1. */
int profile_add(struct profile *p, const uint32_t *frames, uint32_t nframes, uint64_t count,
		uint64_t value, uint32_t pid, uint32_t tid, const char *thread_name,
		const char *reason);
/* The same with every field from s (frames copied, strings interned):
 * holds_gil too, which keeps apart samples that differ only in it. */
int profile_add_sample(struct profile *p, const struct prof_sample *s);

/* qsort order of sample pointers (struct prof_sample *): by pid, tid, then
 * root-first frame indices, so that stacks sharing a prefix follow one
 * another (a thread's flame chart, its prefix one event). */
int profile_sample_cmp_thread_stack(const void *a, const void *b);

/* Records (or replaces) what is known of pid.  Returns 0 or -1. */
int profile_set_process(struct profile *p, uint32_t pid, uint32_t ns_pid, const char *cgroup,
			const char *root, const char *cmdline);
/* What is known of pid, or NULL. */
const struct prof_process *profile_process(const struct profile *p, uint32_t pid);

/* Which samples profile_merge() copies: true to keep s; *reason may be
 * replaced by an interned-or-static string (e.g. "" for a cpu profile). */
typedef bool (*prof_keep_fn)(void *ctx, const struct prof_sample *s, const char **reason);
/* Adds the samples of src that keep accepts (all when keep is NULL) to dst,
 * with their frames and process records.  Returns 0 or -1 (ENOMEM). */
int profile_merge(struct profile *dst, const struct profile *src, prof_keep_fn keep, void *ctx);

/* Whether any sample has stall time (the pprof then has a "stall" type). */
bool profile_has_stalls(const struct profile *p);

/* What a sample weighs in the flamegraph formats (collapsed, SVG): its
 * count in a CPU profile (samples), its value in microseconds in the others
 * (wall, off_cpu, gil_wait time) - never the count of off-CPU intervals,
 * which says nothing about how long they were. */
bool profile_is_cpu(const struct profile *p);
uint64_t profile_weight(const struct profile *p, const struct prof_sample *s);
/* "samples" or "microseconds". */
const char *profile_weight_unit(const struct profile *p);

/* "qualname (file:line)" for Python, "name" for native, "name_[k]" for kernel
 * frames: the text flamegraph formats show (file short when short_files).
 * Writes into buf, returns buf. */
const char *profile_frame_label(const struct prof_frame *f, bool short_files, char *buf,
				size_t len);

/* A Python file as py-spy shows it: its path inside the installation's
 * packages or standard library (django/core/handlers/base.py, threading.py),
 * else the path itself; a suffix of file, never a copy. */
const char *profile_short_file(const char *file);

#endif
