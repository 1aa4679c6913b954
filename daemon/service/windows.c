/* windows.c - per-service windows, encoded once when they end. */
#include "service/windows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "profile/view.h"
#include "sys/log.h"

static bool on_cpu(const struct prof_sample *s)
{
	return !s->reason[0] || strcmp(s->reason, "cpu") == 0;
}

struct svc_filter {
	windows_service_fn service_of;
	void *ctx;
	const char *service;
};

static bool keep_service_cpu(void *ctx, const struct prof_sample *s, const char **reason)
{
	struct svc_filter *f = ctx;
	if (!(on_cpu(s) || s->stall_ns) || strcmp(f->service_of(f->ctx, s->pid), f->service) != 0)
		return false;
	if (!s->stall_ns)
		*reason = ""; /* a stall's keeps why: cpu, sleep, socket... */
	return true;
}

static struct svc_window *window_of(struct windows *ws, const char *service)
{
	for (size_t i = 0; i < ws->n; i++)
		if (strcmp(ws->w[i].name, service) == 0)
			return &ws->w[i];
	struct svc_window *nw = realloc(ws->w, (ws->n + 1) * sizeof(*nw));
	if (!nw)
		return NULL;
	ws->w = nw;
	struct svc_window *w = &ws->w[ws->n];
	memset(w, 0, sizeof(*w));
	snprintf(w->name, sizeof(w->name), "%s", service);
	w->prof = calloc(1, sizeof(*w->prof));
	if (!w->prof || profile_init(w->prof, ws->rate_hz)) {
		free(w->prof);
		return NULL;
	}
	w->prof->value_type = profile_str(w->prof, "cpu");
	if (!w->prof->value_type) {
		profile_free(w->prof);
		free(w->prof);
		return NULL;
	}
	ws->n++;
	return w;
}

void windows_init(struct windows *ws, uint32_t rate_hz, uint64_t now_real, uint64_t now_mono)
{
	memset(ws, 0, sizeof(*ws));
	ws->rate_hz = rate_hz;
	ws->start_real = now_real;
	ws->start_mono = now_mono;
}

uint64_t windows_feed(struct windows *ws, const struct profile *tick, windows_service_fn service_of,
		      void *ctx)
{
	uint64_t lost = 0;
	/* a window for every service with samples in this tick */
	for (size_t i = 0; i < tick->nsamples; i++) {
		const struct prof_sample *s = &tick->samples[i];
		if ((on_cpu(s) || s->stall_ns) && !window_of(ws, service_of(ctx, s->pid)))
			lost += s->count;
	}
	for (size_t k = 0; k < ws->n; k++) {
		struct svc_filter f = {service_of, ctx, ws->w[k].name};
		if (!profile_merge(ws->w[k].prof, tick, keep_service_cpu, &f))
			continue;
		log_warn("out of memory: samples of %s lost", f.service);
		for (size_t i = 0; i < tick->nsamples; i++) {
			const char *r;
			if (keep_service_cpu(&f, &tick->samples[i], &r))
				lost += tick->samples[i].count;
		}
	}
	return lost;
}

static int export_one(struct windows *ws, struct svc_window *w, uint64_t now_real,
		      windows_export_fn out, void *ctx)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct profile *all = w->prof;
	all->start_ns = ws->start_real;
	all->duration_ns = now_real > ws->start_real ? now_real - ws->start_real : 0;
	struct prof_view v = {.native = (enum prof_native)ws->native};
	struct profile *p = profile_view(all, &v);
	if (!p || export_pprof_buf(p, &buf, &len)) {
		log_err("service %s: encoding its window failed: %s", w->name, strerror(errno));
		if (p) {
			profile_free(p);
			free(p);
		}
		return -1;
	}
	struct window_out o = {
		.service = w->name,
		.from_s = ws->start_real / 1000000000ULL,
		.until_s = (now_real + 999999999ULL) / 1000000000ULL,
		.rate_hz = p->rate_hz,
		.pprof = buf,
		.len = len,
	};
	out(ctx, &o);
	free(buf);
	profile_free(p);
	free(p);
	return 0;
}

size_t windows_flush(struct windows *ws, uint64_t now_real, uint64_t now_mono, uint32_t rate_hz,
		     windows_export_fn out, void *ctx, uint64_t *encode_errors)
{
	size_t exported = 0;
	for (size_t i = 0; i < ws->n; i++) {
		struct svc_window *w = &ws->w[i];
		if (w->prof->nsamples) {
			if (export_one(ws, w, now_real, out, ctx))
				(*encode_errors)++;
			else
				exported++;
		}
		profile_free(w->prof);
		free(w->prof);
	}
	free(ws->w);
	windows_init(ws, rate_hz, now_real, now_mono);
	return exported;
}

void windows_free(struct windows *ws)
{
	for (size_t i = 0; i < ws->n; i++) {
		profile_free(ws->w[i].prof);
		free(ws->w[i].prof);
	}
	free(ws->w);
	memset(ws, 0, sizeof(*ws));
}
