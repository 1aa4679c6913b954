/* snapshot.c - the daemon's figures, copied under its lock. */
#define _GNU_SOURCE
#include "service/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "service/ctl_server.h"
#include "service/pull.h"

int daemon_snapshot(struct daemon *d, struct daemon_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->uptime_s = (double)(monotonic_ns() - d->start_mono) / 1e9;
	s->rate_hz = d->cfg.rate_hz;
	s->window_s = d->cfg.window_s;
	s->offcpu = d->cfg.offcpu;
	snprintf(s->config_path, sizeof(s->config_path), "%s", d->config_path);
	snprintf(s->reload_error, sizeof(s->reload_error), "%s", d->reload_error);
	for (size_t i = 0; i < d->nprocs; i++)
		s->processes += !d->procs[i].exited;
	recorder_stats(&d->rec, &s->st);
	s->ndrops = recorder_drops(&s->st, s->drops);
	s->stacks = agg_stack_count(&d->rec.agg);
	s->samples_delivered = d->samples_total;
	s->ctr = d->ctr;
	s->ctr.ctl_busy = ctl_server_busy(d->ctl);
	s->ctr.pull_cut = http_pull_cut(d->pull);
	s->spool_on = d->cfg.spool;
	s->spool = d->spool.st;
	snprintf(s->spool_dir, sizeof(s->spool_dir), "%s", d->cfg.spool_dir);
	s->push_on = d->pusher != NULL;
	if (d->pusher)
		push_get_stats(d->pusher, &s->push);
	snprintf(s->push_url, sizeof(s->push_url), "%s", d->cfg.push_url);
	s->pull_on = d->pull != NULL;
	snprintf(s->pull_listen, sizeof(s->pull_listen), "%s", d->cfg.pull_listen);
	s->cpu_pct = d->cpu_pct;
	if (d->nmetrics) {
		s->services = malloc(d->nmetrics * sizeof(*s->services));
		if (!s->services)
			return -1;
		memcpy(s->services, d->metrics, d->nmetrics * sizeof(*s->services));
		s->nservices = d->nmetrics;
	}
	s->http_on = d->cfg.http_requests;
	if (d->nhttp) {
		s->http = malloc(d->nhttp * sizeof(*s->http));
		if (!s->http) {
			daemon_snapshot_free(s);
			return -1;
		}
		memcpy(s->http, d->http, d->nhttp * sizeof(*s->http));
		s->nhttp = d->nhttp;
	}
	return 0;
}

void daemon_snapshot_free(struct daemon_snapshot *s)
{
	free(s->services);
	free(s->http);
	memset(s, 0, sizeof(*s));
}
