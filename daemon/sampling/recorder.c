/* recorder.c - one profiling run, the pipeline shared by pybpfctl and pybpfd. */
#include "sampling/recorder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampling/idle.h"

#define DRAIN_INTERVAL_NS  1000000000ULL
#define RESYNC_INTERVAL_NS 100000000ULL

static int on_stack(void *ctx, const void *rec, size_t len)
{
	struct recorder *r = ctx;
	agg_stack(&r->agg, rec, len);
	return 0;
}

static int on_count(void *ctx, const struct pybpf_count_key *key, const struct pybpf_count *val)
{
	struct recorder *r = ctx;
	if (r->count_hook)
		r->count_hook(r->hook_ctx, key, val);
	return agg_count(&r->agg, key, val);
}

/* A thread still off CPU when the run ends: count the time so far. */
static int on_pending(void *ctx, uint32_t tid, uint32_t pid, uint64_t start_ns, uint64_t hash,
		      uint8_t reason, uint8_t holds_gil)
{
	struct recorder *r = ctx;
	uint64_t now = monotonic_ns();
	uint64_t from = start_ns > r->start_mono ? start_ns : r->start_mono;
	struct pybpf_count_key key = {.hash = hash,
				      .pid = pid,
				      .tid = tid,
				      .kind = KIND_OFFCPU,
				      .reason = reason,
				      .holds_gil = holds_gil};
	struct pybpf_count val = {1, now > from ? now - from : 0};
	return agg_count(&r->agg, &key, &val);
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
	if (mode != AGG_MODE_CPU && bpfs_enable_offcpu(r->bpf)) {
		snprintf(err, errlen, "attaching to sched_switch failed: %s", strerror(errno));
		recorder_close(r);
		return -1;
	}
	r->start_ns = realtime_ns();
	r->start_mono = r->last_drain = monotonic_ns();
	r->resync_ns = RESYNC_INTERVAL_NS;
	return 0;
}

void recorder_close(struct recorder *r)
{
	bpfs_close(r->bpf);
	agg_free(&r->agg);
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
	if (r->agg.mode != AGG_MODE_CPU)
		idle_threads_seed(&r->agg, r->bpf, pp);
	return 0;
}

void recorder_remove_pid(struct recorder *r, pid_t pid)
{
	bpfs_remove_process(r->bpf, pid);
	agg_forget_process(&r->agg, pid);
}

static int touch_pending(void *ctx, uint32_t tid, uint32_t pid, uint64_t start_ns, uint64_t hash,
			 uint8_t reason, uint8_t holds_gil)
{
	(void)tid, (void)pid, (void)start_ns, (void)reason, (void)holds_gil;
	agg_touch(ctx, hash);
	return 0;
}

static void forget_stack(void *ctx, uint64_t hash)
{
	bpfs_forget_stack(ctx, hash);
}

long recorder_sweep(struct recorder *r, uint32_t keep)
{
	/* a thread asleep for long counts its stack when it wakes */
	bpfs_pending_offcpu(r->bpf, touch_pending, &r->agg);
	return agg_sweep(&r->agg, keep, forget_stack, r->bpf);
}

int recorder_step(struct recorder *r, int timeout_ms)
{
	if (bpfs_poll(r->bpf, timeout_ms))
		return -1;
	uint64_t now = monotonic_ns();
	/* the contention count can drift (a GIL wait whose return was not seen):
	 * recount it from the threads actually off CPU in GIL waits, every
	 * resync_ns (it walks the off-CPU map) */
	if (r->agg.mode != AGG_MODE_CPU && now - r->last_resync >= r->resync_ns) {
		r->last_resync = now;
		bpfs_resync_gil_waiters(r->bpf);
	}
	if (now - r->last_drain < DRAIN_INTERVAL_NS)
		return 0;
	r->last_drain = now;
	return bpfs_drain(r->bpf, 0, on_count, r) ? -1 : 1;
}

struct profile *recorder_finish(struct recorder *r)
{
	bpfs_stop(r->bpf); /* so the counters and the profile agree */
	bpfs_drain(r->bpf, 1, on_count, r);
	bpfs_pending_offcpu(r->bpf, on_pending, r);
	struct profile *p = agg_take(&r->agg);
	if (!p)
		return NULL;
	p->start_ns = r->start_ns;
	p->duration_ns = monotonic_ns() - r->start_mono;
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

uint64_t recorder_dropped(const struct recorder_stats *st)
{
	struct recorder_drop d[RECORDER_MAX_DROPS];
	uint64_t total = 0;
	size_t n = recorder_drops(st, d);
	for (size_t i = 0; i < n; i++)
		total += d[i].n;
	return total;
}
