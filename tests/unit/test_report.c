/* daemon/report/gil_io.c, the arithmetic of `pybpfctl gil` and `io`: held,
 * contended, waiters and waits from known per-thread counts; latency
 * percentiles from a histogram; time by reason; the stacks named. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/report.h"

static double num(const char *json, const char *key)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	const char *p = strstr(json, pat);
	if (!p)
		fail_msg("no %s in %s", key, json);
	return strtod(p + strlen(pat), NULL);
}

/* The n-th occurrence of key after the start of thread tid's object. */
static double thread_num(const char *json, uint32_t tid, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "{\"tid\": %u,", tid);
	const char *p = strstr(json, pat);
	if (!p)
		fail_msg("no thread %u in %s", tid, json);
	return num(p, key);
}

struct fixture {
	struct aggregator agg;
	struct waitstats w;
	struct pyprocess pp;
	uint64_t spin, sleep_stack;
};

static uint64_t stack(struct aggregator *a, const char *name, int line)
{
	struct prof_frame f = {.kind = PROF_FRAME_PYTHON,
			       .name = name,
			       .file = "w.py",
			       .start_line = 1,
			       .line = line};
	uint64_t h;
	assert_int_equal(agg_add_stack(a, (uint32_t)getpid(), &f, 1, &h), 0);
	return h;
}

static void count(struct fixture *fx, uint32_t tid, uint64_t hash, uint8_t kind, uint8_t reason,
		  uint8_t holds, uint8_t waiters, uint64_t n, uint64_t ns)
{
	struct pybpf_count_key k = {.hash = hash,
				    .pid = (uint32_t)getpid(),
				    .tid = tid,
				    .kind = kind,
				    .reason = reason,
				    .holds_gil = holds,
				    .waiters = waiters};
	struct pybpf_count v = {n, ns};
	assert_int_equal(waitstats_add(&fx->w, &k, &v), 0);
}

/* At 100 Hz over 4 s: thread 1 on CPU 3 s holding the GIL, half of it while
 * thread 2 waited; thread 2 on CPU 1 s (holding, contended) and waiting for
 * the GIL 2 s; thread 3 asleep 1 s. */
static void setup(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	assert_int_equal(agg_init(&fx->agg, 100, AGG_MODE_WALL), 0);
	fx->pp.pid = getpid();
	fx->pp.major = 3;
	fx->pp.minor = 11;
	assert_int_equal(agg_add_process(&fx->agg, &fx->pp), 0);
	fx->spin = stack(&fx->agg, "spin", 7);
	fx->sleep_stack = stack(&fx->agg, "nap", 12);
	count(fx, 1, fx->spin, KIND_CPU, 0, 1, 0, 150, 0);
	count(fx, 1, fx->spin, KIND_CPU, 0, 1, 1, 150, 0);
	count(fx, 2, fx->spin, KIND_CPU, 0, 1, 1, 100, 0);
	count(fx, 2, fx->spin, KIND_OFFCPU, REASON_GIL, 0, 1, 400, 2000000000ULL);
	count(fx, 3, fx->sleep_stack, KIND_OFFCPU, REASON_SLEEP, 0, 0, 1, 1000000000ULL);
}

static void teardown(struct fixture *fx)
{
	waitstats_free(&fx->w);
	agg_free(&fx->agg);
}

static char *render(struct fixture *fx, bool gil)
{
	struct report_input in = {.agg = &fx->agg, .waits = &fx->w, .pp = &fx->pp, .seconds = 4};
	char *text = NULL;
	size_t len;
	/* 10 waits of 1.5 ms (bucket 4*20+2) and 1 of 6 ms (4*22+2) */
	in.hist[4 * 20 + 2] = 10;
	in.hist[4 * 22 + 2] = 1;
	in.gil.wait_max_ns = 6100000;
	FILE *f = open_memstream(&text, &len);
	(gil ? report_gil : report_io)(&in, true, f);
	fclose(f);
	return text;
}

static void gil_figures(void **state)
{
	(void)state;
	struct fixture fx;
	setup(&fx);
	char *j = render(&fx, true);
	/* held 400 samples x 10 ms = 4 s of 4 s; contended 250 x 10 ms */
	assert_float_equal(num(j, "held_pct"), 100.0, 0.01);
	assert_float_equal(num(j, "contended_pct"), 62.5, 0.01);
	/* 2 s of waiting over 4 s: half a waiter on average */
	assert_float_equal(num(j, "avg_waiters"), 0.5, 0.001);
	/* 5.5 of the 10 in [1.5, 1.75) x 2^20 ns */
	assert_float_equal(num(j, "wait_p50_ms"), 1.572864 + 0.262144 * 0.55, 0.0005);
	assert_float_equal(num(j, "wait_p99_ms"), 6.291456 + 1.048576 * 0.89, 0.0005);
	assert_float_equal(num(j, "wait_max_ms"), 6.1, 0.0005);
	assert_float_equal(thread_num(j, 1, "on_cpu_pct"), 75.0, 0.01);
	assert_float_equal(thread_num(j, 1, "waits_pct"), 0.0, 0.01);
	assert_float_equal(thread_num(j, 2, "on_cpu_pct"), 25.0, 0.01);
	assert_float_equal(thread_num(j, 2, "holds_pct"), 25.0, 0.01);
	assert_float_equal(thread_num(j, 2, "waits_pct"), 50.0, 0.01);
	assert_non_null(strstr(j, "\"top_holding_frame\": \"spin (w.py:7)\""));
	assert_non_null(strstr(j, "{\"ns\": 2000000000, \"stack\": \"spin (w.py:7)\"}"));
	/* two threads ran Python: 2 s waited of 8 s, 25 %: not a GIL problem */
	assert_non_null(strstr(j, "little GIL contention (threads waited 25 %"));
	free(j);
	teardown(&fx);
}

static void io_figures(void **state)
{
	(void)state;
	struct fixture fx;
	setup(&fx);
	char *j = render(&fx, false);
	/* cpu 4 s, gil 2 s, sleep 1 s of 7 s */
	const char *cpu = strstr(j, "\"reason\": \"cpu\"");
	const char *gil = strstr(j, "\"reason\": \"gil\"");
	const char *slp = strstr(j, "\"reason\": \"sleep\"");
	assert_non_null(cpu), assert_non_null(gil), assert_non_null(slp);
	assert_float_equal(num(cpu, "seconds"), 4.0, 1e-6);
	assert_float_equal(num(cpu, "pct"), 400.0 / 7, 0.01);
	assert_float_equal(num(gil, "pct"), 200.0 / 7, 0.01);
	assert_float_equal(num(slp, "pct"), 100.0 / 7, 0.01);
	assert_non_null(strstr(slp, "\"stack\": \"nap (w.py:12)\""));
	assert_float_equal(thread_num(j, 3, "sleep"), 1.0, 1e-6);
	free(j);
	teardown(&fx);
}

static void percentiles(void **state)
{
	(void)state;
	uint64_t h[GIL_HIST_BUCKETS] = {0};
	assert_float_equal(report_percentile_ns(h, 0.5), 0, 0); /* empty */
	h[40] = 99;						/* 2^10 ns */
	h[41] = 1;						/* 1.25 x 2^10 */
	/* interpolated within the bucket [1024, 1280) and [1280, 1536) */
	assert_float_equal(report_percentile_ns(h, 0.5), 1024 + 256 * 50.0 / 99, 1e-9);
	assert_float_equal(report_percentile_ns(h, 0.99), 1280, 1e-9);
	assert_float_equal(report_percentile_ns(h, 1.0), 1536, 1e-9);
	h[41] = 0;
	assert_float_equal(report_percentile_ns(h, 0.0), 1024, 1e-9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gil_figures),
		cmocka_unit_test(io_figures),
		cmocka_unit_test(percentiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
