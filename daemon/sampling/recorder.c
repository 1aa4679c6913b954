/* recorder.c - one profiling run, the pipeline shared by pybpfctl and pybpfd. */
#include "sampling/recorder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sampling/idle.h"

#define DRAIN_INTERVAL_NS 1000000000ULL

static int on_stack(void *ctx, const void *rec, size_t len)
{
	struct recorder *r = ctx;
	agg_stack(&r->agg, rec, len);
	return 0;
}

/* A count, drained or partial, to everything that takes them. */
static int deliver(void *ctx, const struct pybpf_count_key *key, const struct pybpf_count *val)
{
	struct recorder *r = ctx;
	if (r->count_hook)
		r->count_hook(r->hook_ctx, key, val);
	return agg_count(&r->agg, key, val);
}

/* A drained count, less what was already delivered of it as partials. */
static int on_count(void *ctx, const struct pybpf_count_key *key, const struct pybpf_count *val)
{
	struct recorder *r = ctx;
	struct pybpf_count v = *val;
	struct pybpf_count_key k = *key;
	intervals_count(&r->ivl, &k, &v);
	if (!v.count && !v.ns)
		return 0;
	return deliver(r, &k, &v);
}

static int sql_text(void *ctx, uint32_t sql, char *out, size_t len)
{
	return bpfs_sql_text(ctx, sql, out, len);
}

static int exited_name(void *ctx, uint32_t pid, uint32_t tid, char *out, size_t len)
{
	return bpfs_exited_thread(ctx, pid, tid, out, len);
}

static int thread_stacks(void *ctx, uint32_t pid, const uint32_t *tids, const uint64_t *ts,
			 size_t n, uint64_t *hashes)
{
	struct recorder *r = ctx;
	const struct pyprocess *pp = agg_process(&r->agg, (pid_t)pid);
	if (!pp || idle_stacks(&r->agg, pp, tids, n, hashes))
		return pp ? -1 : 0;
	for (size_t i = 0; i < n; i++) {
		struct offcpu_start now;
		if (bpfs_offcpu_of(r->bpf, tids[i], &now) || now.ts != ts[i])
			hashes[i] = 0; /* woke while read: not this interval's stack */
	}
	return 0;
}

void recorder_set_offcpu_stacks(struct recorder *r, bool on)
{
	r->offcpu_stacks = on;
	bpfs_set_offcpu_stacks(r->bpf, on);
}

enum drain_kind {
	DRAIN_TICK,  /* the generation before the one just closed (counts land late) */
	DRAIN_FLUSH, /* every generation closed: all sampled until now */
	DRAIN_FINAL, /* sampling stopped: everything */
};

/* One drain: the flip, the threads off CPU, the partials of the span
 * drained, then the counts. */
static int drain(struct recorder *r, enum drain_kind kind)
{
	uint64_t now = monotonic_ns();
	uint32_t filling = bpfs_flip(r->bpf);
	int ret = 0;
	if (kind != DRAIN_TICK)
		usleep(2000); /* let samples in flight on other CPUs land */
	if (r->offcpu) {
		size_t n = 0;
		struct bpfs_offcpu *snap = bpfs_offcpu_now(r->bpf, &n);
		if (!snap || intervals_drain(&r->ivl, snap, n, now, filling + 1, deliver, r))
			ret = -1;
		/* threads asleep since before stacks were wanted: their stacks now,
		 * before the partials of the next drain */
		if (r->offcpu_stacks && intervals_give_stacks(&r->ivl, thread_stacks, r))
			ret = -1;
	}
	uint32_t keep_from = kind == DRAIN_TICK	   ? filling
			     : kind == DRAIN_FLUSH ? filling + 1
						   : filling + 2;
	if (bpfs_drain(r->bpf, keep_from, on_count, r))
		ret = -1;
	if (r->offcpu && kind != DRAIN_TICK && intervals_flush(&r->ivl, now, deliver, r))
		ret = -1;
	r->last_drain = now;
	return ret;
}

int recorder_open(struct recorder *r, uint32_t rate_hz, enum agg_mode mode, char *err,
		  size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (agg_init(&r->agg, rate_hz, mode)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->bpf = bpfs_open(rate_hz, on_stack, r, err, errlen);
	if (!r->bpf) {
		agg_free(&r->agg);
		return -1;
	}
	agg_reload_kallsyms(&r->agg); /* with the JIT images of our programs */
	r->agg.exited_name = exited_name;
	r->agg.exited_ctx = r->bpf;
	r->agg.sql_text = sql_text;
	r->agg.sql_ctx = r->bpf;
	r->offcpu = mode != AGG_MODE_CPU;
	r->offcpu_stacks = true; /* the BPF side's default */
	if (r->offcpu && bpfs_enable_offcpu(r->bpf)) {
		snprintf(err, errlen, "attaching to sched_switch failed: %s", strerror(errno));
		recorder_close(r);
		return -1;
	}
	r->start_ns = realtime_ns();
	r->start_mono = r->last_drain = monotonic_ns();
	if (intervals_init(&r->ivl, r->start_mono)) {
		snprintf(err, errlen, "out of memory");
		recorder_close(r);
		return -1;
	}
	return 0;
}

void recorder_close(struct recorder *r)
{
	bpfs_close(r->bpf);
	agg_free(&r->agg);
	intervals_free(&r->ivl);
	dbprobes_free(&r->db);
	memset(r, 0, sizeof(*r));
}

int recorder_add_pid(struct recorder *r, const struct pyprocess *pp, char *err, size_t errlen)
{
	if (agg_add_process(&r->agg, pp)) {
		snprintf(err, errlen, "pid %d: cannot read its memory maps", (int)pp->pid);
		return -1;
	}
	if (bpfs_add_process(r->bpf, pp)) {
		snprintf(err, errlen, "pid %d: registering it with the BPF program failed",
			 (int)pp->pid);
		agg_forget_process(&r->agg, pp->pid);
		return -1;
	}
	/* threads already off CPU: a context switch would only show them when
	 * they come back.  Seeded after registering, so a thread that wakes and
	 * sleeps again meanwhile is seen by the BPF program (the seed never
	 * replaces what it wrote) */
	if (r->agg.mode != AGG_MODE_CPU) {
		idle_threads_seed(&r->agg, r->bpf, pp);
		if (dbprobes_add(&r->db, r->bpf, pp->pid, monotonic_ns())) {
			snprintf(err, errlen, "out of memory");
			recorder_remove_pid(r, pp->pid);
			return -1;
		}
	}
	return 0;
}

void recorder_remove_pid(struct recorder *r, pid_t pid)
{
	dbprobes_remove(&r->db, pid);
	bpfs_remove_process(r->bpf, pid);
	agg_forget_process(&r->agg, pid);
}

static void forget_stack(void *ctx, uint64_t hash)
{
	bpfs_forget_stack(ctx, hash);
}

long recorder_sweep(struct recorder *r, uint32_t keep)
{
	/* a thread asleep for long keeps its stack: its partials count it at
	 * every drain, and that of a thread just gone to sleep is touched here */
	for (size_t i = 0; i < r->ivl.nprev; i++)
		agg_touch(&r->agg, r->ivl.prev[i].v.hash);
	for (size_t i = 0; i < r->ivl.n; i++)
		if (r->ivl.v[i].stack)
			agg_touch(&r->agg, r->ivl.v[i].stack);
	return agg_sweep(&r->agg, keep, forget_stack, r->bpf);
}

long recorder_drop_pids(struct recorder *r, const uint32_t *pids, size_t n)
{
	return agg_drop_pids(&r->agg, pids, n, forget_stack, r->bpf);
}

void recorder_begin(struct recorder *r)
{
	r->start_ns = realtime_ns();
	r->start_mono = r->last_drain = r->ivl.d1 = monotonic_ns();
}

int recorder_step(struct recorder *r, int timeout_ms)
{
	if (bpfs_poll(r->bpf, timeout_ms))
		return -1;
	uint64_t now = monotonic_ns();
	if (now - r->last_drain < DRAIN_INTERVAL_NS)
		return 0;
	dbprobes_tick(&r->db, r->bpf, now);
	return drain(r, DRAIN_TICK) ? -1 : 1;
}

int recorder_cut(struct recorder *r)
{
	return drain(r, DRAIN_TICK);
}

int recorder_flush(struct recorder *r)
{
	return drain(r, DRAIN_FLUSH);
}

struct profile *recorder_finish(struct recorder *r)
{
	bpfs_stop(r->bpf); /* so the counters and the profile agree */
	drain(r, DRAIN_FINAL);
	struct profile *p = agg_take(&r->agg);
	if (!p)
		return NULL;
	p->start_ns = r->start_ns;
	p->duration_ns = r->last_drain - r->start_mono;
	return p;
}

int recorder_stats(struct recorder *r, struct recorder_stats *out)
{
	out->agg = r->agg.stats;
	out->bpf_run_ns = out->bpf_run_cnt = 0;
	bpfs_prog_runtime(r->bpf, &out->bpf_run_ns, &out->bpf_run_cnt);
	return bpfs_stats(r->bpf, out->bpf);
}

size_t recorder_drops(const struct recorder_stats *st, struct recorder_drop *out)
{
	size_t n = 0;
	for (int i = 0; i < STAT__COUNT; i++)
		if (bpfs_stat_kind(i) == STATK_DROP)
			out[n++] = (struct recorder_drop){bpfs_stat_name(i), st->bpf[i]};
	out[n++] = (struct recorder_drop){"stack_lost", st->agg.unknown_stack};
	return n;
}

uint64_t recorder_drops_total(const struct recorder_drop *d, size_t n)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += d[i].n;
	return total;
}

uint64_t recorder_dropped(const struct recorder_stats *st)
{
	struct recorder_drop d[RECORDER_MAX_DROPS];
	return recorder_drops_total(d, recorder_drops(st, d));
}

void recorder_drops_text(FILE *out, const struct recorder_drop *d, size_t n)
{
	uint64_t total = recorder_drops_total(d, n);
	fprintf(out, "dropped %llu", (unsigned long long)total);
	for (size_t i = 0, shown = 0; i < n; i++)
		if (d[i].n)
			fprintf(out, "%s%s %llu", shown++ ? ", " : " (", d[i].reason,
				(unsigned long long)d[i].n);
	if (total)
		fputc(')', out);
}

void recorder_drops_json(FILE *out, const struct recorder_drop *d, size_t n)
{
	fprintf(out, "\"dropped\": %llu, \"drops\": {",
		(unsigned long long)recorder_drops_total(d, n));
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s\"%s\": %llu", i ? ", " : "", d[i].reason,
			(unsigned long long)d[i].n);
	fputc('}', out);
}
