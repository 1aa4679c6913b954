/* metrics.c - /metrics: the daemon's figures (a snapshot) in Prometheus'
 * text format. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "service/snapshot.h"
#include "sys/procfs.h"
#include "sys/textesc.h"

static void head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(FILE *out, const char *name, const char *help, uint64_t v)
{
	head(out, name, "counter", help);
	fprintf(out, "%s %llu\n", name, (unsigned long long)v);
}

/* Label values are sanitised service names, pids and fixed words: nothing to
 * escape but what a service name cannot hold anyway. */
static void service_metrics(const struct daemon_snapshot *s, FILE *out)
{
	head(out, "pybpf_service_samples_total", "counter", "On-CPU samples per service.");
	for (size_t i = 0; i < s->nservices; i++)
		fprintf(out, "pybpf_service_samples_total{service=\"%s\"} %llu\n",
			s->services[i].name, (unsigned long long)s->services[i].samples);
	head(out, "pybpf_gil_held_seconds_total", "counter",
	     "Thread-seconds spent holding the GIL, per service.");
	for (size_t i = 0; i < s->nservices; i++)
		fprintf(out, "pybpf_gil_held_seconds_total{service=\"%s\"} %.6f\n",
			s->services[i].name, (double)s->services[i].gil_held_ns / 1e9);
	head(out, "pybpf_gil_wait_seconds_total", "counter",
	     "Thread-seconds spent waiting for the GIL, per service.");
	for (size_t i = 0; i < s->nservices; i++)
		fprintf(out, "pybpf_gil_wait_seconds_total{service=\"%s\"} %.6f\n",
			s->services[i].name, (double)s->services[i].gil_wait_ns / 1e9);
	head(out, "pybpf_offcpu_seconds_total", "counter",
	     "Thread-seconds off CPU, per service and reason.");
	for (size_t i = 0; i < s->nservices; i++)
		for (unsigned r = 1; r < REASON__COUNT; r++)
			fprintf(out,
				"pybpf_offcpu_seconds_total{service=\"%s\",reason=\"%s\"} %.6f\n",
				s->services[i].name, waitstats_reason_name(r),
				(double)s->services[i].offcpu_ns[r] / 1e9);
	head(out, "pybpf_db_seconds_total", "counter",
	     "Thread-seconds waiting inside database drivers' calls, per service (the reason "
	     "db of pybpf_offcpu_seconds_total).");
	for (size_t i = 0; i < s->nservices; i++)
		fprintf(out, "pybpf_db_seconds_total{service=\"%s\"} %.6f\n", s->services[i].name,
			(double)s->services[i].offcpu_ns[REASON_DB] / 1e9);
}

/* Event loops: iterations, stalls, and the busy time of an iteration as a
 * histogram (its buckets from the kernel's, 4 a power of two, by their
 * middles: within a fifth of the edges). */
static void loop_metrics(const struct daemon_snapshot *s, FILE *out)
{
	head(out, "pybpf_event_loop_iterations_total", "counter",
	     "Event loop iterations (a wait's return to the next wait), per service.");
	for (size_t i = 0; i < s->nservices; i++)
		fprintf(out, "pybpf_event_loop_iterations_total{service=\"%s\"} %llu\n",
			s->services[i].name, (unsigned long long)s->services[i].loop_iterations);
	head(out, "pybpf_event_loop_stalls_total", "counter",
	     "Event loop iterations longer than event_loop_threshold_ms, per service.");
	for (size_t i = 0; i < s->nservices; i++)
		fprintf(out, "pybpf_event_loop_stalls_total{service=\"%s\"} %llu\n",
			s->services[i].name, (unsigned long long)s->services[i].loop_stalls);
	head(out, "pybpf_event_loop_busy_seconds", "histogram",
	     "Busy time of an event loop iteration, per service.");
	for (size_t i = 0; i < s->nservices; i++) {
		const struct svc_metrics *m = &s->services[i];
		uint64_t cum = 0;
		for (unsigned k = 0; k <= LOOP_LE_N; k++) {
			cum += m->loop_le[k];
			if (k < LOOP_LE_N)
				fprintf(out,
					"pybpf_event_loop_busy_seconds_bucket{service=\"%s\",le=\"%"
					"g\"} "
					"%llu\n",
					m->name, loop_le_s[k], (unsigned long long)cum);
			else
				fprintf(out,
					"pybpf_event_loop_busy_seconds_bucket{service=\"%s\",le=\"+"
					"Inf\"} "
					"%llu\n",
					m->name, (unsigned long long)cum);
		}
		fprintf(out, "pybpf_event_loop_busy_seconds_sum{service=\"%s\"} %.6f\n", m->name,
			(double)m->loop_busy_ns / 1e9);
		fprintf(out, "pybpf_event_loop_busy_seconds_count{service=\"%s\"} %llu\n", m->name,
			(unsigned long long)cum);
	}
	head(out, "pybpf_event_loop_stall_unattributed_seconds_total", "counter",
	     "Stall time the windows' stall type could not give a stack (every service).");
	fprintf(out, "pybpf_event_loop_stall_unattributed_seconds_total %.6f\n",
		(double)s->ctr.loop_stall_unattributed_ns / 1e9);
}

/* The labels of an HTTP series: the endpoint comes from the target's
 * memory (a function's name) or its requests (a route), so escaped. */
static void http_labels(FILE *out, const struct http_series *h)
{
	fprintf(out, "{service=\"%s\",endpoint=\"", h->service);
	prom_write_label(out, h->endpoint);
	fputc('"', out);
}

static void http_histogram(FILE *out, const struct http_series *h)
{
	const char *name = "pybpf_http_request_duration_seconds";
	uint64_t cum = 0;
	for (unsigned k = 0; k <= LOOP_LE_N; k++) {
		cum += h->le[k];
		fprintf(out, "%s_bucket", name);
		http_labels(out, h);
		if (k < LOOP_LE_N)
			fprintf(out, ",le=\"%g\"} %llu\n", loop_le_s[k], (unsigned long long)cum);
		else
			fprintf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	fprintf(out, "%s_sum", name);
	http_labels(out, h);
	fprintf(out, "} %.6f\n%s_count", (double)h->duration_ns / 1e9, name);
	http_labels(out, h);
	fprintf(out, "} %llu\n", (unsigned long long)cum);
}

/* A counter of every HTTP series: the uint64_t field at off. */
static void http_counter(const struct daemon_snapshot *s, FILE *out, const char *name,
			 const char *help, size_t off)
{
	head(out, name, "counter", help);
	for (size_t i = 0; i < s->nhttp; i++) {
		uint64_t v;
		memcpy(&v, (const char *)&s->http[i] + off, sizeof(v));
		fputs(name, out);
		http_labels(out, &s->http[i]);
		fprintf(out, "} %llu\n", (unsigned long long)v);
	}
}

/* HTTP/1.x requests per service and endpoint (http_requests = true). */
static void http_metrics(const struct daemon_snapshot *s, FILE *out)
{
	if (!s->http_on)
		return;
	http_counter(s, out, "pybpf_http_requests_total",
		     "HTTP/1.x requests answered, per service and endpoint (the view its stacks "
		     "name, else its route).",
		     offsetof(struct http_series, requests));
	http_counter(s, out, "pybpf_http_server_errors_total",
		     "HTTP/1.x requests answered with a 5xx status, per service and endpoint.",
		     offsetof(struct http_series, errors_5xx));
	head(out, "pybpf_http_request_duration_seconds", "histogram",
	     "From the read of a request to the write of its response's status line.");
	for (size_t i = 0; i < s->nhttp; i++)
		http_histogram(out, &s->http[i]);
	counter(out, "pybpf_http_requests_lost_total",
		"Requests answered but not counted: the kernel's ring full, or the daemon's "
		"queue or series full.",
		s->st.bpf[STAT_DROP_HTTP] + s->ctr.http_lost);
	counter(out, "pybpf_http_unanswered_total",
		"Requests whose connection was read again before any response was seen.",
		s->st.bpf[STAT_HTTP_UNANSWERED]);
}

static void sample_metrics(const struct daemon_snapshot *s, FILE *out)
{
	const uint64_t *st = s->st.bpf;
	counter(out, "pybpf_samples_total",
		"Samples recorded in the kernel (every process, on CPU).", st[STAT_RECORDED]);
	counter(out, "pybpf_samples_delivered_total", "On-CPU samples that reached the profiles.",
		s->samples_delivered);
	head(out, "pybpf_dropped_samples_total", "counter", "Samples dropped, by reason.");
	for (size_t i = 0; i < s->ndrops; i++)
		fprintf(out, "pybpf_dropped_samples_total{reason=\"%s\"} %llu\n",
			s->drops[i].reason, (unsigned long long)s->drops[i].n);
	head(out, "pybpf_dropped_events_total", "counter", "Process events dropped, by reason.");
	for (int i = 0; i < STAT__COUNT; i++)
		if (bpfs_stat_kind(i) == STATK_EVENT_DROP)
			fprintf(out, "pybpf_dropped_events_total{reason=\"%s\"} %llu\n",
				bpfs_stat_name(i), (unsigned long long)st[i]);
	head(out, "pybpf_stacks", "gauge", "Distinct stacks the daemon knows now.");
	fprintf(out, "pybpf_stacks %zu\n", s->stacks);
	counter(out, "pybpf_stacks_forgotten_total",
		"Stacks forgotten after stack_idle_s without a sample.",
		s->st.agg.stacks_forgotten);
	counter(out, "pybpf_thread_names_total",
		"New threads whose Python name was looked for (threading's registry).",
		s->st.agg.thread_names);
	counter(out, "pybpf_thread_name_reads_total", "Reads of target memory those looks took.",
		s->st.agg.thread_name_reads);
	counter(out, "pybpf_task_reads_total",
		"Reads of a process's asyncio tasks (to name the task of a new stack).",
		s->st.agg.task_reads);
	counter(out, "pybpf_task_misses_total",
		"Looks for a stack's asyncio task that found none (tried again as its samples "
		"come).",
		s->st.agg.task_misses);
	counter(out, "pybpf_sql_unknown_total",
		"Database waits whose statement's template was no longer kept (no sql label).",
		s->st.agg.sql_unknown);
	head(out, "pybpf_stack_flags_total", "counter",
	     "Samples kept with a flagged stack, by flag.");
	fprintf(out, "pybpf_stack_flags_total{flag=\"truncated\"} %llu\n",
		(unsigned long long)st[STAT_TRUNCATED]);
	fprintf(out, "pybpf_stack_flags_total{flag=\"python_read_fault\"} %llu\n",
		(unsigned long long)st[STAT_PY_FAULT]);
	fprintf(out, "pybpf_stack_flags_total{flag=\"no_python_thread\"} %llu\n",
		(unsigned long long)st[STAT_NO_TSTATE]);
	fprintf(out, "pybpf_stack_flags_total{flag=\"unknown_code\"} %llu\n",
		(unsigned long long)s->st.agg.unknown_code);
}

static void push_metrics(const struct daemon_snapshot *s, FILE *out)
{
	const struct push_stats *ps = &s->push;
	head(out, "pybpf_push_windows_total", "counter",
	     "Windows through the push queue, by result.");
	fprintf(out, "pybpf_push_windows_total{result=\"queued\"} %llu\n",
		(unsigned long long)ps->queued);
	fprintf(out, "pybpf_push_windows_total{result=\"sent\"} %llu\n",
		(unsigned long long)ps->sent);
	fprintf(out, "pybpf_push_windows_total{result=\"dropped_queue_full\"} %llu\n",
		(unsigned long long)ps->dropped_full);
	fprintf(out, "pybpf_push_windows_total{result=\"rejected\"} %llu\n",
		(unsigned long long)ps->rejected);
	counter(out, "pybpf_push_failures_total", "Push attempts that failed (retried).",
		ps->failed);
	head(out, "pybpf_push_queue_bytes", "gauge", "Bytes waiting in the on-disk push queue.");
	fprintf(out, "pybpf_push_queue_bytes %llu\n", (unsigned long long)ps->queue_bytes);
}

static void error_metrics(const struct daemon_snapshot *s, FILE *out)
{
	head(out, "pybpf_errors_total", "counter", "Errors, by kind.");
	fprintf(out, "pybpf_errors_total{kind=\"discovery\"} %llu\n",
		(unsigned long long)s->ctr.discover_errors);
	fprintf(out, "pybpf_errors_total{kind=\"unsupported_python\"} %llu\n",
		(unsigned long long)s->ctr.unsupported);
	fprintf(out, "pybpf_errors_total{kind=\"spool\"} %llu\n",
		(unsigned long long)s->spool.errors);
	fprintf(out, "pybpf_errors_total{kind=\"encode\"} %llu\n",
		(unsigned long long)s->ctr.encode_errors);
	fprintf(out, "pybpf_errors_total{kind=\"pull\"} %llu\n",
		(unsigned long long)s->ctr.pull_errors);
	fprintf(out, "pybpf_errors_total{kind=\"control_refused\"} %llu\n",
		(unsigned long long)s->ctr.ctl_refused);
	fprintf(out, "pybpf_errors_total{kind=\"control_busy\"} %llu\n",
		(unsigned long long)s->ctr.ctl_busy);
	fprintf(out, "pybpf_errors_total{kind=\"pull_timeout\"} %llu\n",
		(unsigned long long)s->ctr.pull_cut);
}

void metrics_write(const struct daemon_snapshot *s, FILE *out)
{
	double cpu;
	uint64_t rss;
	procfs_self_usage(&cpu, &rss);
	head(out, "pybpf_processes", "gauge", "Python processes being profiled.");
	fprintf(out, "pybpf_processes %zu\n", s->processes);
	counter(out, "pybpf_processes_seen_total", "Python processes found since start.",
		s->ctr.processes_seen);
	sample_metrics(s, out);
	error_metrics(s, out);
	counter(out, "pybpf_windows_total", "Service windows exported.", s->ctr.windows);
	counter(out, "pybpf_spool_files_total", "Spool files written.", s->spool.written);
	push_metrics(s, out);
	service_metrics(s, out);
	loop_metrics(s, out);
	http_metrics(s, out);
	head(out, "pybpf_rate_hz", "gauge", "Samples per second per CPU.");
	fprintf(out, "pybpf_rate_hz %u\n", s->rate_hz);
	head(out, "pybpf_daemon_cpu_seconds_total", "counter", "The daemon's own CPU time.");
	fprintf(out, "pybpf_daemon_cpu_seconds_total %.3f\n", cpu);
	head(out, "pybpf_daemon_resident_bytes", "gauge", "The daemon's resident memory.");
	fprintf(out, "pybpf_daemon_resident_bytes %llu\n", (unsigned long long)rss);
	head(out, "pybpf_uptime_seconds", "gauge", "Seconds since the daemon started.");
	fprintf(out, "pybpf_uptime_seconds %.3f\n", s->uptime_s);
}
