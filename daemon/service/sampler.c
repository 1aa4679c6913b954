/* sampler.c - pybpfd's sampler loop: one recorder for every Python process,
 * a tick each time the counts are drained (about once a second) that feeds
 * the service windows, the metrics and the captures, the window flush, and
 * the configuration reload. */
#define _GNU_SOURCE
#include "service/daemon.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "service/ctl_server.h"
#include "service/exports.h"
#include "service/pull.h"
#include "service/push.h"
#include "sys/log.h"
#include "sys/procfs.h"

int daemon_load_config(struct daemon *d, struct config *out, char *err, size_t errlen)
{
	config_defaults(out);
	if (config_load(out, d->config_path, d->config_missing_ok, err, errlen))
		return -1;
	for (size_t i = 0; i < d->noverrides; i++) {
		char key[64];
		const char *eq = strchr(d->overrides[i], '=');
		size_t klen = eq ? (size_t)(eq - d->overrides[i]) : 0;
		if (!eq || klen >= sizeof(key)) {
			snprintf(err, errlen, "override '%s': expected KEY=VALUE", d->overrides[i]);
			return -1;
		}
		memcpy(key, d->overrides[i], klen);
		key[klen] = 0;
		if (config_set(out, key, eq + 1, err, errlen))
			return -1;
	}
	return 0;
}

struct svc_metrics *daemon_metrics_of(struct daemon *d, const char *service)
{
	for (size_t i = 0; i < d->nmetrics; i++)
		if (strcmp(d->metrics[i].name, service) == 0)
			return &d->metrics[i];
	struct svc_metrics *nm = realloc(d->metrics, (d->nmetrics + 1) * sizeof(*nm));
	if (!nm)
		return NULL;
	d->metrics = nm;
	struct svc_metrics *m = &d->metrics[d->nmetrics++];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", service);
	return m;
}

/* Per-process samples and per-service metrics from a tick. */
static void account(struct daemon *d, const struct profile *tick, const struct waitstats *w)
{
	for (size_t i = 0; i < tick->nsamples; i++) {
		const struct prof_sample *s = &tick->samples[i];
		if (!sample_on_cpu(s))
			continue;
		struct dproc *p = daemon_proc(d, (pid_t)s->pid);
		struct svc_metrics *m = daemon_metrics_of(d, p ? p->service : "unknown");
		if (p)
			p->samples += s->count;
		if (m)
			m->samples += s->count;
		d->samples_total += s->count;
	}
	uint64_t period = 1000000000ULL / d->rec.agg.rate_hz;
	for (size_t i = 0; i < w->nthreads; i++) {
		const struct ws_thread *t = &w->threads[i];
		struct svc_metrics *m = daemon_metrics_of(d, daemon_service_of(d, t->pid));
		if (!m)
			continue;
		m->gil_held_ns += t->hold_samples * period + t->held_offcpu_ns;
		m->gil_wait_ns += t->offcpu_ns[REASON_GIL];
		for (int r = 1; r < REASON__COUNT; r++)
			m->offcpu_ns[r] += t->offcpu_ns[r];
	}
}

/* One tick: what was drained since the last goes everywhere (lock held). */
static const char *service_of(void *ctx, uint32_t pid)
{
	return daemon_service_of(ctx, pid);
}

static void tick(struct daemon *d, struct profile *p, uint64_t from, uint64_t to)
{
	struct waitstats w = d->rec.agg.waits;
	memset(&d->rec.agg.waits, 0, sizeof(w));
	account(d, p, &w);
	if (windows_feed(&d->windows, p, service_of, d))
		log_warn("out of memory: samples lost from the windows");
	capture_feed(d, p, from, to);
	d->tick_n = 0;
	waitstats_free(&w);
}

static void take_tick(struct daemon *d)
{
	struct profile *p = agg_take(&d->rec.agg);
	if (!p) {
		log_err("out of memory: a second of samples lost");
		return;
	}
	/* a drain moves the generation that filled since the drain before */
	tick(d, p, d->drain_prev2, d->drain_prev1);
	loopstats_tick(d);
	httpstats_tick(d, false);
	d->drain_prev2 = d->drain_prev1;
	d->drain_prev1 = d->rec.last_drain;
	profile_free(p);
	free(p);
}

void sampler_cut(struct daemon *d)
{
	if (recorder_cut(&d->rec))
		log_err("reading from the BPF programs failed");
	take_tick(d);
}

/* Off-CPU stacks cost an unwind per context switch: only while a capture
 * shows them. */
static bool offcpu_stacks_wanted(const struct daemon *d)
{
	for (const struct capture *c = d->captures; c; c = c->next)
		if (!c->done && (c->kind == CAPTURE_REPORT || c->mode != AGG_MODE_CPU))
			return true;
	return false;
}

/* Seconds between sweeps of idle stacks: a stack is forgotten between
 * stack_idle_s and stack_idle_s + this after it was last seen. */
static uint32_t sweep_interval_s(const struct daemon *d)
{
	/* at least 2 s: counts are drained within a second */
	uint32_t s = d->cfg.stack_idle_s / 4;
	return s < 2 ? 2 : s > 60 ? 60 : s;
}

/* Long runs: forget the stacks no longer seen, so memory stays bounded. */
static void sweep_stacks(struct daemon *d, uint64_t now)
{
	uint32_t every = sweep_interval_s(d);
	if (now - d->last_sweep < (uint64_t)every * 1000000000ULL)
		return;
	/* a running report names its waits by stack hash when it ends */
	for (const struct capture *c = d->captures; c; c = c->next)
		if (!c->done && c->kind == CAPTURE_REPORT)
			return;
	d->last_sweep = now;
	uint32_t keep = (d->cfg.stack_idle_s + every - 1) / every;
	long n = recorder_sweep(&d->rec, keep);
	if (n < 0)
		log_warn("out of memory while forgetting idle stacks");
	else if (n)
		log_debug("forgot %ld stacks not seen for %u s, %zu left", n, d->cfg.stack_idle_s,
			  agg_stack_count(&d->rec.agg));
}

static void update_cpu(struct daemon *d)
{
	double cpu;
	uint64_t rss, now = monotonic_ns();
	procfs_self_usage(&cpu, &rss);
	uint64_t cpu_ns = (uint64_t)(cpu * 1e9);
	if (d->cpu_last_mono && now > d->cpu_last_mono)
		d->cpu_pct = 100.0 * (double)(cpu_ns - d->cpu_last_ns) /
			     (double)(now - d->cpu_last_mono);
	d->cpu_last_ns = cpu_ns;
	d->cpu_last_mono = now;
}

static int open_pull(struct daemon *d)
{
	char err[512];
	if (!d->cfg.pull)
		return 0;
	d->pull = http_pull_start(d, d->cfg.pull_listen, d->cfg.pull_token, d->cfg.pull_insecure,
				  err, sizeof(err));
	if (!d->pull) {
		log_err("pull endpoint %s: %s", d->cfg.pull_listen, err);
		return -1;
	}
	log_info("serving /debug/pprof/profile and /metrics on http://%s", d->cfg.pull_listen);
	return 0;
}

static int open_ctl(struct daemon *d)
{
	char err[512];
	if (!d->cfg.socket[0])
		return 0;
	d->ctl = ctl_server_start(d, d->cfg.socket, d->cfg.socket_group, err, sizeof(err));
	if (!d->ctl) {
		log_err("control socket %s: %s", d->cfg.socket, err);
		return -1;
	}
	log_info("control socket %s", d->cfg.socket);
	return 0;
}

/* The HTTP and socket threads wait on the lock: stop them unlocked. */
static void close_servers(struct daemon *d, bool push)
{
	struct ctl_server *ctl = d->ctl;
	struct http_pull *pull = d->pull;
	struct pusher *pusher = push ? d->pusher : NULL;
	d->ctl = NULL;
	d->pull = NULL;
	if (push)
		d->pusher = NULL;
	/* waiting clients get what their captures have */
	d->closing = true;
	for (struct capture *c = d->captures; c; c = c->next)
		c->stop = true;
	capture_feed(d, &(struct profile){0}, monotonic_ns(), monotonic_ns());
	pthread_mutex_unlock(&d->lock);
	ctl_server_stop(ctl);
	http_pull_stop(pull);
	if (pusher)
		push_stop(pusher, 3000);
	pthread_mutex_lock(&d->lock);
	d->closing = false;
}

static bool str_changed(const char *a, const char *b)
{
	return strcmp(a, b) != 0;
}

/* SIGHUP: the configuration file again (lock held). */
static void reload(struct daemon *d)
{
	struct config nc;
	char err[512];
	if (daemon_load_config(d, &nc, err, sizeof(err))) {
		log_err("reload: %s; keeping the running configuration", err);
		snprintf(d->reload_error, sizeof(d->reload_error), "%.600s", err);
		return;
	}
	struct config old = d->cfg;
	/* all or nothing: the new endpoint is open before anything changes,
	 * and the old one closes only then */
	bool pull = nc.pull != old.pull || str_changed(nc.pull_listen, old.pull_listen) ||
		    str_changed(nc.pull_token, old.pull_token) ||
		    nc.pull_insecure != old.pull_insecure;
	struct http_pull *new_pull = NULL;
	if (pull && nc.pull) {
		new_pull = http_pull_start(d, nc.pull_listen, nc.pull_token, nc.pull_insecure, err,
					   sizeof(err));
		if (!new_pull) {
			log_err("reload: pull endpoint %s: %s; keeping the running configuration",
				nc.pull_listen, err);
			snprintf(d->reload_error, sizeof(d->reload_error),
				 "pull endpoint %.127s: %.480s", nc.pull_listen, err);
			return;
		}
	}
	log_set_level((enum log_level)nc.log_level);
	if (nc.rate_hz != old.rate_hz) {
		/* one rate per window */
		daemon_flush_windows(d, realtime_ns());
		if (bpfs_set_rate(d->rec.bpf, nc.rate_hz, err, sizeof(err))) {
			log_err("reload: rate %u Hz: %s; keeping %u Hz", nc.rate_hz, err,
				old.rate_hz);
			bpfs_set_rate(d->rec.bpf, old.rate_hz, err, sizeof(err));
			nc.rate_hz = old.rate_hz;
		} else {
			agg_set_rate(&d->rec.agg, nc.rate_hz);
		}
	}
	if (nc.db_time != old.db_time) {
		log_warn("reload: db_time changes at the next start");
		nc.db_time = old.db_time;
	}
	if (nc.http_requests != old.http_requests) {
		log_warn("reload: http_requests changes at the next start");
		nc.http_requests = old.http_requests;
	}
	if (nc.event_loops != old.event_loops) {
		log_warn("reload: event_loops changes at the next start");
		nc.event_loops = old.event_loops;
	}
	if (nc.offcpu != old.offcpu) {
		log_warn("reload: offcpu changes at the next start");
		nc.offcpu = old.offcpu;
	}
	if (nc.task_labels != old.task_labels)
		bpfs_set_task_stacks(d->rec.bpf, nc.task_labels); /* new stacks from now */
	if (nc.sql_text != old.sql_text)
		bpfs_set_sql_text(d->rec.bpf, nc.sql_text); /* calls begun from now */
	d->cfg = nc;
	if (nc.event_loops && nc.event_loop_threshold_ms != old.event_loop_threshold_ms)
		loopstats_start(d); /* the new threshold */
	if (str_changed(nc.service_rule, old.service_rule))
		for (size_t i = 0; i < d->nprocs; i++)
			service_name(d->procs[i].pid, nc.service_rule, d->procs[i].service,
				     sizeof(d->procs[i].service));
	bool push = nc.push != old.push || str_changed(nc.push_url, old.push_url) ||
		    str_changed(nc.push_labels, old.push_labels) ||
		    str_changed(nc.push_queue_dir, old.push_queue_dir) ||
		    nc.push_queue_max_mb != old.push_queue_max_mb ||
		    nc.push_timeout_s != old.push_timeout_s ||
		    nc.push_backoff_max_s != old.push_backoff_max_s;
	bool ctl = str_changed(nc.socket, old.socket) ||
		   str_changed(nc.socket_group, old.socket_group);
	if (push || pull || ctl) {
		struct ctl_server *keep_ctl = ctl ? NULL : d->ctl;
		struct http_pull *keep_pull = pull ? NULL : d->pull;
		if (!ctl)
			d->ctl = NULL;
		if (!pull)
			d->pull = NULL;
		close_servers(d, push);
		d->ctl = keep_ctl;
		d->pull = pull ? new_pull : keep_pull;
		if (new_pull)
			log_info("serving /debug/pprof/profile and /metrics on http://%s",
				 d->cfg.pull_listen);
		if (push)
			exports_open_push(d);
		if (ctl)
			open_ctl(d);
	}
	if (nc.spool != old.spool || str_changed(nc.spool_dir, old.spool_dir) ||
	    nc.spool_max_mb != old.spool_max_mb)
		exports_open_spool(d);
	d->reload_error[0] = 0;
	log_info("configuration reloaded: %u Hz, %u s windows", d->cfg.rate_hz, d->cfg.window_s);
}

static int open_all(struct daemon *d)
{
	char err[512];
	enum agg_mode mode = d->cfg.offcpu ? AGG_MODE_WALL : AGG_MODE_CPU;
	if (recorder_open(&d->rec, d->cfg.rate_hz, mode, err, sizeof(err))) {
		log_err("%s", err);
		return -1;
	}
	d->rec.count_hook = capture_count_hook;
	d->rec.hook_ctx = d;
	bpfs_set_task_stacks(d->rec.bpf, d->cfg.task_labels);
	bpfs_set_sql_text(d->rec.bpf, d->cfg.sql_text);
	d->rec.db.off = !d->cfg.db_time;
	if (bpfs_enable_proc_events(d->rec.bpf, discovery_on_event, d)) {
		log_err("attaching to sched_process_exec/exit failed: %s", strerror(errno));
		return -1;
	}
	if (loopstats_start(d))
		d->cfg.event_loops = false; /* said; the rest runs */
	if (httpstats_start(d))
		d->cfg.http_requests = false;
	if (exports_open_spool(d) || exports_open_push(d) || open_pull(d) || open_ctl(d))
		return -1;
	return 0;
}

static int poll_ms(const struct daemon *d)
{
	uint64_t ms = d->pending.n ? 5 : 100, cut = capture_next_cut(d), now = monotonic_ns();
	if (cut && cut <= now)
		return 0;
	if (cut && (cut - now + 999999) / 1000000 < ms)
		ms = (cut - now + 999999) / 1000000;
	return (int)ms;
}

int daemon_run(struct daemon *d, volatile int *stop, volatile int *reload_req)
{
	int ret = 1;
	pthread_mutex_init(&d->lock, NULL);
	d->start_mono = d->last_sweep = monotonic_ns();
	d->start_real = realtime_ns();
	windows_init(&d->windows, d->cfg.rate_hz, d->start_real, d->start_mono);
	pthread_mutex_lock(&d->lock);
	d->drain_prev2 = d->drain_prev1 = d->start_mono;
	if (open_all(d))
		goto out;
	log_info("sampling at %u Hz per CPU%s", d->cfg.rate_hz,
		 d->cfg.offcpu ? ", tracking off-CPU time and the GIL" : "");
	discovery_scan_all(d);
	update_cpu(d);
	int epfd = bpfs_epoll_fd(d->rec.bpf);
	while (!*stop) {
		if (*reload_req) {
			*reload_req = 0;
			reload(d);
		}
		pthread_mutex_unlock(&d->lock);
		struct pollfd pfd = {.fd = epfd, .events = POLLIN};
		/* short while execs wait to be inspected; on time for an end */
		poll(&pfd, 1, poll_ms(d));
		pthread_mutex_lock(&d->lock);
		recorder_set_offcpu_stacks(&d->rec, offcpu_stacks_wanted(d));
		int r = recorder_step(&d->rec, 0);
		if (r < 0)
			log_err("reading from the BPF programs failed");
		discovery_poll(d);
		if (r == 1) {
			take_tick(d);
			discovery_reap(d, false);
		}
		uint64_t now = monotonic_ns();
		capture_cut_ends(d, now);
		capture_take_ends(d, now);
		sweep_stacks(d, now);
		if (now - d->windows.start_mono >= (uint64_t)d->cfg.window_s * 1000000000ULL) {
			daemon_flush_windows(d, realtime_ns());
			discovery_reap(d, true);
			update_cpu(d);
		}
	}
	log_info("stopping: flushing the current window");
	struct profile *last = recorder_finish(&d->rec);
	if (last) {
		tick(d, last, d->drain_prev2, monotonic_ns());
		httpstats_tick(d, true);
		profile_free(last);
		free(last);
	}
	daemon_flush_windows(d, realtime_ns());
	ret = 0;
out:
	close_servers(d, true);
	pthread_mutex_unlock(&d->lock);
	recorder_close(&d->rec);
	windows_free(&d->windows);
	spool_close(&d->spool);
	free(d->procs);
	free(d->tick_counts);
	pending_free(&d->pending);
	loopstats_free(d);
	httpstats_free(d);
	free(d->metrics);
	return ret;
}
