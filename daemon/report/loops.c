/* loops.c - the event loop report. */
#include "report/loops.h"

#include <stdlib.h>
#include <string.h>

#include "python/dump.h"
#include "report/report.h"
#include "report/waitstats.h"
#include "sys/procmaps.h"
#include "sys/textesc.h"

#define MAX_LOOP_THREADS 256
#define TOP_STALL_STACKS 10
#define STACK_FRAMES	 64

int loop_stalls_add(void *ctx, const void *rec, size_t len)
{
	struct loop_stalls *s = ctx;
	if (len < sizeof(struct pybpf_stall) || s->n >= LOOP_MAX_STALLS) {
		s->dropped++;
		return 0;
	}
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 256;
		struct pybpf_stall *nv = realloc(s->v, ncap * sizeof(*nv));
		if (!nv) {
			s->dropped++;
			return 0;
		}
		s->v = nv;
		s->cap = ncap;
	}
	memcpy(&s->v[s->n], rec, sizeof(struct pybpf_stall));
	if (s->v[s->n].nslots > LOOP_SLOTS)
		s->v[s->n].nslots = LOOP_SLOTS;
	s->n++;
	return 0;
}

void loop_stalls_free(struct loop_stalls *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

uint64_t loop_slot_ns(const struct loop_slot *sl, uint32_t rate_hz)
{
	return sl->kind == KIND_CPU ? (uint64_t)sl->count * (1000000000ULL / rate_hz) : sl->ns;
}

const char *loop_slot_reason(const struct loop_slot *sl)
{
	return sl->kind == KIND_CPU ? "cpu" : waitstats_reason_name(sl->reason);
}

/* A group of stalls: the same blocking stack (its Python text) and reason. */
struct stall_group {
	char stack[STACK_FRAMES][256]; /* outermost first: innermost last */
	int nframes;
	char key[2048];
	char task[64]; /* the asyncio task it ran in, "" if none */
	const char *reason;
	uint64_t count, total_ns, max_ns;
};

/* The Python frames of a stack, innermost last, and their text as a key. */
static void stack_frames(struct aggregator *a, uint64_t hash, struct stall_group *g)
{
	const uint32_t *frames;
	uint32_t n;
	size_t used = 0;
	g->nframes = 0;
	g->key[0] = 0;
	g->task[0] = 0;
	if (!hash || agg_stack_frames(a, hash, &frames, &n))
		return;
	const char *task = agg_stack_task(a, hash);
	snprintf(g->task, sizeof(g->task), "%s", task ? task : "");
	for (int64_t i = (int64_t)n - 1; i >= 0 && g->nframes < STACK_FRAMES; i--) {
		const struct prof_frame *f = &a->frames.frames[frames[i]];
		if (f->kind != PROF_FRAME_PYTHON)
			continue;
		char *t = g->stack[g->nframes++];
		snprintf(t, sizeof(g->stack[0]), "%s (%s:%lld)", f->name, f->file,
			 (long long)f->line);
		if (used < sizeof(g->key))
			used += (size_t)snprintf(g->key + used, sizeof(g->key) - used, "%s;", t);
	}
}

/* The stall's blocking stack and reason: where most of its time went, its
 * slots merged by Python text and reason first (one line's samples differ
 * in their native frames, and so in their hashes). */
static void blocking_stack(const struct loop_report_input *in, const struct pybpf_stall *st,
			   struct stall_group *g, struct stall_group *scratch)
{
	uint64_t ns[LOOP_SLOTS] = {0};
	uint32_t n = 0, best = 0;
	for (uint32_t i = 0; i < st->nslots; i++) {
		const struct loop_slot *sl = &st->slots[i];
		stack_frames(in->agg, sl->hash, &scratch[n]);
		scratch[n].reason = loop_slot_reason(sl);
		uint32_t k = 0;
		while (k < n && (scratch[k].reason != scratch[n].reason ||
				 strcmp(scratch[k].key, scratch[n].key)))
			k++;
		if (k == n)
			n++;
		ns[k] += loop_slot_ns(sl, in->rate_hz);
		if (ns[k] > ns[best])
			best = k;
	}
	if (!n) {
		memset(g, 0, sizeof(*g));
		g->reason = "unknown";
		return;
	}
	*g = scratch[best];
}

static int by_total(const void *a, const void *b)
{
	const struct stall_group *x = a, *y = b;
	return x->total_ns < y->total_ns ? 1 : x->total_ns > y->total_ns ? -1 : 0;
}

/* tid's stalls grouped by blocking stack and reason, heaviest first. */
static size_t group_stalls(const struct loop_report_input *in, uint32_t tid,
			   struct stall_group *out, size_t max)
{
	size_t n = 0;
	struct stall_group *g = calloc(1, sizeof(*g));
	struct stall_group *scratch = calloc(LOOP_SLOTS, sizeof(*scratch));
	if (!g || !scratch) {
		free(g);
		free(scratch);
		return 0;
	}
	for (size_t i = 0; i < in->stalls->n; i++) {
		const struct pybpf_stall *st = &in->stalls->v[i];
		if (st->tid != tid)
			continue;
		blocking_stack(in, st, g, scratch);
		size_t k = 0;
		for (; k < n; k++)
			if (out[k].reason == g->reason && !strcmp(out[k].key, g->key))
				break;
		if (k == n) {
			if (n == max)
				continue; /* more kinds than shown: the heaviest are kept below */
			out[n++] = *g;
		}
		uint64_t busy = st->end > st->start ? st->end - st->start : 0;
		out[k].count++;
		out[k].total_ns += busy;
		if (busy > out[k].max_ns)
			out[k].max_ns = busy;
	}
	free(g);
	free(scratch);
	qsort(out, n, sizeof(*out), by_total);
	return n;
}

/* What the thread's stack says it runs: asyncio's loop, or uvloop's (its
 * loop is C: the process maps uvloop's module, the thread no asyncio loop). */
static const char *loop_kind(const struct dump *d, uint32_t tid, bool uvloop)
{
	for (size_t i = 0; d && i < d->nthreads; i++) {
		const struct dump_thread *t = &d->threads[i];
		if (t->tid != tid)
			continue;
		for (size_t j = 0; j < t->nframes; j++) {
			const char *name = t->frames[j].name;
			if (strstr(name, "_run_once") || strstr(name, "EventLoop.run_forever"))
				return "asyncio";
		}
		return uvloop && t->nframes ? "uvloop" : NULL;
	}
	return NULL;
}

static bool maps_uvloop(pid_t pid)
{
	struct procmaps pm;
	bool found = false;
	if (procmaps_read(pid, &pm))
		return false;
	for (size_t i = 0; i < pm.n && !found; i++)
		found = strstr(pm.m[i].path, "/uvloop/loop.cpython") != NULL;
	procmaps_free(&pm);
	return found;
}

static uint64_t hist_of(const struct loop_thread *lt, uint64_t *hist)
{
	uint64_t total = 0;
	for (int b = 0; b < GIL_HIST_BUCKETS; b++)
		total += hist[b] = lt->hist[b];
	return total;
}

struct loop_row {
	uint32_t tid;
	const char *name, *kind;
	double per_s, p50, p99, max, stalled_pct;
	uint64_t iterations, stalls, stalls_lost;
};

static void row_of(const struct loop_report_input *in, const struct dump *d, bool uvloop,
		   uint32_t tid, const struct loop_thread *lt, struct loop_row *r)
{
	uint64_t hist[GIL_HIST_BUCKETS];
	hist_of(lt, hist);
	r->tid = tid;
	r->name = agg_thread_name(in->agg, (uint32_t)in->pp->pid, tid);
	r->kind = loop_kind(d, tid, uvloop);
	r->iterations = lt->iterations;
	r->per_s = in->seconds > 0 ? (double)lt->iterations / in->seconds : 0;
	r->p50 = report_percentile_ns(hist, 0.5) / 1e6;
	r->p99 = report_percentile_ns(hist, 0.99) / 1e6;
	r->max = (double)lt->max_busy_ns / 1e6;
	/* a percentile spread over its bucket may land past the longest seen */
	if (r->p99 > r->max)
		r->p99 = r->max;
	if (r->p50 > r->max)
		r->p50 = r->max;
	r->stalls = lt->stalls;
	r->stalls_lost = lt->stalls_lost;
	r->stalled_pct = in->seconds > 0 ? 100.0 * (double)lt->stall_ns / (in->seconds * 1e9) : 0;
}

static void print_text(const struct loop_report_input *in, const struct loop_row *r,
		       const struct stall_group *g, size_t ng, FILE *out)
{
	fprintf(out,
		"\nThread %u \"%s\"%s%s%s: %.0f iterations/s, busy p50 %.3f ms, p99 %.3f ms, "
		"max %.3f ms\n",
		r->tid, r->name ? r->name : "?", r->kind ? " (" : "", r->kind ? r->kind : "",
		r->kind ? " loop)" : "", r->per_s, r->p50, r->p99, r->max);
	fprintf(out, "  stalls over %.0f ms: %llu, %.1f %% of the time\n", in->threshold_ms,
		(unsigned long long)r->stalls, r->stalled_pct);
	for (size_t k = 0; k < ng && k < TOP_STALL_STACKS; k++) {
		fprintf(out, "  %llu stalls, %.1f ms in all (max %.1f ms), %s%s%s%s:\n",
			(unsigned long long)g[k].count, (double)g[k].total_ns / 1e6,
			(double)g[k].max_ns / 1e6, g[k].reason, g[k].task[0] ? ", in task \"" : "",
			g[k].task, g[k].task[0] ? "\"" : "");
		if (!g[k].nframes)
			fprintf(out, "      [no Python stack]\n");
		for (int f = g[k].nframes - 1; f >= 0; f--)
			fprintf(out, "      %s\n", g[k].stack[f]);
	}
}

static void print_json(const struct loop_row *r, const struct stall_group *g, size_t ng, bool first,
		       FILE *out)
{
	fprintf(out, "%s\n  {\"tid\": %u, \"thread_name\": ", first ? "" : ",", r->tid);
	json_write_string(out, r->name ? r->name : "");
	fputs(", \"loop\": ", out);
	if (r->kind)
		json_write_string(out, r->kind);
	else
		fputs("null", out);
	fprintf(out,
		", \"iterations\": %llu, \"iterations_per_s\": %.1f, \"iteration_ms_p50\": %.3f, "
		"\"iteration_ms_p99\": %.3f, \"iteration_ms_max\": %.3f, \"stalls\": %llu, "
		"\"stalls_lost\": %llu, \"stalled_pct\": %.2f, \"stall_stacks\": [",
		(unsigned long long)r->iterations, r->per_s, r->p50, r->p99, r->max,
		(unsigned long long)r->stalls, (unsigned long long)r->stalls_lost, r->stalled_pct);
	for (size_t k = 0; k < ng && k < TOP_STALL_STACKS; k++) {
		fprintf(out,
			"%s{\"count\": %llu, \"total_ms\": %.3f, \"max_ms\": %.3f, \"reason\": ",
			k ? ", " : "", (unsigned long long)g[k].count, (double)g[k].total_ns / 1e6,
			(double)g[k].max_ns / 1e6);
		json_write_string(out, g[k].reason);
		fputs(", \"task\": ", out);
		json_write_string(out, g[k].task);
		fputs(", \"stack\": [", out);
		for (int f = 0; f < g[k].nframes; f++) {
			if (f)
				fputs(", ", out);
			json_write_string(out, g[k].stack[f]);
		}
		fputs("]}", out);
	}
	fputs("]}", out);
}

void loop_report(const struct loop_report_input *in, bool json, FILE *out)
{
	uint32_t *tids = calloc(MAX_LOOP_THREADS, sizeof(*tids));
	struct loop_thread *lts = calloc(MAX_LOOP_THREADS, sizeof(*lts));
	struct stall_group *groups = calloc(TOP_STALL_STACKS * 4, sizeof(*groups));
	struct dump d = {0};
	char err[256];
	bool have_dump = false;
	if (!tids || !lts || !groups) {
		fprintf(stderr, "pybpfctl: out of memory\n");
		goto out;
	}
	size_t n = bpfs_loop_threads(in->bpf, in->pp->pid, tids, lts, MAX_LOOP_THREADS);
	have_dump = dump_process(in->pp, &d, DUMP_NONBLOCKING, err, sizeof(err)) == 0;
	bool uvloop = maps_uvloop(in->pp->pid);
	const char *hooks = in->hooks ? in->hooks : "none";
	if (json)
		fprintf(out,
			"{\"pid\": %d, \"version\": \"%u.%u.%u\", \"seconds\": %.3f, "
			"\"start_monotonic_s\": %.6f, \"end_monotonic_s\": %.6f, \"threshold_ms\": "
			"%.3f, \"stalls_dropped\": %llu, \"hooks\": \"%s\", \"loops\": [",
			(int)in->pp->pid, in->pp->major, in->pp->minor, in->pp->micro, in->seconds,
			(double)in->start_mono / 1e9, (double)in->end_mono / 1e9, in->threshold_ms,
			(unsigned long long)in->stalls->dropped, hooks);
	else
		fprintf(out, "Process %d: CPython %u.%u.%u, %.1f s, stalls over %.0f ms\n",
			(int)in->pp->pid, in->pp->major, in->pp->minor, in->pp->micro, in->seconds,
			in->threshold_ms);
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (!lts[i].iterations)
			continue;
		struct loop_row r;
		row_of(in, have_dump ? &d : NULL, uvloop, tids[i], &lts[i], &r);
		size_t ng = group_stalls(in, tids[i], groups, TOP_STALL_STACKS * 4);
		if (json)
			print_json(&r, groups, ng, first, out);
		else
			print_text(in, &r, groups, ng, out);
		first = false;
	}
	if (json)
		fputs("\n]}\n", out);
	else if (first)
		fprintf(out, "\nno thread waited in epoll, poll or select: no event loop seen\n");
out:
	if (have_dump)
		dump_free(&d);
	free(tids);
	free(lts);
	free(groups);
}
