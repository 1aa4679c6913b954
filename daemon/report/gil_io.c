/* gil_io.c - the GIL and off-CPU reports. */
#include "report/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sys/clock.h"
#include "sys/memread.h"
#include "sys/procfs.h"
#include "sys/textesc.h"

#define TOP 5

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0;
}

/* ", \"dropped\": N, \"drops\": {...}" */
static void json_drops(const struct report_input *in, FILE *out)
{
	fputs(", ", out);
	recorder_drops_json(out, in->drops, in->ndrops);
}

/* A line of the drops, when there were any. */
static void text_drops(const struct report_input *in, FILE *out)
{
	if (!recorder_drops_total(in->drops, in->ndrops))
		return;
	fputc('\n', out);
	recorder_drops_text(out, in->drops, in->ndrops);
	fputc('\n', out);
}

/* --- the counters over the measurement --------------------------------------- */

static bool read_switches(const struct pyprocess *pp, uint64_t *out)
{
	return pp->gil_addr &&
	       !mem_read_u64(pp->pid, pp->gil_addr + pp->layout.gil_switch_number, out);
}

int report_baseline_take(struct report_baseline *b, struct bpf_session *bpf,
			 const struct aggregator *agg, const struct pyprocess *pp)
{
	size_t n;
	memset(b, 0, sizeof(*b));
	b->mono_ns = monotonic_ns();
	bpfs_stats(bpf, b->stats);
	b->stack_lost = agg->stats.unknown_stack;
	bpfs_gil_stats(bpf, pp->pid, &b->gil, b->hist);
	bpfs_gil_take_hist(bpf, pp->pid, b->take_hist);
	b->have_switches = read_switches(pp, &b->switches);
	uint32_t *tids = procfs_tasks(pp->pid, &n);
	if (!tids)
		return 0; /* gone: nothing to subtract */
	b->threads = calloc(n ? n : 1, sizeof(*b->threads));
	if (!b->threads) {
		free(tids);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		b->threads[i].tid = tids[i];
		bpfs_gil_thread(bpf, tids[i], &b->threads[i].g);
		bpfs_gil_take(bpf, tids[i], &b->threads[i].t);
	}
	b->nthreads = n;
	free(tids);
	return 0;
}

void report_baseline_free(struct report_baseline *b)
{
	free(b->threads);
	memset(b, 0, sizeof(*b));
}

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* A thread's counters at the end of the measurement: in its end snapshot,
 * or live. */
static const struct report_thread_base *end_thread(const struct report_input *in, uint32_t tid)
{
	for (size_t i = 0; in->end && i < in->end->nthreads; i++)
		if (in->end->threads[i].tid == tid)
			return &in->end->threads[i];
	return NULL;
}

/* The drops between base and end (NULL: now). */
static void collect_drops(struct report_input *in, const struct report_baseline *base,
			  const struct report_baseline *end)
{
	struct recorder_stats st;
	memset(&st, 0, sizeof(st));
	if (end) {
		memcpy(st.bpf, end->stats, sizeof(st.bpf));
		st.agg.unknown_stack = end->stack_lost;
	} else {
		bpfs_stats(in->bpf, st.bpf);
		st.agg.unknown_stack = in->agg->stats.unknown_stack;
	}
	for (int i = 0; base && i < STAT__COUNT; i++)
		st.bpf[i] = minus(st.bpf[i], base->stats[i]);
	if (base)
		st.agg.unknown_stack = minus(st.agg.unknown_stack, base->stack_lost);
	in->ndrops = recorder_drops(&st, in->drops);
}

void report_collect(struct report_input *in, struct aggregator *agg, const struct waitstats *waits,
		    struct bpf_session *bpf, const struct pyprocess *pp,
		    const struct report_baseline *base, const struct report_baseline *end,
		    double seconds)
{
	uint64_t sw = 0;
	memset(in, 0, sizeof(*in));
	in->agg = agg;
	in->waits = waits;
	in->bpf = bpf;
	in->base = base;
	in->end = end;
	in->pp = pp;
	in->seconds = seconds;
	in->start_mono = base ? base->mono_ns : 0;
	in->end_mono = end ? end->mono_ns : monotonic_ns();
	in->takes = bpfs_gil_takes_attached(bpf) > 0 && pp->take_gil_off;
	collect_drops(in, base, end);
	if (end) {
		in->gil = end->gil;
		memcpy(in->hist, end->hist, sizeof(in->hist));
		memcpy(in->take_hist, end->take_hist, sizeof(in->take_hist));
		sw = end->switches;
		in->have_switches = base && base->have_switches && end->have_switches;
	} else {
		bpfs_gil_stats(bpf, pp->pid, &in->gil, in->hist);
		bpfs_gil_take_hist(bpf, pp->pid, in->take_hist);
		in->have_switches = base && base->have_switches && read_switches(pp, &sw);
	}
	if (in->have_switches)
		in->switches = minus(sw, base->switches);
	if (!base)
		return;
	in->gil.held_samples = minus(in->gil.held_samples, base->gil.held_samples);
	in->gil.contended_samples = minus(in->gil.contended_samples, base->gil.contended_samples);
	for (int b = 0; b < GIL_HIST_BUCKETS; b++) {
		in->hist[b] = minus(in->hist[b], base->hist[b]);
		in->take_hist[b] = minus(in->take_hist[b], base->take_hist[b]);
	}
}

void report_thread_take(const struct report_input *in, uint32_t tid, struct gil_take *out)
{
	memset(out, 0, sizeof(*out));
	if (!in->takes)
		return;
	if (in->end) {
		const struct report_thread_base *e = end_thread(in, tid);
		if (!e)
			return;
		*out = e->t;
	} else if (bpfs_gil_take(in->bpf, tid, out)) {
		return;
	}
	if (!in->base)
		return;
	for (size_t i = 0; i < in->base->nthreads; i++) {
		const struct gil_take *b = &in->base->threads[i].t;
		if (in->base->threads[i].tid != tid)
			continue;
		out->calls = minus(out->calls, b->calls);
		out->waits = minus(out->waits, b->waits);
		out->wait_ns = minus(out->wait_ns, b->wait_ns);
		return;
	}
}

void report_thread_gil(const struct report_input *in, uint32_t tid, struct gil_thread *out)
{
	memset(out, 0, sizeof(*out));
	if (in->end) {
		const struct report_thread_base *e = end_thread(in, tid);
		if (!e)
			return;
		*out = e->g;
	} else if (!in->bpf || bpfs_gil_thread(in->bpf, tid, out)) {
		return;
	}
	if (!in->base)
		return;
	for (size_t i = 0; i < in->base->nthreads; i++) {
		const struct gil_thread *b = &in->base->threads[i].g;
		if (in->base->threads[i].tid != tid)
			continue;
		out->acquisitions = minus(out->acquisitions, b->acquisitions);
		out->wait_ns = minus(out->wait_ns, b->wait_ns);
		return;
	}
}

static uint64_t hist_total(const uint64_t *hist)
{
	uint64_t n = 0;
	for (unsigned b = 0; b < GIL_HIST_BUCKETS; b++)
		n += hist[b];
	return n;
}

/* Lower edge of a histogram bucket (4 per power of two). */
static double bucket_ns(unsigned b)
{
	return ldexp(1.0 + (b % 4) / 4.0, (int)(b / 4));
}

double report_percentile_ns(const uint64_t *hist, double q)
{
	uint64_t total = hist_total(hist), seen = 0;
	if (!total)
		return 0;
	double want = q * (double)total;
	for (unsigned b = 0; b < GIL_HIST_BUCKETS; b++) {
		if (!hist[b] || (double)(seen + hist[b]) < want) {
			seen += hist[b];
			continue;
		}
		/* spread evenly over the bucket: a bucket spans a fifth of its value */
		double lo = bucket_ns(b), hi = bucket_ns(b + 1);
		return lo + (hi - lo) * (want - (double)seen) / (double)hist[b];
	}
	return bucket_ns(GIL_HIST_BUCKETS);
}

/* "func (file:line) < caller (file:line) ...": Python frames, leaf first. */
static const char *stack_text(struct aggregator *a, uint64_t hash, char *buf, size_t len,
			      int max_frames)
{
	const uint32_t *frames;
	uint32_t n;
	size_t used = 0;
	buf[0] = 0;
	if (agg_stack_frames(a, hash, &frames, &n))
		return "[unknown stack]";
	for (uint32_t i = 0, shown = 0; i < n && (int)shown < max_frames && used < len; i++) {
		const struct prof_frame *f = &a->frames.frames[frames[i]];
		if (f->kind != PROF_FRAME_PYTHON)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s (%s:%lld)",
					 shown ? " < " : "", f->name, f->file, (long long)f->line);
		shown++;
	}
	return buf[0] ? buf : "[no Python frames]";
}

/* The top stacks of a category, merged by their Python text (stacks that
 * differ only in native or kernel frames read the same), heaviest first. */
struct text_top {
	char text[1024];
	uint64_t count, ns;
};

static size_t top_texts(const struct report_input *in, uint32_t category, struct text_top *out,
			size_t n)
{
	const struct ws_stack *top[64];
	size_t got = waitstats_top(in->waits, category, 0, top, 64), m = 0;
	char buf[1024];
	for (size_t i = 0; i < got; i++) {
		stack_text(in->agg, top[i]->hash, buf, sizeof(buf), 6);
		size_t j = 0;
		while (j < m && strcmp(out[j].text, buf))
			j++;
		if (j == m) {
			if (m == n)
				continue;
			snprintf(out[m].text, sizeof(out[m].text), "%s", buf);
			out[m].count = out[m].ns = 0;
			m++;
		}
		out[j].count += top[i]->count;
		out[j].ns += top[i]->ns;
	}
	/* merged entries may now be out of order */
	for (size_t i = 1; i < m; i++)
		for (size_t j = i;
		     j > 0 && (out[j].ns ? out[j].ns : out[j].count) >
				      (out[j - 1].ns ? out[j - 1].ns : out[j - 1].count);
		     j--) {
			struct text_top t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return m;
}

/* --- the GIL ---------------------------------------------------------------- */

struct gil_totals {
	double wall_ns, held_ns, held_offcpu_ns, contended_ns, wait_ns;
	double thread_ns; /* time of threads that ran Python or waited for the GIL */
	uint64_t acquisitions;
	int nthreads;
};

static struct gil_totals gil_totals(const struct report_input *in)
{
	const struct waitstats *w = in->waits;
	double period = 1e9 / in->agg->rate_hz;
	struct gil_totals t = {.wall_ns = in->seconds * 1e9};
	for (size_t i = 0; i < w->nthreads; i++) {
		const struct ws_thread *th = &w->threads[i];
		struct gil_thread gt;
		t.held_ns += (double)th->hold_samples * period + (double)th->held_offcpu_ns;
		t.held_offcpu_ns += (double)th->held_offcpu_ns;
		t.contended_ns += (double)th->hold_contended_samples * period;
		t.wait_ns += (double)th->offcpu_ns[REASON_GIL];
		if (th->cpu_samples || th->offcpu_ns[REASON_GIL]) {
			t.thread_ns += t.wall_ns;
			t.nthreads++;
		}
		/* sampled holding can exceed the time by sampling noise */
		if (t.held_ns > t.wall_ns)
			t.held_ns = t.wall_ns;
		report_thread_gil(in, th->tid, &gt);
		t.acquisitions += gt.acquisitions;
	}
	return t;
}

static const char *verdict(const struct gil_totals *t, char *buf, size_t len)
{
	double waiting = pct(t->wait_ns, t->thread_ns);
	if (waiting >= 30)
		snprintf(buf, len,
			 "threads spent %.0f %% of their time waiting for the GIL: CPU-bound work "
			 "in "
			 "threads; use processes, or release the GIL in C",
			 waiting);
	else if (pct(t->held_offcpu_ns, t->wall_ns) >= 5)
		snprintf(buf, len,
			 "the GIL was held %.0f %% of the time by a thread that was off CPU: a "
			 "blocking call or page faults with the GIL held",
			 pct(t->held_offcpu_ns, t->wall_ns));
	else if (pct(t->held_ns, t->wall_ns) < 20)
		snprintf(buf, len,
			 "the GIL was mostly free (held %.0f %%): the time goes elsewhere; see "
			 "pybpfctl io",
			 pct(t->held_ns, t->wall_ns));
	else
		snprintf(
			buf, len,
			"little GIL contention (threads waited %.0f %% of their time): the time is "
			"CPU in Python",
			waiting);
	return buf;
}

static const char *top_hold_frame(const struct report_input *in, uint32_t tid, char *buf,
				  size_t len)
{
	const struct ws_stack *top[1];
	if (!waitstats_top(in->waits, WS_HOLD, tid, top, 1))
		return "-";
	return stack_text(in->agg, top[0]->hash, buf, len, 1);
}

static void gil_text(const struct report_input *in, const struct gil_totals *t, FILE *out)
{
	const struct waitstats *w = in->waits;
	double period = 1e9 / in->agg->rate_hz;
	char buf[2048];

	fprintf(out, "GIL of pid %d (CPython %u.%u.%u) over %.1f s, %d Python threads\n",
		(int)in->pp->pid, in->pp->major, in->pp->minor, in->pp->micro, in->seconds,
		t->nthreads);
	fprintf(out, "  held           %6.1f %%\n", pct(t->held_ns, t->wall_ns));
	fprintf(out, "  contended      %6.1f %%   held while at least one thread waited\n",
		pct(t->contended_ns, t->wall_ns));
	fprintf(out, "  waiters        %6.2f     average number of threads waiting\n",
		t->wall_ns > 0 ? t->wait_ns / t->wall_ns : 0);
	if (in->have_switches)
		fprintf(out, "  acquisitions   %6.0f/s   GIL switches; %.0f/s after a wait\n",
			(double)in->switches / in->seconds, (double)t->acquisitions / in->seconds);
	else
		fprintf(out, "  acquisitions   %6.0f/s   after a wait\n",
			(double)t->acquisitions / in->seconds);
	fprintf(out, "  wait latency   p50 %.2f ms   p99 %.2f ms   max %.2f ms\n",
		report_percentile_ns(in->hist, 0.5) / 1e6,
		report_percentile_ns(in->hist, 0.99) / 1e6, (double)in->gil.wait_max_ns / 1e6);
	fprintf(out, "  held off CPU   %6.1f %%   the holder was off CPU\n",
		pct(t->held_offcpu_ns, t->wall_ns));
	if (in->takes)
		fprintf(out,
			"  take_gil       p50 %.2f ms   p99 %.2f ms   exact: uprobes on take_gil "
			"(waits* below)\n",
			report_percentile_ns(in->take_hist, 0.5) / 1e6,
			report_percentile_ns(in->take_hist, 0.99) / 1e6);
	else
		fprintf(out, "  signal         futex waits on the GIL (no take_gil symbol: "
			     "stripped)\n");
	fputc('\n', out);
	fprintf(out, "%-16s %8s %8s %8s %8s %8s %7s  %s\n", "thread", "tid", "on-CPU", "holds",
		"waits", in->takes ? "waits*" : "", "acq/s", "top holding frame");
	for (size_t i = 0; i < w->nthreads; i++) {
		const struct ws_thread *th = &w->threads[i];
		struct gil_thread gt;
		struct gil_take tk;
		char exact[16] = "";
		report_thread_gil(in, th->tid, &gt);
		report_thread_take(in, th->tid, &tk);
		if (in->takes)
			snprintf(exact, sizeof(exact), "%.1f%%",
				 pct((double)tk.wait_ns, t->wall_ns));
		fprintf(out, "%-16s %8u %7.1f%% %7.1f%% %7.1f%% %8s %7.0f  %s\n",
			agg_thread_name(in->agg, th->pid, th->tid), th->tid,
			pct((double)th->cpu_samples * period, t->wall_ns),
			pct((double)th->hold_samples * period + (double)th->held_offcpu_ns,
			    t->wall_ns),
			pct((double)th->offcpu_ns[REASON_GIL], t->wall_ns), exact,
			(double)gt.acquisitions / in->seconds,
			top_hold_frame(in, th->tid, buf, sizeof(buf)));
	}
	struct text_top top[TOP];
	size_t n = top_texts(in, WS_GIL_WAIT, top, TOP);
	fprintf(out, "\ntop stacks waiting for the GIL:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %6.1f %% thread-time  %s\n", pct((double)top[i].ns, t->thread_ns),
			top[i].text);
	if (!n)
		fprintf(out, "  (none)\n");
	n = top_texts(in, WS_HOLD_CONTENDED, top, TOP);
	fprintf(out, "top stacks holding the GIL while others waited:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %6.1f %% of the time  %s\n",
			pct((double)top[i].count * period, t->wall_ns), top[i].text);
	if (!n)
		fprintf(out, "  (none)\n");
	fprintf(out, "\nverdict: %s\n", verdict(t, buf, sizeof(buf)));
}

static void gil_json(const struct report_input *in, const struct gil_totals *t, FILE *out)
{
	const struct waitstats *w = in->waits;
	double period = 1e9 / in->agg->rate_hz;
	char buf[2048];
	fprintf(out,
		"{\"pid\": %d, \"version\": \"%u.%u.%u\", \"seconds\": %.3f, "
		"\"start_monotonic_s\": %.6f, \"end_monotonic_s\": %.6f, \"held_pct\": %.2f, "
		"\"contended_pct\": %.2f, \"avg_waiters\": %.3f, \"switches_per_s\": %.1f, "
		"\"acquisitions_after_wait_per_s\": %.1f, \"wait_p50_ms\": %.3f, "
		"\"wait_p99_ms\": %.3f, \"wait_max_ms\": %.3f, \"held_offcpu_pct\": %.2f, "
		"\"waiters_at_end\": %lld, \"signal\": \"%s\", \"take_wait_p50_ms\": %.3f, "
		"\"take_wait_p99_ms\": %.3f, \"take_waits\": %llu, \"threads\": [",
		(int)in->pp->pid, in->pp->major, in->pp->minor, in->pp->micro, in->seconds,
		(double)in->start_mono / 1e9, (double)in->end_mono / 1e9,
		pct(t->held_ns, t->wall_ns), pct(t->contended_ns, t->wall_ns),
		t->wall_ns > 0 ? t->wait_ns / t->wall_ns : 0,
		in->have_switches ? (double)in->switches / in->seconds : -1,
		(double)t->acquisitions / in->seconds, report_percentile_ns(in->hist, 0.5) / 1e6,
		report_percentile_ns(in->hist, 0.99) / 1e6, (double)in->gil.wait_max_ns / 1e6,
		pct(t->held_offcpu_ns, t->wall_ns), (long long)in->gil.waiters,
		in->takes ? "take_gil" : "futex",
		in->takes ? report_percentile_ns(in->take_hist, 0.5) / 1e6 : -1,
		in->takes ? report_percentile_ns(in->take_hist, 0.99) / 1e6 : -1,
		(unsigned long long)hist_total(in->take_hist));
	for (size_t i = 0; i < w->nthreads; i++) {
		const struct ws_thread *th = &w->threads[i];
		struct gil_thread gt;
		report_thread_gil(in, th->tid, &gt);
		fprintf(out, "%s\n  {\"tid\": %u, \"name\": ", i ? "," : "", th->tid);
		json_write_string(out, agg_thread_name(in->agg, th->pid, th->tid));
		struct gil_take tk;
		report_thread_take(in, th->tid, &tk);
		fprintf(out,
			", \"on_cpu_pct\": %.2f, \"holds_pct\": %.2f, \"waits_pct\": %.2f, "
			"\"acquisitions_per_s\": %.1f, \"take_waits_pct\": %.2f, "
			"\"take_waits_per_s\": %.1f, \"take_calls_per_s\": %.1f, "
			"\"top_holding_frame\": ",
			pct((double)th->cpu_samples * period, t->wall_ns),
			pct((double)th->hold_samples * period + (double)th->held_offcpu_ns,
			    t->wall_ns),
			pct((double)th->offcpu_ns[REASON_GIL], t->wall_ns),
			(double)gt.acquisitions / in->seconds,
			in->takes ? pct((double)tk.wait_ns, t->wall_ns) : -1,
			(double)tk.waits / in->seconds, (double)tk.calls / in->seconds);
		json_write_string(out, top_hold_frame(in, th->tid, buf, sizeof(buf)));
		fputc('}', out);
	}
	fprintf(out, "\n], \"top_waiting\": [");
	struct text_top top[TOP];
	size_t n = top_texts(in, WS_GIL_WAIT, top, TOP);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s{\"ns\": %llu, \"stack\": ", i ? ", " : "",
			(unsigned long long)top[i].ns);
		json_write_string(out, top[i].text);
		fputc('}', out);
	}
	fprintf(out, "], \"top_holding_contended\": [");
	n = top_texts(in, WS_HOLD_CONTENDED, top, TOP);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s{\"samples\": %llu, \"stack\": ", i ? ", " : "",
			(unsigned long long)top[i].count);
		json_write_string(out, top[i].text);
		fputc('}', out);
	}
	fprintf(out, "], \"verdict\": ");
	json_write_string(out, verdict(t, buf, sizeof(buf)));
	json_drops(in, out);
	fprintf(out, "}\n");
}

void report_gil(const struct report_input *in, bool json, FILE *out)
{
	struct gil_totals t = gil_totals(in);
	if (json)
		gil_json(in, &t, out);
	else {
		gil_text(in, &t, out);
		text_drops(in, out);
	}
}

/* --- off CPU ---------------------------------------------------------------- */

static void io_json_threads(const struct report_input *in, FILE *out)
{
	const struct waitstats *w = in->waits;
	double period = 1e9 / in->agg->rate_hz;
	fprintf(out, "], \"per_thread\": [");
	for (size_t i = 0; i < w->nthreads; i++) {
		const struct ws_thread *th = &w->threads[i];
		fprintf(out, "%s\n {\"tid\": %u, \"name\": ", i ? "," : "", th->tid);
		json_write_string(out, agg_thread_name(in->agg, th->pid, th->tid));
		fprintf(out, ", \"seconds\": {\"cpu\": %.6f",
			(double)th->cpu_samples * period / 1e9);
		for (int r = 1; r < REASON__COUNT; r++)
			fprintf(out, ", \"%s\": %.6f", waitstats_reason_name((unsigned)r),
				(double)th->offcpu_ns[r] / 1e9);
		fprintf(out, "}}");
	}
	fprintf(out, "\n]");
	json_drops(in, out);
	fprintf(out, "}\n");
}

void report_io(const struct report_input *in, bool json, FILE *out)
{
	const struct waitstats *w = in->waits;
	double period = 1e9 / in->agg->rate_hz, by[REASON__COUNT] = {0}, total = 0;
	struct text_top top[TOP];

	for (size_t i = 0; i < w->nthreads; i++) {
		by[REASON_NONE] += (double)w->threads[i].cpu_samples * period;
		for (int r = 1; r < REASON__COUNT; r++)
			by[r] += (double)w->threads[i].offcpu_ns[r];
	}
	for (int r = 0; r < REASON__COUNT; r++)
		total += by[r];
	if (json)
		fprintf(out,
			"{\"pid\": %d, \"seconds\": %.3f, \"start_monotonic_s\": %.6f, "
			"\"end_monotonic_s\": %.6f, \"threads\": %zu, \"reasons\": [",
			(int)in->pp->pid, in->seconds, (double)in->start_mono / 1e9,
			(double)in->end_mono / 1e9, w->nthreads);
	else
		fprintf(out,
			"Where the threads of pid %d (CPython %u.%u.%u) spent %.1f s (%zu "
			"threads):\n",
			(int)in->pp->pid, in->pp->major, in->pp->minor, in->pp->micro, in->seconds,
			w->nthreads);
	for (int r = 0; r < REASON__COUNT; r++) {
		size_t n = r ? top_texts(in, WS_REASON + (uint32_t)r, top, TOP) : 0;
		if (json) {
			fprintf(out,
				"%s\n {\"reason\": \"%s\", \"seconds\": %.6f, \"pct\": %.2f, "
				"\"top\": [",
				r ? "," : "", waitstats_reason_name((unsigned)r), by[r] / 1e9,
				pct(by[r], total));
			for (size_t i = 0; i < n; i++) {
				fprintf(out, "%s{\"seconds\": %.6f, \"stack\": ", i ? ", " : "",
					(double)top[i].ns / 1e9);
				json_write_string(out, top[i].text);
				fputc('}', out);
			}
			fprintf(out, "]}");
			continue;
		}
		if (by[r] <= 0)
			continue;
		fprintf(out, "\n  %-9s %8.3f s  %5.1f %%\n", waitstats_reason_name((unsigned)r),
			by[r] / 1e9, pct(by[r], total));
		for (size_t i = 0; i < n; i++)
			fprintf(out, "    %8.3f s  %s\n", (double)top[i].ns / 1e9, top[i].text);
	}
	if (json)
		io_json_threads(in, out);
	else
		text_drops(in, out);
}
