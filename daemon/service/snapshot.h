/* snapshot.h - a copy of the daemon's figures, taken under its lock in a
 * moment and read without it: what `pybpfctl status` and /metrics show,
 * so neither formats nor sends while the sampler waits. */
#ifndef PYBPF_SNAPSHOT_H
#define PYBPF_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/daemon.h"
#include "service/push.h"

struct daemon_snapshot {
	double uptime_s;
	uint32_t rate_hz, window_s;
	bool offcpu;
	char config_path[256];
	char reload_error[640];
	size_t processes; /* live ones */
	struct recorder_stats st;
	struct recorder_drop drops[RECORDER_MAX_DROPS];
	size_t ndrops;
	size_t stacks; /* known now */
	uint64_t samples_delivered;
	struct daemon_counters ctr;
	bool spool_on, push_on, pull_on;
	struct spool_stats spool;
	struct push_stats push;
	char spool_dir[256], push_url[512], pull_listen[128];
	struct svc_metrics *services; /* malloc'd copy */
	size_t nservices;
	bool http_on;		  /* http_requests = true, and its hooks attached */
	struct http_series *http; /* malloc'd copy */
	size_t nhttp;
	double cpu_pct; /* over the last window */
};

/* Copies the figures (lock held).  0 or -1 (ENOMEM). */
int daemon_snapshot(struct daemon *d, struct daemon_snapshot *s);
void daemon_snapshot_free(struct daemon_snapshot *s);

/* Prometheus' text format of a snapshot (metrics.c). */
void metrics_write(const struct daemon_snapshot *s, FILE *out);

#endif
