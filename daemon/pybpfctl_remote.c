/* pybpfctl_remote.c - the pybpfctl commands that go through pybpfd's control
 * socket: record, dump, gil and io when the daemon runs; status and ps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aggregate.h"
#include "control_client.h"
#include "export.h"
#include "pybpfctl.h"
#include "record.h"
#include "textesc.h"

/* Waits for the answer to the request running on fd; Ctrl-C sends a stop
 * (the daemon then answers with what it has).  label: for the progress
 * line, NULL for none. */
static Pybpf__Control__Response *await(int fd, const char *label)
{
	bool tty = isatty(STDERR_FILENO), stopped = false;
	uint64_t start = monotonic_ns(), last = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, 200);
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			return NULL;
		if (stop_requested && !stopped) {
			stopped = true;
			ctl_send_stop(fd);
		}
		uint64_t now = monotonic_ns();
		if (label && now - last >= (tty ? 500000000ULL : 5000000000ULL)) {
			last = now;
			fprintf(stderr, "%s[pybpf] %s via pybpfd: %.1fs%s", tty ? "\r" : "", label,
				(double)(now - start) / 1e9, tty ? "   " : "\n");
		}
	}
	if (label && last && tty)
		fputc('\n', stderr);
	return ctl_read_response(fd);
}

/* Sends rq and waits; prints the daemon's error.  NULL on failure. */
static Pybpf__Control__Response *call(int fd, Pybpf__Control__Request *rq, const char *label)
{
	Pybpf__Control__Response *r = NULL;
	if (ctl_send(fd, rq) == 0)
		r = await(fd, label);
	if (!r) {
		fprintf(stderr, "pybpfctl: talking to pybpfd (%s) failed: %s\n", ctl_path,
			strerror(errno));
		return NULL;
	}
	if (r->code) {
		fprintf(stderr, "pybpfctl: %s\n", r->error && r->error[0] ? r->error : "refused");
		pybpf__control__response__free_unpacked(r, NULL);
		return NULL;
	}
	return r;
}

static int write_out(const char *path, const uint8_t *buf, size_t len)
{
	if (!strcmp(path, "-"))
		return fwrite(buf, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -1;
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0644) || close(fd) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int remote_record(int fd, const struct record_opts *o, pid_t child)
{
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	Pybpf__Control__RecordRequest rec = PYBPF__CONTROL__RECORD_REQUEST__INIT;
	uint32_t pid = (uint32_t)o->pid;
	char title[128];
	(void)child;
	snprintf(title, sizeof(title), "pybpf: pid %d", (int)o->pid);
	rec.pids = &pid;
	rec.n_pids = 1;
	rec.duration_s = o->duration;
	rec.mode = (char *)agg_mode_name((enum agg_mode)o->mode);
	rec.format = (char *)export_format_name((enum export_format)o->format);
	rec.title = title;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_RECORD;
	rq.record = &rec;
	if (o->rate != 99 && !o->quiet)
		fprintf(stderr, "pybpfctl: pybpfd samples at its own rate; --rate is ignored\n");
	Pybpf__Control__Response *r = call(fd, &rq, o->quiet ? NULL : "recording");
	close(fd);
	if (!r)
		return 1;
	int ret = 0;
	if (write_out(o->output, r->data.data, r->data.len)) {
		fprintf(stderr, "pybpfctl: writing %s failed: %s\n", o->output, strerror(errno));
		ret = 1;
	} else if (o->json) {
		const Pybpf__Control__RecordSummary *s = r->summary;
		printf("{\"pid\": %d, \"python\": ", (int)o->pid);
		json_write_string(stdout, s && s->python ? s->python : "");
		printf(", \"output\": ");
		json_write_string(stdout, o->output);
		printf(", \"format\": \"%s\", \"mode\": \"%s\", \"rate_hz\": %u, "
		       "\"duration_s\": %.3f, \"samples\": %llu, \"via\": \"pybpfd\"}\n",
		       export_format_name((enum export_format)o->format),
		       agg_mode_name((enum agg_mode)o->mode), s ? s->rate_hz : 0,
		       s ? s->duration_s : 0, s ? (unsigned long long)s->samples : 0ULL);
	} else if (!o->quiet && r->summary) {
		fprintf(stderr,
			"[pybpf] wrote %s (%s): %llu samples of pid %d (CPython %s) in %.1fs at "
			"%u Hz, recorded by pybpfd\n",
			o->output, export_format_name((enum export_format)o->format),
			(unsigned long long)r->summary->samples, (int)o->pid, r->summary->python,
			r->summary->duration_s, r->summary->rate_hz);
	}
	pybpf__control__response__free_unpacked(r, NULL);
	return ret;
}

static int print_data(Pybpf__Control__Response *r)
{
	int ret = fwrite(r->data.data, 1, r->data.len, stdout) == r->data.len ? 0 : 1;
	pybpf__control__response__free_unpacked(r, NULL);
	return ret;
}

int remote_dump(int fd, pid_t pid, bool json)
{
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	Pybpf__Control__DumpRequest dump = PYBPF__CONTROL__DUMP_REQUEST__INIT;
	dump.pid = (uint32_t)pid;
	dump.json = json;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_DUMP;
	rq.dump = &dump;
	Pybpf__Control__Response *r = call(fd, &rq, NULL);
	close(fd);
	return r ? print_data(r) : 1;
}

int remote_report(int fd, const struct record_opts *o, bool gil)
{
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	Pybpf__Control__ReportRequest rep = PYBPF__CONTROL__REPORT_REQUEST__INIT;
	rep.pid = (uint32_t)o->pid;
	rep.duration_s = o->duration;
	rep.gil = gil;
	rep.json = o->json;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_REPORT;
	rq.report = &rep;
	Pybpf__Control__Response *r = call(fd, &rq, o->quiet ? NULL : "measuring");
	close(fd);
	return r ? print_data(r) : 1;
}

/* --- status and ps ----------------------------------------------------------- */

static int need_daemon(void)
{
	if (no_daemon) {
		fprintf(stderr, "pybpfctl: this command needs pybpfd (drop --no-daemon)\n");
		return -1;
	}
	int fd = ctl_connect(ctl_path);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		fprintf(stderr,
			"pybpfctl: pybpfd's socket %s is not yours to use: ask to join the "
			"group pybpf (or run as root)\n",
			ctl_path);
	else if (fd < 0)
		fprintf(stderr,
			"pybpfctl: pybpfd is not running (nothing listens on %s): start it "
			"(systemctl start pybpfd), or give its socket with --socket PATH\n",
			ctl_path);
	return fd;
}

/* -h/--help and --json, the only options of status and ps. */
static int simple_opts(int argc, char **argv, const char *usage, bool *json)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			*json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			exit(0);
		} else {
			fprintf(stderr, "pybpfctl: unknown option '%s'\n%s", argv[i], usage);
			return -1;
		}
	}
	return 0;
}

/* status and ps: options, the daemon, the request.  NULL when it failed
 * (said); *json set by --json.  A usage error exits. */
static Pybpf__Control__Response *query(int argc, char **argv, const char *usage, bool *json,
				       Pybpf__Control__Request *rq)
{
	if (simple_opts(argc, argv, usage, json))
		exit(EXIT_USAGE);
	int fd = need_daemon();
	if (fd < 0)
		return NULL;
	Pybpf__Control__Response *r = call(fd, rq, NULL);
	close(fd);
	return r;
}

static void print_status_json(const Pybpf__Control__StatusReply *s)
{
	printf("{\"version\": ");
	json_write_string(stdout, s->version);
	printf(", \"pid\": %u, \"uptime_s\": %.3f, \"rate_hz\": %u, \"window_s\": %u, "
	       "\"mode\": ",
	       s->pid, s->uptime_s, s->rate_hz, s->window_s);
	json_write_string(stdout, s->mode);
	printf(", \"config\": ");
	json_write_string(stdout, s->config_path);
	printf(", \"processes\": %u, \"samples\": %llu, \"cpu_s\": %.3f, \"cpu_pct\": %.3f, "
	       "\"rss_bytes\": %llu, \"drops\": {",
	       s->processes, (unsigned long long)s->samples, s->cpu_s, s->cpu_pct,
	       (unsigned long long)s->rss_bytes);
	for (size_t i = 0; i < s->n_drops; i++)
		printf("%s\"%s\": %llu", i ? ", " : "", s->drops[i]->name,
		       (unsigned long long)s->drops[i]->value);
	printf("}, \"counters\": {");
	for (size_t i = 0; i < s->n_counters; i++)
		printf("%s\"%s\": %llu", i ? ", " : "", s->counters[i]->name,
		       (unsigned long long)s->counters[i]->value);
	printf("}, \"exports\": [");
	for (size_t i = 0; i < s->n_exports; i++) {
		const Pybpf__Control__ExportStatus *e = s->exports[i];
		printf("%s{\"name\": \"%s\", \"enabled\": %s, \"target\": ", i ? ", " : "", e->name,
		       e->enabled ? "true" : "false");
		json_write_string(stdout, e->target);
		printf(", \"ok\": %llu, \"failed\": %llu, \"dropped\": %llu, \"queued\": %llu, "
		       "\"last_error\": ",
		       (unsigned long long)e->ok, (unsigned long long)e->failed,
		       (unsigned long long)e->dropped, (unsigned long long)e->queued);
		json_write_string(stdout, e->last_error);
		printf(", \"last_error_time\": %llu}", (unsigned long long)e->last_error_time);
	}
	printf("]}\n");
}

static void print_status_text(const Pybpf__Control__StatusReply *s)
{
	uint64_t dropped = 0;
	for (size_t i = 0; i < s->n_drops; i++)
		dropped += s->drops[i]->value;
	printf("pybpfd %s (pid %u), up %.0f s, config %s\n", s->version, s->pid, s->uptime_s,
	       s->config_path);
	printf("sampling   %u Hz per CPU, %s, %u s windows\n", s->rate_hz, s->mode, s->window_s);
	printf("processes  %u Python\n", s->processes);
	printf("samples    %llu recorded, %llu dropped", (unsigned long long)s->samples,
	       (unsigned long long)dropped);
	for (size_t i = 0; i < s->n_drops; i++)
		if (s->drops[i]->value)
			printf(" (%s %llu)", s->drops[i]->name,
			       (unsigned long long)s->drops[i]->value);
	printf("\ndaemon     %.2f s CPU (%.2f %% of a core over the last window), %.1f MB "
	       "resident\n",
	       s->cpu_s, s->cpu_pct, (double)s->rss_bytes / 1048576.0);
	printf("exports\n");
	for (size_t i = 0; i < s->n_exports; i++) {
		const Pybpf__Control__ExportStatus *e = s->exports[i];
		if (!e->enabled) {
			printf("  %-6s off\n", e->name);
			continue;
		}
		printf("  %-6s %s: %llu ok, %llu failed, %llu dropped", e->name, e->target,
		       (unsigned long long)e->ok, (unsigned long long)e->failed,
		       (unsigned long long)e->dropped);
		if (!strcmp(e->name, "push"))
			printf(", %llu queued", (unsigned long long)e->queued);
		if (e->last_error && e->last_error[0]) {
			char when[32] = "";
			time_t t = (time_t)e->last_error_time;
			struct tm tm;
			if (localtime_r(&t, &tm))
				strftime(when, sizeof(when), "%H:%M:%S", &tm);
			printf("\n         last error at %s: %s", when, e->last_error);
		}
		printf("\n");
	}
}

int cmd_status(int argc, char **argv)
{
	static const char usage[] =
		"usage: pybpfctl status [--json]\n"
		"\n"
		"The daemon's state: uptime, rate, processes, samples, drops by reason,\n"
		"exports and their last error, its own CPU and memory.\n";
	Pybpf__Control__StatusRequest st = PYBPF__CONTROL__STATUS_REQUEST__INIT;
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_STATUS;
	rq.status = &st;
	bool json = false;
	Pybpf__Control__Response *r = query(argc, argv, usage, &json, &rq);
	if (!r)
		return 1;
	if (!r->status) {
		pybpf__control__response__free_unpacked(r, NULL);
		return 1;
	}
	if (json)
		print_status_json(r->status);
	else
		print_status_text(r->status);
	pybpf__control__response__free_unpacked(r, NULL);
	return 0;
}

int cmd_ps(int argc, char **argv)
{
	static const char usage[] =
		"usage: pybpfctl ps [--json]\n"
		"\n"
		"The Python processes pybpfd profiles (yours only, unless you are root):\n"
		"pid, pid in its container, version, service, threads, samples so far.\n";
	Pybpf__Control__PsRequest ps = PYBPF__CONTROL__PS_REQUEST__INIT;
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_PS;
	rq.ps = &ps;
	bool json = false;
	Pybpf__Control__Response *r = query(argc, argv, usage, &json, &rq);
	if (!r)
		return 1;
	if (!r->ps) {
		pybpf__control__response__free_unpacked(r, NULL);
		return 1;
	}
	const Pybpf__Control__PsReply *p = r->ps;
	if (json)
		printf("[");
	else
		printf("%7s %7s %-8s %-20s %7s %9s  %s\n", "PID", "NSPID", "PYTHON", "SERVICE",
		       "THREADS", "SAMPLES", "COMMAND");
	for (size_t i = 0; i < p->n_procs; i++) {
		const Pybpf__Control__PsEntry *e = p->procs[i];
		if (!json) {
			printf("%7u %7u %-8s %-20s %7u %9llu  %s\n", e->pid, e->ns_pid, e->version,
			       e->service, e->threads, (unsigned long long)e->samples, e->command);
			continue;
		}
		printf("%s{\"pid\": %u, \"ns_pid\": %u, \"uid\": %u, \"python\": ", i ? ", " : "",
		       e->pid, e->ns_pid, e->uid);
		json_write_string(stdout, e->version);
		printf(", \"service\": ");
		json_write_string(stdout, e->service);
		printf(", \"threads\": %u, \"samples\": %llu, \"root\": ", e->threads,
		       (unsigned long long)e->samples);
		json_write_string(stdout, e->container);
		printf(", \"command\": ");
		json_write_string(stdout, e->command);
		printf("}");
	}
	if (json)
		printf("]\n");
	pybpf__control__response__free_unpacked(r, NULL);
	return 0;
}
