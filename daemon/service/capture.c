/* capture.c - what the daemon's clients ask of the sampler: a profile of some
 * processes in one mode over a while (pybpfctl record and top, the pull
 * endpoint), or their wait statistics (pybpfctl gil and io).  The sampler
 * feeds every capture from each tick; the asking thread waits on the
 * capture's condition variable. */
#include "service/daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sys/log.h"

struct capture *capture_new(enum capture_kind kind, enum agg_mode mode, const uint32_t *pids,
			    size_t npids, int64_t uid, const char *service, double seconds,
			    uint32_t rate_hz)
{
	struct capture *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->kind = kind;
	c->mode = mode;
	c->uid = uid;
	snprintf(c->service, sizeof(c->service), "%s", service ? service : "");
	if (npids) {
		c->pids = malloc(npids * sizeof(*pids));
		if (!c->pids)
			goto fail;
		memcpy(c->pids, pids, npids * sizeof(*pids));
		c->npids = npids;
	}
	c->start_mono = monotonic_ns();
	c->start_real = realtime_ns();
	c->end_mono = seconds > 0 ? c->start_mono + (uint64_t)(seconds * 1e9) : 0;
	if (kind == CAPTURE_PROFILE) {
		c->prof = calloc(1, sizeof(*c->prof));
		if (!c->prof || profile_init(c->prof, rate_hz))
			goto fail;
		c->prof->value_type = profile_str(c->prof, agg_mode_value_type(mode));
		if (!c->prof->value_type)
			goto fail;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	return c;
fail:
	if (c->prof) {
		profile_free(c->prof);
		free(c->prof);
	}
	free(c->pids);
	free(c);
	return NULL;
}

void capture_start(struct daemon *d, struct capture *c)
{
	if (c->aligned) {
		uint64_t len = c->end_mono ? c->end_mono - c->start_mono : 0;
		sampler_cut(d);
		c->start_mono = d->rec.last_drain;
		c->start_real = realtime_ns();
		c->end_mono = len ? c->start_mono + len : 0;
	}
	recorder_stats(&d->rec, &c->stats0);
	c->next = d->captures;
	d->captures = c;
}

void capture_detach(struct daemon *d, struct capture *c)
{
	for (struct capture **pp = &d->captures; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->next = NULL;
}

void capture_free(struct daemon *d, struct capture *c)
{
	if (!c)
		return;
	if (d)
		capture_detach(d, c);
	if (c->prof) {
		profile_free(c->prof);
		free(c->prof);
	}
	waitstats_free(&c->waits);
	report_baseline_free(&c->base);
	report_baseline_free(&c->endsnap);
	pthread_cond_destroy(&c->cond);
	free(c->pids);
	free(c);
}

int capture_wait(struct daemon *d, struct capture *c, uint64_t deadline_mono)
{
	while (!c->done) {
		uint64_t now = monotonic_ns();
		if (now >= deadline_mono)
			return -1;
		struct timespec ts = ns_to_timespec(deadline_mono);
		int r = pthread_cond_timedwait(&c->cond, &d->lock, &ts);
		if (r && r != ETIMEDOUT)
			return -1;
	}
	return 0;
}

size_t capture_drops(struct daemon *d, const struct capture *c, struct recorder_drop *out,
		     uint64_t *unknown_code)
{
	struct recorder_stats now, delta;
	recorder_stats(&d->rec, &now);
	delta = now;
	for (int i = 0; i < STAT__COUNT; i++)
		delta.bpf[i] = now.bpf[i] - c->stats0.bpf[i];
	delta.agg.unknown_stack = now.agg.unknown_stack - c->stats0.agg.unknown_stack;
	*unknown_code = now.agg.unknown_code - c->stats0.agg.unknown_code;
	return recorder_drops(&delta, out);
}

/* Does c want samples of pid? */
static bool wants_pid(struct daemon *d, const struct capture *c, uint32_t pid)
{
	if (c->npids) {
		for (size_t i = 0; i < c->npids; i++)
			if (c->pids[i] == pid)
				return true;
		return false;
	}
	struct dproc *p = daemon_proc(d, (pid_t)pid);
	if (!p)
		return false;
	if (c->uid >= 0 && p->uid != (uid_t)c->uid)
		return false;
	return !c->service[0] || strcmp(c->service, p->service) == 0;
}

struct keep_ctx {
	struct daemon *d;
	const struct capture *c;
};

static bool keep_sample(void *ctx, const struct prof_sample *s, const char **reason)
{
	struct keep_ctx *k = ctx;
	bool cpu = sample_on_cpu(s);
	if (s->stall_ns)
		return false; /* an event loop's stall: the windows' alone */
	switch (k->c->mode) {
	case AGG_MODE_CPU:
		if (!cpu)
			return false;
		*reason = "";
		break;
	case AGG_MODE_WALL:
		break;
	case AGG_MODE_OFFCPU:
		if (cpu)
			return false;
		break;
	case AGG_MODE_GIL:
		if (strcmp(s->reason, "gil") != 0)
			return false;
		break;
	}
	return wants_pid(k->d, k->c, s->pid);
}

/* Every pid of c has exited and its last samples are in (for captures
 * without an end): the tick holds what was sampled until `to`, and each
 * exit was seen before it. */
static bool all_gone(struct daemon *d, const struct capture *c, uint64_t to)
{
	if (!c->npids)
		return false;
	for (size_t i = 0; i < c->npids; i++) {
		struct dproc *p = daemon_proc(d, (pid_t)c->pids[i]);
		if (p && (!p->exited || to < p->exited_at))
			return false;
	}
	return true;
}

/* When the last of c's processes exited (all have). */
static uint64_t last_exit(struct daemon *d, const struct capture *c)
{
	uint64_t last = 0;
	for (size_t i = 0; i < c->npids; i++) {
		struct dproc *p = daemon_proc(d, (pid_t)c->pids[i]);
		if (p && p->exited_at > last)
			last = p->exited_at;
	}
	return last ? last : monotonic_ns();
}

static void feed_report(struct daemon *d, struct capture *c);

static void take_end(struct daemon *d, struct capture *c, uint64_t now)
{
	if (c->kind != CAPTURE_REPORT || c->ended_mono)
		return;
	if (report_baseline_take(&c->endsnap, d->rec.bpf, &d->rec.agg, &c->report_pp))
		log_warn("out of memory: a report's end counters are incomplete");
	c->ended_mono = now;
}

static bool cut_due(const struct capture *c)
{
	return c->aligned && !c->done && !c->end_cut && c->end_mono;
}

uint64_t capture_next_cut(const struct daemon *d)
{
	uint64_t next = 0;
	for (const struct capture *c = d->captures; c; c = c->next)
		if (cut_due(c) && (!next || c->end_mono < next))
			next = c->end_mono;
	return next;
}

void capture_cut_ends(struct daemon *d, uint64_t now)
{
	bool due = false;
	for (struct capture *c = d->captures; c && !due; c = c->next)
		due = cut_due(c) && now >= c->end_mono;
	if (!due)
		return;
	sampler_cut(d);
	for (struct capture *c = d->captures; c; c = c->next)
		if (cut_due(c) && now >= c->end_mono) {
			c->end_mono = d->rec.last_drain; /* where its last tick ends */
			c->end_cut = true;
			/* a report's live counters end there too: its span is
			 * that of its ticks, not the sampler's next wake-up
			 * (a loaded daemon's: 0.1 s later, 2.5 % of a 4 s io) */
			take_end(d, c, c->end_mono);
		}
}

void capture_take_ends(struct daemon *d, uint64_t now)
{
	for (struct capture *c = d->captures; c; c = c->next)
		if (!c->done && c->end_mono && now >= c->end_mono)
			take_end(d, c, now);
}

void capture_feed(struct daemon *d, const struct profile *tick, uint64_t from, uint64_t to)
{
	uint64_t now = monotonic_ns(), mid = from / 2 + to / 2;
	for (struct capture *c = d->captures; c; c = c->next) {
		if (c->done)
			continue;
		/* aligned: the ticks whose samples were taken in [start, end);
		 * else the ticks that arrive in it */
		uint64_t t = c->aligned ? mid : now;
		bool in = t >= c->start_mono && (!c->end_mono || t < c->end_mono);
		if (c->kind == CAPTURE_PROFILE && in) {
			struct keep_ctx k = {d, c};
			profile_merge(c->prof, tick, keep_sample, &k);
		}
		if (c->kind == CAPTURE_REPORT && in)
			feed_report(d, c);
		bool over = c->end_mono && (c->aligned ? to >= c->end_mono : now >= c->end_mono);
		bool gone = !c->end_mono && all_gone(d, c, to);
		if (!c->stop && !over && !gone)
			continue;
		c->done = true;
		take_end(d, c, now); /* stopped, or its processes gone */
		if (c->prof) {
			/* it lasted until its end, the last exit, or the stop */
			uint64_t end = c->end_mono && !c->stop ? c->end_mono
				       : gone		       ? last_exit(d, c)
							       : now;
			c->prof->start_ns = c->start_real;
			c->prof->duration_ns = end > c->start_mono ? end - c->start_mono : 0;
		}
		pthread_cond_broadcast(&c->cond);
	}
}

/* The counts of the tick being drained, kept for the reports: they take
 * those of the ticks that fall in their span, as profiles do. */
int capture_count_hook(void *ctx, const struct pybpf_count_key *key, const struct pybpf_count *val)
{
	struct daemon *d = ctx;
	bool wanted = false;
	for (struct capture *c = d->captures; c && !wanted; c = c->next)
		wanted = c->kind == CAPTURE_REPORT && !c->done && wants_pid(d, c, key->pid);
	if (!wanted)
		return 0;
	if (d->tick_n == d->tick_cap) {
		size_t ncap = d->tick_cap ? d->tick_cap * 2 : 1024;
		struct tick_count *nt = realloc(d->tick_counts, ncap * sizeof(*nt));
		if (!nt)
			return -1;
		d->tick_counts = nt;
		d->tick_cap = ncap;
	}
	d->tick_counts[d->tick_n++] = (struct tick_count){*key, *val};
	return 0;
}

static void feed_report(struct daemon *d, struct capture *c)
{
	for (size_t i = 0; i < d->tick_n; i++)
		if (wants_pid(d, c, d->tick_counts[i].key.pid) &&
		    waitstats_add(&c->waits, &d->tick_counts[i].key, &d->tick_counts[i].val))
			log_warn("out of memory: a report lost counts");
}
