/* output.c - what pybpfctl prints besides the reports themselves: progress
 * lines and the record summary, the same for a local run and one through
 * pybpfd. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sys/clock.h"
#include "sys/procfs.h"
#include "sys/textesc.h"

void progress_init(struct progress *p, bool quiet)
{
	p->quiet = quiet;
	p->tty = isatty(STDERR_FILENO);
	p->start = monotonic_ns();
	p->last = 0;
}

void progress_show(struct progress *p, const char *label, const char *text, bool final)
{
	uint64_t now = monotonic_ns();
	uint64_t every = p->tty ? 500000000ULL : 5000000000ULL;
	if (p->quiet || (!final && now - (p->last ? p->last : p->start) < every))
		return;
	p->last = now;
	fprintf(stderr, "%s[pybpf] %s %.1fs  %s%s", p->tty ? "\r" : "", label,
		(double)(now - p->start) / 1e9, text, p->tty && !final ? "   " : "\n");
}

int recorder_measure(struct recorder *r, pid_t pid, struct follow *tree, double seconds, bool quiet)
{
	struct progress pr;
	uint64_t end = r->start_mono + (uint64_t)(seconds * 1e9);
	progress_init(&pr, quiet);
	while (!stop_requested && monotonic_ns() < end &&
	       (tree ? follow_alive(tree) > 0 : procfs_alive(pid))) {
		/* a new process of the tree is looked at within milliseconds */
		if (recorder_step(r, tree && follow_waiting(tree) ? 5 : 100) < 0) {
			fprintf(stderr, "pybpfctl: reading from the BPF program failed\n");
			return -1;
		}
		if (tree)
			follow_tick(tree);
		progress_recorder(&pr, r, "measuring", false);
	}
	progress_recorder(&pr, r, "measuring", true);
	return 0;
}

void progress_recorder(struct progress *p, struct recorder *r, const char *label, bool final)
{
	struct recorder_stats st;
	char text[128];
	if (p->quiet || recorder_stats(r, &st))
		return;
	snprintf(text, sizeof(text), "%llu samples  %llu dropped",
		 (unsigned long long)st.bpf[STAT_RECORDED],
		 (unsigned long long)recorder_dropped(&st));
	progress_show(p, label, text, final);
}

void warn_layout(const struct pyprocess *pp)
{
	if (pp->layout_note[0])
		fprintf(stderr, "pybpfctl: pid %d, CPython %u.%u.%u: %s\n", (int)pp->pid, pp->major,
			pp->minor, pp->micro, pp->layout_note);
}

static void summary_json(const struct record_summary *s)
{
	printf("{\"pid\": %d, \"python\": ", (int)s->pid);
	json_write_string(stdout, s->python);
	if (s->tree) {
		printf(", \"pids\": [");
		for (size_t i = 0; i < s->npids; i++)
			printf("%s%d", i ? ", " : "", (int)s->pids[i]);
		printf("]");
	}
	printf(", \"output\": ");
	json_write_string(stdout, s->output[0]);
	printf(", \"format\": \"%s\", \"outputs\": [", s->format[0]);
	for (size_t i = 0; i < s->noutputs; i++) {
		printf("%s{\"path\": ", i ? ", " : "");
		json_write_string(stdout, s->output[i]);
		printf(", \"format\": \"%s\"}", s->format[i]);
	}
	printf("], \"mode\": \"%s\", \"rate_hz\": %u, \"duration_s\": %.3f, "
	       "\"samples\": %llu, \"via\": \"%s\", ",
	       s->mode, s->rate_hz, s->duration_s, (unsigned long long)s->samples, s->via);
	recorder_drops_json(stdout, s->drops, s->ndrops);
	for (size_t i = 0; i < s->ndrops; i++)
		printf(", \"dropped_%s\": %llu", s->drops[i].reason,
		       (unsigned long long)s->drops[i].n);
	printf(", \"unknown_code\": %llu", (unsigned long long)s->unknown_code);
	if (s->st) {
		printf(", \"thread_names\": %llu, \"thread_name_reads\": %llu",
		       (unsigned long long)s->st->agg.thread_names,
		       (unsigned long long)s->st->agg.thread_name_reads);
		printf(", \"task_reads\": %llu, \"task_misses\": %llu, \"sql_unknown\": %llu",
		       (unsigned long long)s->st->agg.task_reads,
		       (unsigned long long)s->st->agg.task_misses,
		       (unsigned long long)s->st->agg.sql_unknown);
		for (int i = 0; i < STAT__COUNT; i++)
			if (bpfs_stat_kind(i) == STATK_INFO)
				printf(", \"%s\": %llu", bpfs_stat_name(i),
				       (unsigned long long)s->st->bpf[i]);
		printf(", \"bpf_run_ns\": %llu, \"bpf_run_count\": %llu",
		       (unsigned long long)s->st->bpf_run_ns,
		       (unsigned long long)s->st->bpf_run_cnt);
	}
	printf("}\n");
}

void print_record_summary(const struct record_summary *s, bool json, bool quiet)
{
	if (json) {
		summary_json(s);
		return;
	}
	if (quiet)
		return;
	fprintf(stderr, "[pybpf] wrote ");
	for (size_t i = 0; i < s->noutputs; i++)
		fprintf(stderr, "%s%s (%s)", i ? ", " : "", s->output[i], s->format[i]);
	if (s->tree)
		fprintf(stderr,
			": %llu samples of pid %d's tree (%zu Python processes) in %.1fs at %u "
			"Hz\n",
			(unsigned long long)s->samples, (int)s->pid, s->npids, s->duration_s,
			s->rate_hz);
	else
		fprintf(stderr, ": %llu samples of pid %d (CPython %s) in %.1fs at %u Hz%s\n",
			(unsigned long long)s->samples, (int)s->pid, s->python, s->duration_s,
			s->rate_hz, strcmp(s->via, "pybpfd") ? "" : ", recorded by pybpfd");
	uint64_t dropped = recorder_drops_total(s->drops, s->ndrops);
	uint64_t truncated = s->st ? s->st->bpf[STAT_TRUNCATED] : 0;
	uint64_t faults = s->st ? s->st->bpf[STAT_PY_FAULT] : 0;
	if (!dropped && !truncated && !faults && !s->unknown_code)
		return;
	fprintf(stderr, "[pybpf] ");
	recorder_drops_text(stderr, s->drops, s->ndrops);
	fprintf(stderr,
		"; truncated stacks %llu; Python read faults %llu; unknown code objects %llu\n",
		(unsigned long long)truncated, (unsigned long long)faults,
		(unsigned long long)s->unknown_code);
}
