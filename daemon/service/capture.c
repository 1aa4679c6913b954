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
		bool over = c->end_mono && (c->aligned ? to >= c->end_mono : now >= c->end_mono);
		if (!c->stop && !over && !(!c->end_mono && all_gone(d, c, to)))
			continue;
		c->done = true;
		if (c->prof) {
			c->prof->start_ns = c->start_real;
			c->prof->duration_ns = c->end_mono && !c->stop ? c->end_mono - c->start_mono
								       : now - c->start_mono;
		}
		pthread_cond_broadcast(&c->cond);
	}
}

int capture_count_hook(void *ctx, const struct pybpf_count_key *key, const struct pybpf_count *val)
{
	struct daemon *d = ctx;
	for (struct capture *c = d->captures; c; c = c->next)
		if (c->kind == CAPTURE_REPORT && !c->done && wants_pid(d, c, key->pid))
			waitstats_add(&c->waits, key, val);
	return 0;
}
