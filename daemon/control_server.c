/* control_server.c - the daemon's side of the control socket: accepts
 * pybpfctl's connections, checks who is asking (SO_PEERCRED) and answers
 * status, ps, record, dump, gil/io and top, a thread per connection. */
#define _GNU_SOURCE
#include "control_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_proto.h"
#include "daemon.h"
#include "dump.h"
#include "export.h"
#include "log.h"
#include "memread.h"
#include "push.h"
#include "report.h"
#include "top.h"

#define MAX_CLIENTS  64
#define MAX_TOP_ROWS 200
#define MAX_RECORD_S (24 * 3600.0)

struct client {
	struct ctl_server *srv;
	int fd;
	struct ucred cred;
	pthread_t thread;
	bool used, finished;
};

struct ctl_server {
	struct daemon *d;
	char path[108];
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	pthread_mutex_t lock; /* the clients table */
	struct client clients[MAX_CLIENTS];
};

/* --- replies ---------------------------------------------------------------- */

static void send_response(struct client *c, Pybpf__Control__Response *r)
{
	if (ctl_write_msg(c->fd, &r->base))
		log_debug("control: reply to pid %d lost: %s", (int)c->cred.pid, strerror(errno));
}

static void send_error(struct client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void send_error(struct client *c, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.code = code;
	r.error = msg;
	send_response(c, &r);
}

/* May the caller profile pid?  Sends the refusal when not (lock held). */
static bool allowed(struct client *c, pid_t pid)
{
	struct daemon *d = c->srv->d;
	if (daemon_may_see(d, c->cred.uid, pid))
		return true;
	d->ctr.ctl_refused++;
	struct stat st;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st))
		send_error(c, ESRCH, "pid %d: no such process", (int)pid);
	else
		send_error(c, EPERM,
			   "pid %d belongs to uid %u: you (uid %u) may profile only your own "
			   "processes; ask root",
			   (int)pid, (unsigned)st.st_uid, (unsigned)c->cred.uid);
	log_info("control: uid %u (pid %d) refused pid %d", (unsigned)c->cred.uid, (int)c->cred.pid,
		 (int)pid);
	return false;
}

/* The daemon's record of pid, waiting a little for one just started (lock
 * held).  Sends the error when there is none. */
static struct dproc *known_proc(struct client *c, pid_t pid)
{
	struct daemon *d = c->srv->d;
	for (int i = 0; i < 30; i++) { /* discovery needs a few ticks for a new process */
		struct dproc *p = daemon_proc(d, pid);
		if (p && !p->exited)
			return p;
		pthread_mutex_unlock(&d->lock);
		usleep(100000);
		pthread_mutex_lock(&d->lock);
	}
	struct pyprocess pp;
	char err[512] = "";
	if (pyprocess_inspect(pid, &pp, err, sizeof(err)) != PYPROC_OK)
		send_error(c, ESRCH, "%s", err);
	else
		send_error(c, ESRCH, "pid %d is a Python pybpfd does not profile (see its log)",
			   (int)pid);
	return NULL;
}

/* --- waiting on a capture, with the client able to stop it ----------------- */

/* Waits (lock held) until c is done.  -1 when the client went away. */
static int wait_capture(struct client *cl, struct capture *c)
{
	struct daemon *d = cl->srv->d;
	while (!c->done) {
		capture_wait(d, c, monotonic_ns() + 200000000ULL);
		struct pollfd pfd = {.fd = cl->fd, .events = POLLIN};
		if (c->done || poll(&pfd, 1, 0) <= 0)
			continue;
		pthread_mutex_unlock(&d->lock);
		Pybpf__Control__Request *rq = ctl_read_request(cl->fd);
		pthread_mutex_lock(&d->lock);
		if (!rq)
			return -1; /* closed: cancelled */
		if (rq->cmd_case == PYBPF__CONTROL__REQUEST__CMD_STOP)
			c->stop = true;
		pybpf__control__request__free_unpacked(rq, NULL);
	}
	return 0;
}

/* --- status and ps ------------------------------------------------------- */

static Pybpf__Control__Counter *counter(Pybpf__Control__Counter *c, const char *name, uint64_t v)
{
	pybpf__control__counter__init(c);
	c->name = (char *)name;
	c->value = v;
	return c;
}

static void do_status(struct client *cl)
{
	struct daemon *d = cl->srv->d;
	Pybpf__Control__StatusReply st = PYBPF__CONTROL__STATUS_REPLY__INIT;
	Pybpf__Control__Counter drops[8], ctrs[STAT__COUNT + 8];
	Pybpf__Control__Counter *dp[8], *cp[STAT__COUNT + 8];
	Pybpf__Control__ExportStatus ex[3], *exp[3];
	uint64_t bs[STAT__COUNT] = {0};
	struct push_stats ps;
	char version[] = PYBPF_VERSION, mode[16], listen[128], url[512], spool[256];
	uint64_t rss;

	pthread_mutex_lock(&d->lock);
	bpfs_stats(d->rec.bpf, bs);
	st.version = version;
	st.pid = (uint32_t)getpid();
	st.uptime_s = (double)(monotonic_ns() - d->start_mono) / 1e9;
	st.rate_hz = d->cfg.rate_hz;
	st.window_s = d->cfg.window_s;
	snprintf(mode, sizeof(mode), "%s", d->cfg.offcpu ? "cpu+offcpu" : "cpu");
	st.mode = mode;
	for (size_t i = 0; i < d->nprocs; i++)
		st.processes += !d->procs[i].exited;
	st.samples = bs[STAT_RECORDED];
	st.config_path = d->config_path;
	size_t nd = 0, nc = 0;
	dp[nd] = counter(&drops[nd], "ringbuf_full", bs[STAT_DROP_RINGBUF]), nd++;
	dp[nd] = counter(&drops[nd], "counts_map_full", bs[STAT_DROP_COUNTS]), nd++;
	dp[nd] = counter(&drops[nd], "internal", bs[STAT_DROP_RUNTIME]), nd++;
	dp[nd] = counter(&drops[nd], "stack_lost", d->rec.agg.stats.unknown_stack), nd++;
	dp[nd] = counter(&drops[nd], "offcpu_start_lost", bs[STAT_DROP_OFFCPU]), nd++;
	dp[nd] = counter(&drops[nd], "process_events", bs[STAT_DROP_EVENTS]), nd++;
	st.drops = dp;
	st.n_drops = nd;
	for (int i = 0; i < STAT__COUNT; i++)
		cp[nc] = counter(&ctrs[nc], bpfs_stat_name(i), bs[i]), nc++;
	cp[nc] = counter(&ctrs[nc], "unknown_code", d->rec.agg.stats.unknown_code), nc++;
	cp[nc] = counter(&ctrs[nc], "processes_seen", d->ctr.processes_seen), nc++;
	cp[nc] = counter(&ctrs[nc], "discovery_errors", d->ctr.discover_errors), nc++;
	cp[nc] = counter(&ctrs[nc], "unsupported_pythons", d->ctr.unsupported), nc++;
	cp[nc] = counter(&ctrs[nc], "windows", d->ctr.windows), nc++;
	cp[nc] = counter(&ctrs[nc], "control_refused", d->ctr.ctl_refused), nc++;
	st.counters = cp;
	st.n_counters = nc;

	for (int i = 0; i < 3; i++) {
		pybpf__control__export_status__init(&ex[i]);
		exp[i] = &ex[i];
	}
	snprintf(spool, sizeof(spool), "%s", d->cfg.spool_dir);
	ex[0].name = "files";
	ex[0].enabled = d->cfg.spool;
	ex[0].target = spool;
	ex[0].ok = d->ctr.spool_written;
	ex[0].failed = d->ctr.spool_errors;
	ex[0].dropped = d->ctr.spool_deleted;
	ex[0].last_error = d->ctr.spool_last_error;
	ex[0].last_error_time = d->ctr.spool_last_error_time;
	memset(&ps, 0, sizeof(ps));
	if (d->pusher)
		push_get_stats(d->pusher, &ps);
	snprintf(url, sizeof(url), "%s", d->cfg.push_url);
	ex[1].name = "push";
	ex[1].enabled = d->pusher != NULL;
	ex[1].target = url;
	ex[1].ok = ps.sent;
	ex[1].failed = ps.failed;
	ex[1].dropped = ps.dropped_full + ps.rejected;
	ex[1].queued = ps.queue_files;
	ex[1].last_error = ps.last_error;
	ex[1].last_error_time = ps.last_error_time;
	snprintf(listen, sizeof(listen), "%s", d->cfg.pull_listen);
	ex[2].name = "pull";
	ex[2].enabled = d->pull != NULL;
	ex[2].target = listen;
	ex[2].ok = d->ctr.pull_requests;
	ex[2].failed = d->ctr.pull_errors;
	ex[2].last_error = "";
	st.exports = exp;
	st.n_exports = 3;
	daemon_self_usage(&st.cpu_s, &rss);
	st.rss_bytes = rss;
	st.cpu_pct = d->cpu_pct;

	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.status = &st;
	send_response(cl, &r);
	pthread_mutex_unlock(&d->lock);
}

static uint32_t count_threads(pid_t pid)
{
	char path[64];
	uint32_t n = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	struct dirent *e;
	if (!dir)
		return 0;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

static void do_ps(struct client *cl)
{
	struct daemon *d = cl->srv->d;
	Pybpf__Control__PsReply ps = PYBPF__CONTROL__PS_REPLY__INIT;
	pthread_mutex_lock(&d->lock);
	size_t n = 0;
	Pybpf__Control__PsEntry *e = calloc(d->nprocs + 1, sizeof(*e));
	Pybpf__Control__PsEntry **ep = calloc(d->nprocs + 1, sizeof(*ep));
	char(*ver)[32] = calloc(d->nprocs + 1, sizeof(*ver));
	if (!e || !ep || !ver) {
		pthread_mutex_unlock(&d->lock);
		send_error(cl, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < d->nprocs; i++) {
		struct dproc *p = &d->procs[i];
		if (p->exited || (cl->cred.uid != 0 && p->uid != cl->cred.uid))
			continue;
		pybpf__control__ps_entry__init(&e[n]);
		snprintf(ver[n], sizeof(ver[n]), "%u.%u.%u", p->pp.major, p->pp.minor, p->pp.micro);
		e[n].pid = (uint32_t)p->pid;
		e[n].ns_pid = (uint32_t)p->pp.ns_pid;
		e[n].version = ver[n];
		e[n].service = p->service;
		e[n].threads = count_threads(p->pid);
		e[n].samples = p->samples;
		e[n].container = p->pp.root;
		e[n].uid = p->uid;
		e[n].command = p->command;
		ep[n] = &e[n];
		n++;
	}
	ps.procs = ep;
	ps.n_procs = n;
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.ps = &ps;
	send_response(cl, &r);
	pthread_mutex_unlock(&d->lock);
out:
	free(e);
	free(ep);
	free(ver);
}

/* --- record and top ---------------------------------------------------------- */

static int render(const struct profile *p, int format, const char *title, uint8_t **buf,
		  size_t *len)
{
	if (format == EXPORT_PPROF)
		return export_pprof_buf(p, buf, len);
	char *mem = NULL;
	FILE *f = open_memstream(&mem, len);
	if (!f)
		return -1;
	int r = format == EXPORT_COLLAPSED ? export_collapsed(p, f)
		: format == EXPORT_SVG	   ? export_svg(p, f, title)
					   : export_speedscope(p, f, title);
	if (fclose(f))
		r = -1;
	if (r) {
		free(mem);
		return -1;
	}
	*buf = (uint8_t *)mem;
	return 0;
}

/* Checks the pids of a request; the capture's uid filter otherwise. */
static int check_pids(struct client *cl, const uint32_t *pids, size_t n, struct dproc **first)
{
	*first = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!allowed(cl, (pid_t)pids[i]))
			return -1;
		struct dproc *p = known_proc(cl, (pid_t)pids[i]);
		if (!p)
			return -1;
		if (!*first)
			*first = p;
	}
	return 0;
}

static void do_record(struct client *cl, const Pybpf__Control__RecordRequest *rq)
{
	struct daemon *d = cl->srv->d;
	int mode = agg_mode_parse(rq->mode && rq->mode[0] ? rq->mode : "cpu");
	int format = export_format_parse(rq->format && rq->format[0] ? rq->format : "pprof");
	struct dproc *first;
	if (mode < 0 || format < 0 || rq->duration_s < 0 || rq->duration_s > MAX_RECORD_S) {
		send_error(cl, EINVAL, "bad request: mode '%s', format '%s', duration %.1f s",
			   rq->mode, rq->format, rq->duration_s);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (mode != AGG_MODE_CPU && !d->cfg.offcpu) {
		pthread_mutex_unlock(&d->lock);
		send_error(cl, ENOTSUP,
			   "mode %s needs off-CPU tracking: pybpfd runs with offcpu = false",
			   rq->mode);
		return;
	}
	if (check_pids(cl, rq->pids, rq->n_pids, &first)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	int64_t uid = cl->cred.uid == 0 ? -1 : (int64_t)cl->cred.uid;
	struct capture *c =
		d->closing ? NULL
			   : capture_new(CAPTURE_PROFILE, (enum agg_mode)mode, rq->pids, rq->n_pids,
					 uid, NULL, rq->duration_s, d->cfg.rate_hz);
	if (!c) {
		pthread_mutex_unlock(&d->lock);
		send_error(cl, EAGAIN, "the daemon is stopping");
		return;
	}
	c->aligned = true;
	capture_start(d, c);
	if (wait_capture(cl, c)) {
		capture_free(d, c);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	char python[32] = "";
	if (first)
		snprintf(python, sizeof(python), "%u.%u.%u", first->pp.major, first->pp.minor,
			 first->pp.micro);
	Pybpf__Control__RecordSummary sum = PYBPF__CONTROL__RECORD_SUMMARY__INIT;
	sum.samples = c->prof->total_count;
	sum.duration_s = (double)c->prof->duration_ns / 1e9;
	sum.rate_hz = c->prof->rate_hz;
	sum.python = python;
	int rr = render(c->prof, format, rq->title ? rq->title : "pybpf", &buf, &len);
	capture_free(d, c);
	pthread_mutex_unlock(&d->lock);
	if (rr) {
		send_error(cl, EIO, "encoding the profile failed: %s", strerror(errno));
		return;
	}
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.data.data = buf;
	r.data.len = len;
	r.summary = &sum;
	send_response(cl, &r);
	free(buf);
}

static void do_top(struct client *cl, const Pybpf__Control__TopRequest *rq)
{
	struct daemon *d = cl->srv->d;
	struct dproc *first;
	double interval = rq->interval_s > 0 && rq->interval_s <= 60 ? rq->interval_s : 1;
	pthread_mutex_lock(&d->lock);
	if (rq->pid && check_pids(cl, &rq->pid, 1, &first)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	int64_t uid = cl->cred.uid == 0 ? -1 : (int64_t)cl->cred.uid;
	struct capture *c =
		d->closing ? NULL
			   : capture_new(CAPTURE_PROFILE, AGG_MODE_CPU, &rq->pid, rq->pid ? 1 : 0,
					 uid, NULL, interval, d->cfg.rate_hz);
	if (!c) {
		pthread_mutex_unlock(&d->lock);
		send_error(cl, EAGAIN, "the daemon is stopping");
		return;
	}
	capture_start(d, c);
	if (wait_capture(cl, c)) {
		capture_free(d, c);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	struct top_table t;
	if (top_compute(c->prof, &t)) {
		capture_free(d, c);
		pthread_mutex_unlock(&d->lock);
		send_error(cl, ENOMEM, "out of memory");
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
	tr.seconds = (double)c->prof->duration_ns / 1e9;
	tr.rows = rp;
	tr.n_rows = n;
	tr.processes = (uint32_t)c->prof->nprocs;
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.top = &tr;
	send_response(cl, &r); /* strings live in the capture's profile */
	top_free(&t);
	capture_free(d, c);
	pthread_mutex_unlock(&d->lock);
}

/* --- dump and the gil / io reports ---------------------------------------- */

static void send_text(struct client *cl, char *text, size_t len)
{
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.data.data = (uint8_t *)text;
	r.data.len = len;
	send_response(cl, &r);
}

static void do_dump(struct client *cl, const Pybpf__Control__DumpRequest *rq)
{
	struct daemon *d = cl->srv->d;
	struct pyprocess pp;
	struct dump dp;
	char err[512] = "", *text = NULL;
	size_t len = 0;
	pthread_mutex_lock(&d->lock);
	if (!allowed(cl, (pid_t)rq->pid)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	/* the elf cache the inspection uses is the sampler's: under the lock */
	if (pyprocess_inspect((pid_t)rq->pid, &pp, err, sizeof(err)) != PYPROC_OK ||
	    dump_process(&pp, &dp, err, sizeof(err))) {
		pthread_mutex_unlock(&d->lock);
		send_error(cl, ESRCH, "%s", err);
		return;
	}
	pthread_mutex_unlock(&d->lock);
	FILE *f = open_memstream(&text, &len);
	if (f) {
		if (rq->json)
			dump_print_json(&pp, &dp, f);
		else
			dump_print_text(&pp, &dp, f);
		fclose(f);
	}
	dump_free(&dp);
	if (!text)
		send_error(cl, ENOMEM, "out of memory");
	else
		send_text(cl, text, len);
	free(text);
}

static int thread_base(void *ctx, uint32_t tid, struct gil_thread *out)
{
	const struct capture *c = ctx;
	for (size_t i = 0; i < c->nbase; i++)
		if (c->base[i].tid == tid) {
			*out = c->base[i].g;
			return 0;
		}
	return -1;
}

/* The GIL counters at the start of a report (lock held). */
static void report_baseline(struct daemon *d, struct capture *c, const struct dproc *p)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)p->pid);
	bpfs_gil_stats(d->rec.bpf, p->pid, &c->gil0, c->hist0);
	DIR *dir = opendir(path);
	struct dirent *e;
	size_t cap = 0;
	while (dir && (e = readdir(dir))) {
		uint32_t tid = (uint32_t)strtoul(e->d_name, NULL, 10);
		if (!tid)
			continue;
		if (c->nbase == cap) {
			cap = cap ? cap * 2 : 16;
			struct gil_thread_base *nb = realloc(c->base, cap * sizeof(*nb));
			if (!nb)
				break;
			c->base = nb;
		}
		c->base[c->nbase].tid = tid;
		bpfs_gil_thread(d->rec.bpf, tid, &c->base[c->nbase].g);
		c->nbase++;
	}
	if (dir)
		closedir(dir);
	uint64_t sw = p->pp.gil_addr + p->pp.layout.gil_switch_number;
	c->have_switches = p->pp.gil_addr && !mem_read_u64(p->pid, sw, &c->switches0);
}

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void do_report(struct client *cl, const Pybpf__Control__ReportRequest *rq)
{
	struct daemon *d = cl->srv->d;
	struct dproc *p;
	double secs = rq->duration_s > 0 && rq->duration_s <= MAX_RECORD_S ? rq->duration_s : 5;
	pthread_mutex_lock(&d->lock);
	if (!d->cfg.offcpu) {
		pthread_mutex_unlock(&d->lock);
		send_error(cl, ENOTSUP,
			   "%s needs off-CPU tracking: pybpfd runs with offcpu = false",
			   rq->gil ? "gil" : "io");
		return;
	}
	if (check_pids(cl, &rq->pid, 1, &p)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	struct capture *c = d->closing ? NULL
				       : capture_new(CAPTURE_REPORT, AGG_MODE_WALL, &rq->pid, 1, -1,
						     NULL, secs, d->cfg.rate_hz);
	if (!c) {
		pthread_mutex_unlock(&d->lock);
		send_error(cl, EAGAIN, "the daemon is stopping");
		return;
	}
	/* its counts come through the count hook as they are drained, the GIL
	 * counters live: both over the time it runs */
	report_baseline(d, c, p);
	capture_start(d, c);
	if (wait_capture(cl, c)) {
		capture_free(d, c);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	struct pyprocess pp = p->pp; /* p may be gone after an exit */
	struct report_input in = {.agg = &d->rec.agg,
				  .waits = &c->waits,
				  .bpf = d->rec.bpf,
				  .thread_base = thread_base,
				  .base_ctx = c,
				  .pp = &pp,
				  .seconds = (double)(monotonic_ns() - c->start_mono) / 1e9};
	uint64_t sw1 = 0;
	bpfs_gil_stats(d->rec.bpf, pp.pid, &in.gil, in.hist);
	in.gil.held_samples = minus(in.gil.held_samples, c->gil0.held_samples);
	in.gil.contended_samples = minus(in.gil.contended_samples, c->gil0.contended_samples);
	for (int b = 0; b < GIL_HIST_BUCKETS; b++)
		in.hist[b] = minus(in.hist[b], c->hist0[b]);
	in.have_switches = c->have_switches &&
			   !mem_read_u64(pp.pid, pp.gil_addr + pp.layout.gil_switch_number, &sw1);
	in.switches = minus(sw1, c->switches0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f) {
		if (rq->gil)
			report_gil(&in, rq->json, f);
		else
			report_io(&in, rq->json, f);
		fclose(f);
	}
	capture_free(d, c);
	pthread_mutex_unlock(&d->lock);
	if (!text)
		send_error(cl, ENOMEM, "out of memory");
	else
		send_text(cl, text, len);
	free(text);
}

/* --- connections -------------------------------------------------------------- */

static void serve(struct client *cl)
{
	struct daemon *d = cl->srv->d;
	Pybpf__Control__Request *rq = ctl_read_request(cl->fd);
	if (!rq) {
		if (errno != ECONNRESET)
			log_debug("control: bad request from pid %d: %s", (int)cl->cred.pid,
				  strerror(errno));
		return;
	}
	pthread_mutex_lock(&d->lock);
	d->ctr.ctl_requests++;
	pthread_mutex_unlock(&d->lock);
	if (rq->version != CTL_PROTO_VERSION) {
		send_error(cl, EPROTO, "protocol version %u; this pybpfd speaks %u", rq->version,
			   CTL_PROTO_VERSION);
		goto out;
	}
	switch (rq->cmd_case) {
	case PYBPF__CONTROL__REQUEST__CMD_STATUS:
		do_status(cl);
		break;
	case PYBPF__CONTROL__REQUEST__CMD_PS:
		do_ps(cl);
		break;
	case PYBPF__CONTROL__REQUEST__CMD_RECORD:
		do_record(cl, rq->record);
		break;
	case PYBPF__CONTROL__REQUEST__CMD_DUMP:
		do_dump(cl, rq->dump);
		break;
	case PYBPF__CONTROL__REQUEST__CMD_REPORT:
		do_report(cl, rq->report);
		break;
	case PYBPF__CONTROL__REQUEST__CMD_TOP:
		do_top(cl, rq->top);
		break;
	default:
		send_error(cl, EINVAL, "unknown request");
	}
out:
	pybpf__control__request__free_unpacked(rq, NULL);
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	serve(cl);
	pthread_mutex_lock(&cl->srv->lock);
	close(cl->fd);
	cl->fd = -1;
	cl->finished = true;
	pthread_mutex_unlock(&cl->srv->lock);
	return NULL;
}

/* Joins the threads of finished clients; returns a free slot or NULL. */
static struct client *free_slot(struct ctl_server *s)
{
	struct client *slot = NULL;
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];
		if (c->used && c->finished) {
			pthread_join(c->thread, NULL);
			c->used = false;
		}
		if (!c->used && !slot)
			slot = c;
	}
	pthread_mutex_unlock(&s->lock);
	return slot;
}

static void accept_one(struct ctl_server *s)
{
	int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct client *cl = free_slot(s);
	socklen_t len = sizeof(struct ucred);
	if (!cl) {
		log_warn("control: %d clients already, one refused", MAX_CLIENTS);
		close(fd);
		return;
	}
	*cl = (struct client){.srv = s, .fd = fd, .used = true};
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cl->cred, &len)) {
		close(fd);
		cl->used = false;
		return;
	}
	if (pthread_create(&cl->thread, NULL, client_main, cl)) {
		close(fd);
		cl->used = false;
	}
}

static void *accept_main(void *arg)
{
	struct ctl_server *s = arg;
	for (;;) {
		struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
				      {.fd = s->stop_pipe[0], .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN)
			accept_one(s);
	}
	return NULL;
}

static int make_socket(struct ctl_server *s, const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(s->path)];
	snprintf(dir, sizeof(dir), "%s", s->path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		goto fail;
	unlink(s->path); /* a stale socket of an earlier run */
	mode_t old = umask(0117);
	int r = bind(s->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r || listen(s->fd, 16))
		goto fail;
	if (group && group[0]) {
		struct group *g = getgrnam(group);
		if (!g)
			log_warn("control socket: no group '%s': only root may use %s (create it: "
				 "addgroup --system %s)",
				 group, s->path, group);
		else if (chown(s->path, 0, g->gr_gid))
			log_warn("control socket: chown to group %s: %s", group, strerror(errno));
	}
	if (chmod(s->path, 0660))
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return -1;
}

struct ctl_server *ctl_server_start(struct daemon *d, const char *path, const char *group,
				    char *err, size_t errlen)
{
	struct ctl_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->d = d;
	s->fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	pthread_mutex_init(&s->lock, NULL);
	if (make_socket(s, group, err, errlen))
		goto fail;
	if (pipe2(s->stop_pipe, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (pthread_create(&s->thread, NULL, accept_main, s)) {
		snprintf(err, errlen, "cannot start a thread");
		goto fail;
	}
	return s;
fail:
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->path);
	}
	free(s);
	return NULL;
}

void ctl_server_stop(struct ctl_server *s)
{
	if (!s)
		return;
	if (write(s->stop_pipe[1], "x", 1) != 1)
		log_warn("control: cannot wake the accept thread");
	pthread_join(s->thread, NULL);
	/* clients still reading a request: wake them */
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].used && !s->clients[i].finished && s->clients[i].fd >= 0)
			shutdown(s->clients[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->clients[i].used)
			pthread_join(s->clients[i].thread, NULL);
	close(s->fd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	unlink(s->path);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
