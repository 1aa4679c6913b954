/* ctl_handlers.c - what the control socket's requests do: status, ps,
 * record, top, dump and the gil/io reports.  Each takes what it needs under
 * the daemon's lock (a snapshot, or a capture the sampler fills while the
 * lock is released), then encodes and sends after releasing it. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/export.h"
#include "native/elfcache.h"
#include "profile/view.h"
#include "python/dump.h"
#include "python/pytasks.h"
#include "report/report.h"
#include "report/top.h"
#include "service/authz.h"
#include "service/ctl_server.h"
#include "service/daemon.h"
#include "service/snapshot.h"
#include "sys/log.h"
#include "sys/procfs.h"

#define MAX_TOP_ROWS 200
#define MAX_RECORD_S (24 * 3600.0)

/* --- who and what (lock held) --------------------------------------------------- */

/* May the caller profile pid?  Sets the refusal when not. */
static bool allowed(struct ctl_client *c, pid_t pid)
{
	char why[256];
	int code = authz_check(c->cred.uid, pid, why, sizeof(why));
	if (!code)
		return true;
	c->d->ctr.ctl_refused++;
	log_info("control: uid %u (pid %d) refused pid %d", (unsigned)c->cred.uid, (int)c->cred.pid,
		 (int)pid);
	ctl_reply_error(c, code, "%s", why);
	return false;
}

/* The daemon's record of pid, waiting a little for one just started.  Sends
 * the error when there is none. */
static struct dproc *known_proc(struct ctl_client *c, pid_t pid)
{
	struct daemon *d = c->d;
	for (int i = 0; i < 30; i++) { /* discovery needs a few ticks for a new process */
		struct dproc *p = daemon_proc(d, pid);
		if (p && !p->exited)
			return p;
		pthread_mutex_unlock(&d->lock);
		usleep(100000);
		pthread_mutex_lock(&d->lock);
	}
	if (!procfs_alive(pid))
		ctl_reply_error(c, ESRCH, "pid %d: no such process", (int)pid);
	else
		ctl_reply_error(c, ESRCH,
				"pid %d is not a Python process pybpfd profiles (see its log and "
				"pybpfctl ps)",
				(int)pid);
	return NULL;
}

/* Checks every pid of a request; *first is the first one's record. */
static int check_pids(struct ctl_client *c, const uint32_t *pids, size_t n, struct dproc **first)
{
	*first = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!allowed(c, (pid_t)pids[i]))
			return -1;
		struct dproc *p = known_proc(c, (pid_t)pids[i]);
		if (!p)
			return -1;
		if (!*first)
			*first = p;
	}
	return 0;
}

static int64_t caller_uid(const struct ctl_client *c)
{
	return c->cred.uid == 0 ? -1 : (int64_t)c->cred.uid;
}

/* Starts a capture (lock held); NULL (said) when the daemon stops. */
static struct capture *start(struct ctl_client *c, struct capture *cap)
{
	if (!cap || c->d->closing) {
		capture_free(NULL, cap);
		ctl_reply_error(c, EAGAIN, "%s", cap ? "the daemon is stopping" : "out of memory");
		return NULL;
	}
	/* the samples taken in its span, not those drained in it */
	cap->aligned = true;
	capture_start(c->d, cap);
	return cap;
}

/* Waits (lock held) until cap is done, reading the client's stop; then
 * detaches it.  -1 (freed) when the client went away. */
static int finish(struct ctl_client *c, struct capture *cap)
{
	struct daemon *d = c->d;
	while (!cap->done) {
		capture_wait(d, cap, monotonic_ns() + 200000000ULL);
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		if (cap->done || poll(&pfd, 1, 0) <= 0)
			continue;
		pthread_mutex_unlock(&d->lock);
		Pybpf__Control__Request *rq = ctl_read_request(c->fd, CTL_REQUEST_MS);
		pthread_mutex_lock(&d->lock);
		if (!rq) {
			capture_free(d, cap); /* closed: cancelled */
			return -1;
		}
		if (rq->cmd_case == PYBPF__CONTROL__REQUEST__CMD_STOP)
			cap->stop = true;
		pybpf__control__request__free_unpacked(rq, NULL);
	}
	capture_detach(d, cap);
	return 0;
}

/* --- status and ps ---------------------------------------------------------------- */

static Pybpf__Control__Counter *counter(Pybpf__Control__Counter *c, const char *name, uint64_t v)
{
	pybpf__control__counter__init(c);
	c->name = (char *)name;
	c->value = v;
	return c;
}

static void export_status(Pybpf__Control__ExportStatus *e, const char *name, bool on,
			  const char *target, uint64_t ok, uint64_t failed, uint64_t dropped)
{
	pybpf__control__export_status__init(e);
	e->name = (char *)name;
	e->enabled = on;
	e->target = (char *)target;
	e->ok = ok;
	e->failed = failed;
	e->dropped = dropped;
	e->last_error = "";
}

static void send_status(struct ctl_client *cl, struct daemon_snapshot *s)
{
	Pybpf__Control__StatusReply st = PYBPF__CONTROL__STATUS_REPLY__INIT;
	Pybpf__Control__Counter drops[RECORDER_MAX_DROPS + STAT__COUNT], ctrs[STAT__COUNT + 12];
	Pybpf__Control__Counter *dp[RECORDER_MAX_DROPS + STAT__COUNT], *cp[STAT__COUNT + 8];
	Pybpf__Control__ExportStatus ex[3], *exp[3] = {&ex[0], &ex[1], &ex[2]};
	char version[] = PYBPF_VERSION, mode[16];
	size_t nd = 0, nc = 0;
	uint64_t rss;

	st.version = version;
	st.pid = (uint32_t)getpid();
	st.uptime_s = s->uptime_s;
	st.rate_hz = s->rate_hz;
	st.window_s = s->window_s;
	snprintf(mode, sizeof(mode), "%s", s->offcpu ? "cpu+offcpu" : "cpu");
	st.mode = mode;
	st.processes = (uint32_t)s->processes;
	st.samples = s->st.bpf[STAT_RECORDED];
	st.config_path = s->config_path;
	st.reload_error = s->reload_error;
	for (size_t i = 0; i < s->ndrops; i++)
		dp[nd] = counter(&drops[nd], s->drops[i].reason, s->drops[i].n), nd++;
	for (int i = 0; i < STAT__COUNT; i++)
		if (bpfs_stat_kind(i) == STATK_EVENT_DROP)
			dp[nd] = counter(&drops[nd], bpfs_stat_name(i), s->st.bpf[i]), nd++;
	for (int i = 0; i < STAT__COUNT; i++)
		if (bpfs_stat_kind(i) == STATK_INFO)
			cp[nc] = counter(&ctrs[nc], bpfs_stat_name(i), s->st.bpf[i]), nc++;
	cp[nc] = counter(&ctrs[nc], "unknown_code", s->st.agg.unknown_code), nc++;
	cp[nc] = counter(&ctrs[nc], "processes_seen", s->ctr.processes_seen), nc++;
	cp[nc] = counter(&ctrs[nc], "discovery_errors", s->ctr.discover_errors), nc++;
	cp[nc] = counter(&ctrs[nc], "unsupported_pythons", s->ctr.unsupported), nc++;
	cp[nc] = counter(&ctrs[nc], "windows", s->ctr.windows), nc++;
	cp[nc] = counter(&ctrs[nc], "control_refused", s->ctr.ctl_refused), nc++;
	cp[nc] = counter(&ctrs[nc], "control_busy", s->ctr.ctl_busy), nc++;
	cp[nc] = counter(&ctrs[nc], "pull_timeouts", s->ctr.pull_cut), nc++;
	st.drops = dp;
	st.n_drops = nd;
	st.counters = cp;
	st.n_counters = nc;
	export_status(&ex[0], "files", s->spool_on, s->spool_dir, s->spool.written, s->spool.errors,
		      s->spool.deleted);
	ex[0].last_error = s->spool.last_error;
	ex[0].last_error_time = s->spool.last_error_time;
	export_status(&ex[1], "push", s->push_on, s->push_url, s->push.sent, s->push.failed,
		      s->push.dropped_full + s->push.rejected);
	ex[1].queued = s->push.queue_files;
	ex[1].last_error = s->push.last_error;
	ex[1].last_error_time = s->push.last_error_time;
	export_status(&ex[2], "pull", s->pull_on, s->pull_listen, s->ctr.pull_requests,
		      s->ctr.pull_errors, 0);
	st.exports = exp;
	st.n_exports = 3;
	procfs_self_usage(&st.cpu_s, &rss);
	st.rss_bytes = rss;
	st.cpu_pct = s->cpu_pct;
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.status = &st;
	ctl_reply(cl, &r);
}

static void do_status(struct ctl_client *cl)
{
	struct daemon_snapshot s;
	pthread_mutex_lock(&cl->d->lock);
	int r = daemon_snapshot(cl->d, &s);
	pthread_mutex_unlock(&cl->d->lock);
	if (r)
		ctl_reply_error(cl, ENOMEM, "out of memory");
	else
		send_status(cl, &s);
	daemon_snapshot_free(&s);
}

struct ps_row {
	Pybpf__Control__PsEntry e;
	char version[32], service[SERVICE_NAME_MAX], root[PATH_MAX], command[128];
};

/* The processes the caller may see, copied (lock held). */
static size_t ps_rows(struct daemon *d, uid_t uid, struct ps_row *rows)
{
	size_t n = 0;
	for (size_t i = 0; i < d->nprocs; i++) {
		const struct dproc *p = &d->procs[i];
		if (p->exited || (uid != 0 && p->uid != uid))
			continue;
		struct ps_row *r = &rows[n++];
		pybpf__control__ps_entry__init(&r->e);
		snprintf(r->version, sizeof(r->version), "%u.%u.%u", p->pp.major, p->pp.minor,
			 p->pp.micro);
		snprintf(r->service, sizeof(r->service), "%s", p->service);
		snprintf(r->root, sizeof(r->root), "%s", p->pp.root);
		snprintf(r->command, sizeof(r->command), "%s", p->command);
		r->e.pid = (uint32_t)p->pid;
		r->e.ns_pid = (uint32_t)p->pp.ns_pid;
		r->e.samples = p->samples;
		r->e.uid = p->uid;
	}
	return n;
}

static void do_ps(struct ctl_client *cl)
{
	struct daemon *d = cl->d;
	pthread_mutex_lock(&d->lock);
	size_t cap = d->nprocs + 1;
	struct ps_row *rows = calloc(cap, sizeof(*rows));
	Pybpf__Control__PsEntry **ep = calloc(cap, sizeof(*ep));
	size_t n = rows && ep ? ps_rows(d, cl->cred.uid, rows) : 0;
	pthread_mutex_unlock(&d->lock);
	if (!rows || !ep) {
		ctl_reply_error(cl, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct ps_row *r = &rows[i];
		r->e.version = r->version;
		r->e.service = r->service;
		r->e.container = r->root;
		r->e.command = r->command;
		r->e.threads = procfs_count_tasks((pid_t)r->e.pid);
		ep[i] = &r->e;
	}
	Pybpf__Control__PsReply ps = PYBPF__CONTROL__PS_REPLY__INIT;
	ps.procs = ep;
	ps.n_procs = n;
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.ps = &ps;
	ctl_reply(cl, &r);
out:
	free(rows);
	free(ep);
}

/* --- record and top ------------------------------------------------------------------ */

#define MAX_FORMATS 8 /* outputs of one record */

static void do_record(struct ctl_client *cl, const Pybpf__Control__RecordRequest *rq)
{
	struct daemon *d = cl->d;
	int mode = agg_mode_parse(rq->mode && rq->mode[0] ? rq->mode : "cpu");
	int format = export_format_parse(rq->format && rq->format[0] ? rq->format : "pprof");
	int formats[MAX_FORMATS];
	size_t nformats = rq->n_formats;
	struct dproc *first;
	char python[32] = "";
	for (size_t i = 0; i < nformats && i < MAX_FORMATS && format >= 0; i++)
		if ((formats[i] = export_format_parse(rq->formats[i])) < 0)
			format = -1;
	if (nformats > MAX_FORMATS)
		format = -1;
	int native =
		!rq->native || !rq->native[0] ? PROF_NATIVE_FOLD : prof_native_parse(rq->native);
	if (mode < 0 || format < 0 || native < 0 || (rq->idle && mode != AGG_MODE_WALL) ||
	    !(rq->duration_s >= 0 && rq->duration_s <= MAX_RECORD_S)) {
		ctl_reply_error(cl, EINVAL,
				"bad request: mode '%s', format '%s', native '%s', duration %g s",
				rq->mode, rq->format, rq->native, rq->duration_s);
		return;
	}
	struct prof_view view = {
		.native = (enum prof_native)native,
		.function = rq->function,
		.nolineno = rq->nolineno,
		.threads = rq->threads,
		.gil_only = rq->gil,
		.idle = rq->idle,
		.full_filenames = rq->full_filenames,
	};
	pthread_mutex_lock(&d->lock);
	if (mode != AGG_MODE_CPU && !d->cfg.offcpu) {
		pthread_mutex_unlock(&d->lock);
		ctl_reply_error(cl, ENOTSUP,
				"mode %s needs off-CPU tracking: pybpfd runs with offcpu = false",
				rq->mode);
		return;
	}
	/* a command pybpfctl holds for it: found now, before it runs on */
	for (size_t i = 0; rq->resume && i < rq->n_pids; i++)
		if (authz_may_see(cl->cred.uid, (pid_t)rq->pids[i]))
			discovery_look_now(d, (pid_t)rq->pids[i]);
	if (check_pids(cl, rq->pids, rq->n_pids, &first)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	if (first)
		snprintf(python, sizeof(python), "%u.%u.%u", first->pp.major, first->pp.minor,
			 first->pp.micro);
	struct capture *c =
		start(cl, capture_new(CAPTURE_PROFILE, (enum agg_mode)mode, rq->pids, rq->n_pids,
				      caller_uid(cl), NULL, rq->duration_s, d->cfg.rate_hz));
	for (size_t i = 0; c && rq->resume && i < rq->n_pids; i++)
		kill((pid_t)rq->pids[i], SIGCONT); /* its capture runs: on it goes */
	if (!c || finish(cl, c)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	Pybpf__Control__RecordSummary sum = PYBPF__CONTROL__RECORD_SUMMARY__INIT;
	struct recorder_drop drops[RECORDER_MAX_DROPS];
	size_t nd = capture_drops(d, c, drops, &sum.unknown_code);
	pthread_mutex_unlock(&d->lock);

	Pybpf__Control__Counter dc[RECORDER_MAX_DROPS], *dp[RECORDER_MAX_DROPS];
	for (size_t i = 0; i < nd; i++)
		dp[i] = counter(&dc[i], drops[i].reason, drops[i].n);
	sum.drops = dp;
	sum.n_drops = nd;
	sum.samples = c->prof->total_count;
	sum.duration_s = (double)c->prof->duration_ns / 1e9;
	sum.rate_hz = c->prof->rate_hz;
	sum.python = python;
	/* one capture, encoded in each format asked for (outside the lock) */
	if (!nformats)
		formats[nformats++] = format;
	ProtobufCBinaryData out[MAX_FORMATS] = {0};
	const char *title = rq->title ? rq->title : "pybpf";
	struct profile *shown = profile_view(c->prof, &view);
	int ok = shown != NULL;
	for (size_t i = 0; i < nformats && ok; i++)
		ok = !export_encode(shown, (enum export_format)formats[i], title, &out[i].data,
				    &out[i].len);
	if (shown) {
		profile_free(shown);
		free(shown);
	}
	if (!ok) {
		ctl_reply_error(cl, EIO, "encoding the profile failed: %s", strerror(errno));
	} else {
		Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
		r.data = out[0];
		if (rq->n_formats) {
			r.outputs = out;
			r.n_outputs = nformats;
		}
		r.summary = &sum;
		ctl_reply(cl, &r);
	}
	for (size_t i = 0; i < nformats; i++)
		free(out[i].data);
	capture_free(NULL, c);
}

static void send_top(struct ctl_client *cl, const struct profile *taken,
		     const Pybpf__Control__TopRequest *rq)
{
	struct top_table t;
	struct profile *p = top_view(taken, rq->gil, rq->idle);
	if (!p || top_compute(p, &t)) {
		if (p) {
			profile_free(p);
			free(p);
		}
		ctl_reply_error(cl, ENOMEM, "out of memory");
		return;
	}
	size_t n = t.n < MAX_TOP_ROWS ? t.n : MAX_TOP_ROWS;
	Pybpf__Control__TopRow rows[MAX_TOP_ROWS], *rp[MAX_TOP_ROWS];
	for (size_t i = 0; i < n; i++) {
		pybpf__control__top_row__init(&rows[i]);
		rows[i].function = (char *)t.rows[i].function;
		rows[i].file = (char *)t.rows[i].file;
		rows[i].line = t.rows[i].line;
		rows[i].self = t.rows[i].self;
		rows[i].total = t.rows[i].total;
		rp[i] = &rows[i];
	}
	Pybpf__Control__TopReply tr = PYBPF__CONTROL__TOP_REPLY__INIT;
	tr.samples = t.samples;
	tr.seconds = (double)p->duration_ns / 1e9;
	tr.rows = rp;
	tr.n_rows = n;
	tr.processes = (uint32_t)p->nprocs;
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.top = &tr;
	ctl_reply(cl, &r); /* strings live in the shown profile */
	top_free(&t);
	profile_free(p);
	free(p);
}

static void do_top(struct ctl_client *cl, const Pybpf__Control__TopRequest *rq)
{
	struct daemon *d = cl->d;
	struct dproc *first;
	/* 0: the default; NaN, infinities and the rest are refused */
	double interval = rq->interval_s == 0 ? 1 : rq->interval_s;
	if (!(interval > 0 && interval <= 60)) {
		ctl_reply_error(cl, EINVAL, "bad request: interval %g s (0 to 60)", rq->interval_s);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (rq->idle && !d->cfg.offcpu) {
		pthread_mutex_unlock(&d->lock);
		ctl_reply_error(cl, ENOTSUP,
				"--idle needs off-CPU tracking: pybpfd runs with offcpu = false");
		return;
	}
	if (rq->pid && check_pids(cl, &rq->pid, 1, &first)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	struct capture *c = start(
		cl, capture_new(CAPTURE_PROFILE, rq->idle ? AGG_MODE_WALL : AGG_MODE_CPU, &rq->pid,
				rq->pid ? 1 : 0, caller_uid(cl), NULL, interval, d->cfg.rate_hz));
	if (!c || finish(cl, c)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	pthread_mutex_unlock(&d->lock);
	send_top(cl, c->prof, rq);
	capture_free(NULL, c);
}

/* --- dump and the gil / io reports ---------------------------------------------- */

/* Text a printer writes into memory, sent as the reply's data. */
static void send_printed(struct ctl_client *cl, char *text, size_t len)
{
	if (!text)
		ctl_reply_error(cl, ENOMEM, "out of memory");
	else
		ctl_reply_data(cl, text, len);
	free(text);
}

static void do_dump(struct ctl_client *cl, const Pybpf__Control__DumpRequest *rq)
{
	struct daemon *d = cl->d;
	struct pyprocess pp;
	struct dump dp;
	char err[512] = "", *text = NULL;
	size_t len = 0;
	pthread_mutex_lock(&d->lock);
	if (!allowed(cl, (pid_t)rq->pid)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	struct dproc *p = daemon_proc(d, (pid_t)rq->pid);
	bool known = p && !p->exited;
	if (known)
		pp = p->pp; /* inspected already */
	pthread_mutex_unlock(&d->lock);
	if (!known) {
		struct elfcache *elves = elfcache_new();
		enum pyprocess_result r =
			elves ? pyprocess_inspect((pid_t)rq->pid, elves, &pp, err, sizeof(err))
			      : PYPROC_ERROR;
		elfcache_free(elves);
		if (r != PYPROC_OK) {
			ctl_reply_error(cl, ESRCH, "%s", err[0] ? err : "out of memory");
			return;
		}
	}
	if (rq->tasks) {
		FILE *f = open_memstream(&text, &len);
		int rc = f ? pytasks_print(&pp, rq->json, f, err, sizeof(err)) : -1;
		if (f)
			fclose(f);
		if (rc) {
			free(text);
			ctl_reply_error(cl, ESRCH, "%s", f ? err : "out of memory");
			return;
		}
		send_printed(cl, text, len);
		return;
	}
	if (dump_process(&pp, &dp,
			 (rq->nonblocking ? DUMP_NONBLOCKING : 0) | (rq->locals ? DUMP_LOCALS : 0) |
				 (rq->native ? DUMP_NATIVE : 0),
			 err, sizeof(err))) {
		ctl_reply_error(cl, ESRCH, "%s", err);
		return;
	}
	FILE *f = open_memstream(&text, &len);
	if (f) {
		(rq->json ? dump_print_json : dump_print_text)(&pp, &dp, f);
		fclose(f);
	}
	dump_free(&dp);
	send_printed(cl, text, len);
}

/* The report's text (lock held: it reads the sampler's stacks and names). */
static char *print_report(struct daemon *d, struct capture *c, const struct pyprocess *pp,
			  const Pybpf__Control__ReportRequest *rq, size_t *len)
{
	struct report_input in;
	char *text = NULL;
	/* the counts of the ticks sampled in its span, the live counters
	 * between its two snapshots: both over the same length */
	uint64_t end = c->ended_mono ? c->ended_mono : monotonic_ns();
	report_collect(&in, &d->rec.agg, &c->waits, d->rec.bpf, pp, &c->base,
		       c->ended_mono ? &c->endsnap : NULL, (double)(end - c->start_mono) / 1e9);
	FILE *f = open_memstream(&text, len);
	if (!f)
		return NULL;
	(rq->gil ? report_gil : report_io)(&in, rq->json, f);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

static void do_report(struct ctl_client *cl, const Pybpf__Control__ReportRequest *rq)
{
	struct daemon *d = cl->d;
	struct dproc *p;
	double secs = rq->duration_s == 0 ? 5 : rq->duration_s;
	size_t len = 0;
	if (!(secs > 0 && secs <= MAX_RECORD_S)) {
		ctl_reply_error(cl, EINVAL, "bad request: duration %g s (0 to %d)", rq->duration_s,
				(int)MAX_RECORD_S);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (!d->cfg.offcpu) {
		pthread_mutex_unlock(&d->lock);
		ctl_reply_error(cl, ENOTSUP,
				"%s needs off-CPU tracking: pybpfd runs with offcpu = false",
				rq->gil ? "gil" : "io");
		return;
	}
	if (check_pids(cl, &rq->pid, 1, &p)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	struct pyprocess pp = p->pp; /* p may be gone after an exit */
	struct capture *c = capture_new(CAPTURE_REPORT, AGG_MODE_WALL, &rq->pid, 1, -1, NULL, secs,
					d->cfg.rate_hz);
	/* its counts those of the ticks sampled in its span (as a profile's),
	 * the GIL counters live: both over its length */
	if (c)
		c->report_pp = pp;
	/* the exact GIL signal while it runs, where the interpreter names take_gil */
	bool takes = rq->gil && pp.take_gil_off && bpfs_attach_gil_takes(d->rec.bpf, &pp) == 0;
	d->gil_reports += takes;
	if (c && report_baseline_take(&c->base, d->rec.bpf, &d->rec.agg, &pp)) {
		capture_free(NULL, c);
		c = NULL;
	}
	c = start(cl, c);
	char *text = NULL;
	if (c && finish(cl, c) == 0)
		text = print_report(d, c, &pp, rq, &len);
	else
		c = NULL; /* said, and freed */
	if (takes && --d->gil_reports == 0)
		bpfs_detach_gil_takes(d->rec.bpf);
	pthread_mutex_unlock(&d->lock);
	if (!c)
		return;
	capture_free(NULL, c);
	send_printed(cl, text, len);
}

void ctl_handle(struct ctl_client *c, const Pybpf__Control__Request *rq)
{
	switch (rq->cmd_case) {
	case PYBPF__CONTROL__REQUEST__CMD_STATUS:
		do_status(c);
		break;
	case PYBPF__CONTROL__REQUEST__CMD_PS:
		do_ps(c);
		break;
	case PYBPF__CONTROL__REQUEST__CMD_RECORD:
		do_record(c, rq->record);
		break;
	case PYBPF__CONTROL__REQUEST__CMD_DUMP:
		do_dump(c, rq->dump);
		break;
	case PYBPF__CONTROL__REQUEST__CMD_REPORT:
		do_report(c, rq->report);
		break;
	case PYBPF__CONTROL__REQUEST__CMD_TOP:
		do_top(c, rq->top);
		break;
	default:
		ctl_reply_error(c, EINVAL, "unknown request");
	}
}
