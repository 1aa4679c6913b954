/* record.c - one profiling run, the pipeline shared by pybpfctl and pybpfd. */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DRAIN_INTERVAL_NS 1000000000ULL

uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int on_stack(void *ctx, const void *rec, size_t len)
{
	struct recorder *r = ctx;
	agg_stack(&r->agg, rec, len);
	return 0;
}

static int on_count(void *ctx, const struct pybpf_count_key *key, uint64_t n)
{
	struct recorder *r = ctx;
	r->samples_seen += n;
	return agg_count(&r->agg, key, n);
}

int recorder_open(struct recorder *r, uint32_t rate_hz, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (agg_init(&r->agg, rate_hz)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->bpf = bpfs_open(rate_hz, on_stack, r, err, errlen);
	if (!r->bpf) {
		agg_free(&r->agg);
		return -1;
	}
	r->start_ns = realtime_ns();
	r->start_mono = r->last_drain = monotonic_ns();
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
	return 0;
}

int recorder_step(struct recorder *r, int timeout_ms)
{
	if (bpfs_poll(r->bpf, timeout_ms))
		return -1;
	uint64_t now = monotonic_ns();
	if (now - r->last_drain < DRAIN_INTERVAL_NS)
		return 0;
	r->last_drain = now;
	return bpfs_drain(r->bpf, 0, on_count, r);
}

struct profile *recorder_finish(struct recorder *r)
{
	bpfs_stop(r->bpf); /* so the counters and the profile agree */
	bpfs_drain(r->bpf, 1, on_count, r);
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

uint64_t recorder_dropped(const struct recorder_stats *st)
{
	return st->bpf[STAT_DROP_RINGBUF] + st->bpf[STAT_DROP_COUNTS] + st->bpf[STAT_DROP_RUNTIME] +
	       st->agg.unknown_stack;
}
