/* status.c - `pybpfctl status` and `pybpfctl ps`: what pybpfd does, and
 * the Python processes it profiles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sys/textesc.h"

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
	int fd = daemon_require();
	if (fd < 0)
		return NULL;
	Pybpf__Control__Response *r = daemon_call(fd, rq, NULL);
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
	printf(", \"reload_error\": ");
	json_write_string(stdout, s->reload_error ? s->reload_error : "");
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
	if (s->reload_error && s->reload_error[0])
		printf("reload     refused, running the configuration before it: %s\n",
		       s->reload_error);
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
