/* metrics.c - /metrics: the daemon's counters for Prometheus. */
#include "metrics.h"

#include <stdint.h>
#include <string.h>

#include "bpf_loader.h"
#include "daemon.h"
#include "push.h"
#include "waitstats.h"

static void head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are sanitised service names, pids and fixed words: nothing to
 * escape but what a service name cannot hold anyway. */
static void service_metrics(struct daemon *d, FILE *out)
{
	head(out, "pybpf_service_samples_total", "counter", "On-CPU samples per service.");
	for (size_t i = 0; i < d->nmetrics; i++)
		fprintf(out, "pybpf_service_samples_total{service=\"%s\"} %llu\n",
			d->metrics[i].name, (unsigned long long)d->metrics[i].samples);
	head(out, "pybpf_gil_held_seconds_total", "counter",
	     "Thread-seconds spent holding the GIL, per service.");
	for (size_t i = 0; i < d->nmetrics; i++)
		fprintf(out, "pybpf_gil_held_seconds_total{service=\"%s\"} %.6f\n",
			d->metrics[i].name, (double)d->metrics[i].gil_held_ns / 1e9);
	head(out, "pybpf_gil_wait_seconds_total", "counter",
	     "Thread-seconds spent waiting for the GIL, per service.");
	for (size_t i = 0; i < d->nmetrics; i++)
		fprintf(out, "pybpf_gil_wait_seconds_total{service=\"%s\"} %.6f\n",
			d->metrics[i].name, (double)d->metrics[i].gil_wait_ns / 1e9);
	head(out, "pybpf_offcpu_seconds_total", "counter",
	     "Thread-seconds off CPU, per service and reason.");
	for (size_t i = 0; i < d->nmetrics; i++)
		for (unsigned r = 1; r < REASON__COUNT; r++)
			fprintf(out,
				"pybpf_offcpu_seconds_total{service=\"%s\",reason=\"%s\"} %.6f\n",
				d->metrics[i].name, waitstats_reason_name(r),
				(double)d->metrics[i].offcpu_ns[r] / 1e9);
}

static void bpf_metrics(struct daemon *d, FILE *out)
{
	uint64_t st[STAT__COUNT] = {0};
	bpfs_stats(d->rec.bpf, st);
	head(out, "pybpf_samples_total", "counter",
	     "Samples recorded in the kernel (every process, on CPU).");
	fprintf(out, "pybpf_samples_total %llu\n", (unsigned long long)st[STAT_RECORDED]);
	head(out, "pybpf_samples_delivered_total", "counter",
	     "On-CPU samples that reached the profiles.");
	fprintf(out, "pybpf_samples_delivered_total %llu\n", (unsigned long long)d->samples_total);
	head(out, "pybpf_dropped_samples_total", "counter", "Samples dropped, by reason.");
	fprintf(out, "pybpf_dropped_samples_total{reason=\"ringbuf_full\"} %llu\n",
		(unsigned long long)st[STAT_DROP_RINGBUF]);
	fprintf(out, "pybpf_dropped_samples_total{reason=\"counts_map_full\"} %llu\n",
		(unsigned long long)st[STAT_DROP_COUNTS]);
	fprintf(out, "pybpf_dropped_samples_total{reason=\"internal\"} %llu\n",
		(unsigned long long)st[STAT_DROP_RUNTIME]);
	fprintf(out, "pybpf_dropped_samples_total{reason=\"stack_lost\"} %llu\n",
		(unsigned long long)d->rec.agg.stats.unknown_stack);
	fprintf(out, "pybpf_dropped_samples_total{reason=\"offcpu_start_lost\"} %llu\n",
		(unsigned long long)st[STAT_DROP_OFFCPU]);
	head(out, "pybpf_dropped_events_total", "counter",
	     "Exec/exit events dropped (events ring buffer full).");
	fprintf(out, "pybpf_dropped_events_total %llu\n", (unsigned long long)st[STAT_DROP_EVENTS]);
	head(out, "pybpf_stacks", "gauge", "Distinct stacks the daemon knows now.");
	fprintf(out, "pybpf_stacks %zu\n", agg_stack_count(&d->rec.agg));
	head(out, "pybpf_stacks_forgotten_total", "counter",
	     "Stacks forgotten after stack_idle_s without a sample.");
	fprintf(out, "pybpf_stacks_forgotten_total %llu\n",
		(unsigned long long)d->rec.agg.stats.stacks_forgotten);
	head(out, "pybpf_stack_flags_total", "counter",
	     "Samples kept with a flagged stack, by flag.");
	fprintf(out, "pybpf_stack_flags_total{flag=\"truncated\"} %llu\n",
		(unsigned long long)st[STAT_TRUNCATED]);
	fprintf(out, "pybpf_stack_flags_total{flag=\"python_read_fault\"} %llu\n",
		(unsigned long long)st[STAT_PY_FAULT]);
	fprintf(out, "pybpf_stack_flags_total{flag=\"no_python_thread\"} %llu\n",
		(unsigned long long)st[STAT_NO_TSTATE]);
	fprintf(out, "pybpf_stack_flags_total{flag=\"unknown_code\"} %llu\n",
		(unsigned long long)d->rec.agg.stats.unknown_code);
}

static void push_metrics(struct daemon *d, FILE *out)
{
	struct push_stats ps;
	memset(&ps, 0, sizeof(ps));
	if (d->pusher)
		push_get_stats(d->pusher, &ps);
	head(out, "pybpf_push_windows_total", "counter",
	     "Windows through the push queue, by result.");
	fprintf(out, "pybpf_push_windows_total{result=\"queued\"} %llu\n",
		(unsigned long long)ps.queued);
	fprintf(out, "pybpf_push_windows_total{result=\"sent\"} %llu\n",
		(unsigned long long)ps.sent);
	fprintf(out, "pybpf_push_windows_total{result=\"dropped_queue_full\"} %llu\n",
		(unsigned long long)ps.dropped_full);
	fprintf(out, "pybpf_push_windows_total{result=\"rejected\"} %llu\n",
		(unsigned long long)ps.rejected);
	head(out, "pybpf_push_failures_total", "counter", "Push attempts that failed (retried).");
	fprintf(out, "pybpf_push_failures_total %llu\n", (unsigned long long)ps.failed);
	head(out, "pybpf_push_queue_bytes", "gauge", "Bytes waiting in the on-disk push queue.");
	fprintf(out, "pybpf_push_queue_bytes %llu\n", (unsigned long long)ps.queue_bytes);
}

void metrics_write(struct daemon *d, FILE *out)
{
	double cpu;
	uint64_t rss;
	size_t live = 0;
	for (size_t i = 0; i < d->nprocs; i++)
		live += !d->procs[i].exited;
	daemon_self_usage(&cpu, &rss);
	head(out, "pybpf_processes", "gauge", "Python processes being profiled.");
	fprintf(out, "pybpf_processes %zu\n", live);
	head(out, "pybpf_processes_seen_total", "counter", "Python processes found since start.");
	fprintf(out, "pybpf_processes_seen_total %llu\n",
		(unsigned long long)d->ctr.processes_seen);
	bpf_metrics(d, out);
	head(out, "pybpf_errors_total", "counter", "Errors, by kind.");
	fprintf(out, "pybpf_errors_total{kind=\"discovery\"} %llu\n",
		(unsigned long long)d->ctr.discover_errors);
	fprintf(out, "pybpf_errors_total{kind=\"unsupported_python\"} %llu\n",
		(unsigned long long)d->ctr.unsupported);
	fprintf(out, "pybpf_errors_total{kind=\"spool\"} %llu\n",
		(unsigned long long)d->ctr.spool_errors);
	fprintf(out, "pybpf_errors_total{kind=\"encode\"} %llu\n",
		(unsigned long long)d->ctr.encode_errors);
	fprintf(out, "pybpf_errors_total{kind=\"pull\"} %llu\n",
		(unsigned long long)d->ctr.pull_errors);
	fprintf(out, "pybpf_errors_total{kind=\"control_refused\"} %llu\n",
		(unsigned long long)d->ctr.ctl_refused);
	head(out, "pybpf_windows_total", "counter", "Service windows exported.");
	fprintf(out, "pybpf_windows_total %llu\n", (unsigned long long)d->ctr.windows);
	head(out, "pybpf_spool_files_total", "counter", "Spool files written.");
	fprintf(out, "pybpf_spool_files_total %llu\n", (unsigned long long)d->ctr.spool_written);
	push_metrics(d, out);
	service_metrics(d, out);
	head(out, "pybpf_rate_hz", "gauge", "Samples per second per CPU.");
	fprintf(out, "pybpf_rate_hz %u\n", d->cfg.rate_hz);
	head(out, "pybpf_daemon_cpu_seconds_total", "counter", "The daemon's own CPU time.");
	fprintf(out, "pybpf_daemon_cpu_seconds_total %.3f\n", cpu);
	head(out, "pybpf_daemon_resident_bytes", "gauge", "The daemon's resident memory.");
	fprintf(out, "pybpf_daemon_resident_bytes %llu\n", (unsigned long long)rss);
	head(out, "pybpf_uptime_seconds", "gauge", "Seconds since the daemon started.");
	fprintf(out, "pybpf_uptime_seconds %.3f\n", (double)(monotonic_ns() - d->start_mono) / 1e9);
}
