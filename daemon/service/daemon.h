/* daemon.h - pybpfd's state: the one recorder every process is sampled by,
 * the Python processes it follows, the per-service windows it exports, and
 * the captures (pybpfctl requests, pull requests) fed from it.
 *
 * Threads and the lock: the sampler thread (sampler.c) owns the recorder and
 * holds `lock` while it works; the control socket's client threads
 * (ctl_server.c, ctl_handlers.c) and the HTTP threads (pull.c) take `lock`
 * only to register a capture, wait for it (a condition variable, which
 * releases it), or copy a snapshot (snapshot.c).  None of them encodes or
 * sends while holding it: a slow client holds up only itself.  The push
 * thread (push.c) has a lock of its own. */
#ifndef PYBPF_DAEMON_H
#define PYBPF_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "pybpf_shared.h"
#include "report/http.h"
#include "report/report.h"
#include "report/waitstats.h"
#include "sampling/recorder.h"
#include "service/config.h"
#include "service/discovery.h"
#include "service/naming.h"
#include "service/spool.h"
#include "service/windows.h"
#include "sys/htab.h"

struct pusher;
struct http_pending;
struct http_known;
struct http_pull;
struct ctl_server;

/* A Python process the daemon follows. */
struct dproc {
	pid_t pid;
	uid_t uid;
	struct pyprocess pp;
	char service[SERVICE_NAME_MAX];
	char command[128];  /* its command line, spaces for NULs, cut */
	uint64_t samples;   /* on-CPU samples since it was found */
	bool exited;	    /* flushed with the current window, then forgotten */
	uint64_t exited_at; /* monotonic ns */
};

/* Everything counted per service, for /metrics. */
/* Upper bounds (seconds) of the event loop busy-time histogram's buckets;
 * one more bucket past the last for +Inf. */
#define LOOP_LE_N 11
extern const double loop_le_s[LOOP_LE_N];

struct svc_metrics {
	char name[SERVICE_NAME_MAX];
	uint64_t samples;
	uint64_t gil_held_ns, gil_wait_ns;
	uint64_t offcpu_ns[REASON__COUNT];
	/* event loops (event_loops = true): iterations, stalls, busy time */
	uint64_t loop_iterations, loop_stalls, loop_busy_ns;
	uint64_t loop_le[LOOP_LE_N + 1]; /* iterations by bucket, not cumulative */
};

/* HTTP/1.x requests of one endpoint of a service (http_requests = true,
 * httpstats.c): the view whose stacks were sampled while they ran, else the
 * one that named their route before, else the route itself.  At most
 * HTTP_SERIES_SERVICE a service (then its "(other)"), HTTP_SERIES_MAX in
 * all (then counted in http_lost). */
#define HTTP_SERIES_SERVICE 64
#define HTTP_SERIES_MAX	    4096
struct http_series {
	char service[SERVICE_NAME_MAX];
	char endpoint[HTTP_ENDPOINT_MAX];
	uint64_t requests, errors_5xx, duration_ns;
	uint64_t le[LOOP_LE_N + 1]; /* requests by latency bucket (loop_le_s), not cumulative */
};

enum capture_kind {
	CAPTURE_PROFILE, /* a profile of one mode (record, top, pull) */
	CAPTURE_REPORT,	 /* wait statistics for the gil / io reports */
};

/* A request for what the sampler sees over a while. */
struct capture {
	enum capture_kind kind;
	uint32_t *pids; /* NULL: every process the caller may see */
	size_t npids;
	int64_t uid;			/* -1: any; else only this uid's processes */
	char service[SERVICE_NAME_MAX]; /* "" any */
	enum agg_mode mode;
	uint64_t start_mono, start_real, end_mono; /* end 0: until pids exit or stop */
	bool stop;				   /* end at the next tick */
	/* counts reach the daemon a drain late: take the ticks that cover
	 * [start, end) rather than those that arrive in it */
	bool aligned;
	bool end_cut; /* aligned: a tick was ended at end_mono */
	bool done;
	struct profile *prof;		/* CAPTURE_PROFILE */
	struct waitstats waits;		/* CAPTURE_REPORT */
	struct report_baseline base;	/* CAPTURE_REPORT: counters at start */
	struct report_baseline endsnap; /* ... and at its end */
	uint64_t ended_mono;		/* when endsnap was taken; 0 not yet */
	struct pyprocess report_pp;	/* ... of this process */
	struct recorder_stats stats0;	/* the sampler's counters at start */
	pthread_cond_t cond;
	struct capture *next;
};

struct daemon_counters {
	uint64_t windows;		     /* windows exported */
	uint64_t loop_stall_unattributed_ns; /* stall time with no stack */
	uint64_t pull_requests, pull_errors;
	uint64_t ctl_refused;
	uint64_t ctl_busy;	  /* control clients refused for want of a slot */
	uint64_t pull_cut;	  /* pull connections cut at their deadline */
	uint64_t discover_errors; /* processes that could not be inspected */
	uint64_t unsupported;	  /* Pythons of a version without a layout */
	uint64_t processes_seen;  /* Python processes registered, ever */
	uint64_t encode_errors;	  /* windows that could not be encoded */
	uint64_t http_lost;	  /* requests beyond the queue or the series, or out of memory */
};

/* A count drained in the current tick, for the reports running. */
struct tick_count {
	struct pybpf_count_key key;
	struct pybpf_count val;
};

struct daemon {
	int gil_reports; /* running: the uprobes on take_gil stay while any does */
	struct tick_count *tick_counts;
	size_t tick_n, tick_cap;
	struct config cfg;
	char config_path[256];
	bool config_missing_ok;
	char **overrides; /* "key=value" from the command line, reapplied on reload */
	size_t noverrides;

	struct recorder rec;
	pthread_mutex_t lock;
	uint64_t start_mono, start_real;

	struct dproc *procs;
	size_t nprocs, procs_cap;
	size_t reaped_since_trim;    /* processes forgotten since the last malloc_trim */
	struct pending_list pending; /* execs not yet known to be Python */

	struct windows windows;
	struct spool spool;

	struct svc_metrics *metrics;
	size_t nmetrics;
	/* each loop thread's counters at the last tick (loopstats.c) */
	struct loop_seen *loops_seen;
	size_t nloops_seen;
	/* HTTP requests (httpstats.c): answered since the last tick, waiting
	 * for the drain that names their stacks; the series; routes named */
	struct http_pending *http_queue;
	size_t http_nqueue, http_qcap;
	struct http_series *http;
	size_t nhttp;
	struct http_known *http_known;
	size_t nhttp_known;
	struct htab http_idx, http_known_idx; /* (service, name) -> index */
	uint64_t samples_total;

	/* the two last drains: a tick holds the counts sampled between them */
	uint64_t drain_prev2, drain_prev1;

	struct capture *captures;
	bool closing; /* servers are stopping: no new captures */
	struct daemon_counters ctr;

	uint64_t last_sweep; /* when idle stacks were last forgotten */

	/* daemon CPU over the last window */
	double cpu_pct;
	uint64_t cpu_last_ns, cpu_last_mono;

	struct pusher *pusher;
	struct http_pull *pull;
	struct ctl_server *ctl;
	char reload_error[640]; /* why the last reload was refused; "" it was not */
};

/* Loads the configuration (file, then overrides).  err says why not. */
int daemon_load_config(struct daemon *d, struct config *out, char *err, size_t errlen);

/* Opens everything the configuration asks for and runs until *stop, then
 * flushes the window and closes.  *reload asks for a configuration reload. */
int daemon_run(struct daemon *d, volatile int *stop, volatile int *reload);

/* --- lock held ------------------------------------------------------------------ */

struct dproc *daemon_proc(struct daemon *d, pid_t pid);
/* An on-CPU sample (the daemon's ticks carry on- and off-CPU samples). */
static inline bool sample_on_cpu(const struct prof_sample *s)
{
	return !s->reason[0] || strcmp(s->reason, "cpu") == 0;
}
/* The service of pid, "unknown" for a process the daemon does not know. */
const char *daemon_service_of(struct daemon *d, uint32_t pid);
/* The metrics of a service, made on first use; NULL when out of memory. */
struct svc_metrics *daemon_metrics_of(struct daemon *d, const char *service);

/* Event loops (event_loops = true, loopstats.c): what every loop thread's
 * counters grew by since the last tick goes to its service's metrics. */
int loopstats_start(struct daemon *d);
void loopstats_tick(struct daemon *d);
void loopstats_free(struct daemon *d);

/* HTTP requests (http_requests = true, httpstats.c): seen at the socket,
 * named and counted per service and endpoint at each tick. */
int httpstats_start(struct daemon *d);
/* last: the daemon stops; what waits for a name counts under its route. */
void httpstats_tick(struct daemon *d, bool last);
void httpstats_free(struct daemon *d);

/* --- captures (capture.c), lock held --------------------------------------------- */

/* A new capture: mode, pids (copied), duration (0: open).  NULL on ENOMEM. */
struct capture *capture_new(enum capture_kind kind, enum agg_mode mode, const uint32_t *pids,
			    size_t npids, int64_t uid, const char *service, double seconds,
			    uint32_t rate_hz);
/* Registers c (taking ownership) for the sampler to feed from its next tick;
 * c->cond is signalled when done.  An aligned capture ends a tick as it
 * starts and as it ends, so its ticks cover its span exactly. */
void capture_start(struct daemon *d, struct capture *c);
/* Unlinks c from the daemon (done or not); then it is the caller's alone. */
void capture_detach(struct daemon *d, struct capture *c);
/* Frees a capture (detached, or detaches it). */
void capture_free(struct daemon *d, struct capture *c);
/* Waits (lock held) until c is done or deadline_mono passes; 0 when done. */
int capture_wait(struct daemon *d, struct capture *c, uint64_t deadline_mono);
/* Samples lost while c ran, by reason (every process of the daemon). */
size_t capture_drops(struct daemon *d, const struct capture *c, struct recorder_drop *out,
		     uint64_t *unknown_code);

/* The sampler: feeds one tick, the counts sampled in [from, to) (monotonic
 * ns), to the captures. */
void capture_feed(struct daemon *d, const struct profile *tick, uint64_t from, uint64_t to);
/* The earliest end of an aligned capture not cut yet; 0 none. */
uint64_t capture_next_cut(const struct daemon *d);
/* Ends a tick at the ends of aligned captures that are due (sampler loop). */
void capture_cut_ends(struct daemon *d, uint64_t now);
/* Reports whose span is over take their end snapshot of the live counters
 * (called at every turn of the sampler loop, lock held). */
void capture_take_ends(struct daemon *d, uint64_t now);
/* Count hook: drained counts for report captures. */
int capture_count_hook(void *ctx, const struct pybpf_count_key *key, const struct pybpf_count *val);

/* Ends the current tick now and feeds it (sampler.c, lock held). */
void sampler_cut(struct daemon *d);

/* --- discovery (discovery.c), lock held ------------------------------------------ */

void discovery_scan_all(struct daemon *d);
int discovery_on_event(void *ctx, const void *rec, size_t len);
void discovery_poll(struct daemon *d);
/* Inspects pid at once (a command held for it); its record, or NULL. */
struct dproc *discovery_look_now(struct daemon *d, pid_t pid);
/* Forgets the processes that exited a few seconds ago (their counts all
 * drained), with their stacks: at every tick.  full (once a window): also
 * finds those gone without an exit event, and trims malloc's heap. */
void discovery_reap(struct daemon *d, bool full);

/* --- exports of a window (exports.c), lock held --------------------------------- */

/* Flushes the windows: each service's profile to the spool and the push
 * queue; a new window begins. */
void daemon_flush_windows(struct daemon *d, uint64_t now_real);

#endif
