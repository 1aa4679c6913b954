/* test_exporters.c - the collapsed and speedscope writers and the format
 * names. */
#define _GNU_SOURCE /* asprintf */
#include "exporters_fixture.h"

static void test_format_names(void **state)
{
	(void)state;
	enum export_format all[] = {EXPORT_PPROF, EXPORT_COLLAPSED, EXPORT_SVG, EXPORT_SPEEDSCOPE};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		assert_int_equal(export_format_parse(export_format_name(all[i])), all[i]);
	assert_string_equal(export_format_name(EXPORT_PPROF), "pprof");
	assert_string_equal(export_format_name(EXPORT_COLLAPSED), "collapsed");
	assert_string_equal(export_format_name(EXPORT_SVG), "svg");
	assert_string_equal(export_format_name(EXPORT_SPEEDSCOPE), "speedscope");
	assert_string_equal(export_format_name((enum export_format)42), "unknown");
	assert_int_equal(export_format_parse("SVG"), EXPORT_SVG);
	assert_int_equal(export_format_parse("flamegraph"), -1);
	assert_int_equal(export_format_parse(""), -1);
	assert_int_equal(export_format_parse(NULL), -1);
}

/* --- collapsed ---------------------------------------------------------- */

static void test_collapsed(void **state)
{
	char *out = render(*state, EXPORT_COLLAPSED, NULL);
	assert_string_equal(out, "[truncated];main (app.py:10) 1\n"
				 "main (app.py:10);PyObject_Call;do_syscall_64_[k] 4\n"
				 "main (app.py:10);parse:json  (a&b<c>.py:5) 1\n"
				 "main (app.py:10);work (app.py:20) 5\n"
				 "main (app.py:10);work (app.py:20);PyObject_Call 2\n");
	free(out);
}

static void test_collapsed_edge_cases(void **state)
{
	struct profile *p = *state;
	uint32_t st[] = {F_MAIN};
	char *out;

	/* An empty stack counts as "[unknown]"; a zero count writes nothing. */
	assert_int_equal(profile_add(p, st, 0, 2, 0, 7, 7, "t", ""), 0);
	assert_int_equal(profile_add(p, st, 1, 0, 0, 7, 7, "t", ""), 0);
	/* Same stack, other pid and reason: merged into one line. */
	assert_int_equal(profile_add(p, (uint32_t[]){F_WORK, F_MAIN}, 2, 10, 0, 8, 9, "x", "io"),
			 0);
	out = render(p, EXPORT_COLLAPSED, NULL);
	assert_contains(out, "\n[unknown] 2\n");
	assert_contains(out, "\nmain (app.py:10);work (app.py:20) 15\n");
	assert_null(strstr(out, "\nmain (app.py:10) "));
	assert_int_equal(count_str(out, "\n"), 6);
	free(out);
}

static void test_collapsed_empty(void **state)
{
	(void)state;
	struct profile p;
	assert_int_equal(profile_init(&p, 0), 0);
	char *out = render(&p, EXPORT_COLLAPSED, NULL);
	assert_string_equal(out, "");
	free(out);
	profile_free(&p);
}

/* --- svg ---------------------------------------------------------------- */

static char *squash(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r != '\n')
			*w++ = *r;
	}
	*w = '\0';
	return s;
}

static uint64_t sum_weights(const char *prof)
{
	const char *w = strstr(prof, "\"weights\":[");
	uint64_t sum = 0;
	assert_non_null(w);
	w += strlen("\"weights\":[");
	while (*w != ']') {
		char *end;
		sum += strtoull(w, &end, 10);
		assert_true(end > w);
		w = *end == ',' ? end + 1 : end;
	}
	return sum;
}

static void test_speedscope(void **state)
{
	char *out = squash(render(*state, EXPORT_SPEEDSCOPE, "my \"profile\""));

	assert_contains(out, "\"$schema\":\"https://www.speedscope.app/file-format-schema.json\"");
	assert_contains(out, "\"exporter\":\"pybpf\"");
	assert_contains(out, "\"name\":\"my \\\"profile\\\"\"");
	assert_contains(out, "\"activeProfileIndex\":1");
	/* The frame table in order, Python with file and line. */
	assert_contains(out, "\"frames\":["
			     "{\"name\":\"main\",\"file\":\"app.py\",\"line\":10},"
			     "{\"name\":\"work\",\"file\":\"app.py\",\"line\":20},"
			     "{\"name\":\"parse;json\\u000a\",\"file\":\"a&b<c>.py\",\"line\":5},"
			     "{\"name\":\"PyObject_Call\",\"file\":\"/usr/lib/libpython3.11.so\"},"
			     "{\"name\":\"PyObject_Call\",\"file\":\"/usr/lib/libpython3.11.so\"},"
			     "{\"name\":\"do_syscall_64_[k]\"},"
			     "{\"name\":\"[truncated]\"}]");
	/* One profile per thread, root-first stacks, weights in ns. */
	const char *t100 = strstr(out, "{\"type\":\"sampled\",\"name\":\"pid 100 tid 100 (main)\","
				       "\"unit\":\"nanoseconds\",\"startValue\":0,"
				       "\"endValue\":5000,");
	const char *t101 = strstr(out, "{\"type\":\"sampled\","
				       "\"name\":\"pid 100 tid 101 (worker)\","
				       "\"unit\":\"nanoseconds\",\"startValue\":0,"
				       "\"endValue\":8000,");
	assert_non_null(t100);
	assert_non_null(t101);
	assert_true(t100 < t101);
	assert_contains(t100, "\"samples\":[[0,1],[0,1,3],[0,2]],\"weights\":[3000,1000,1000]}");
	assert_contains(t101, "\"samples\":[[0,1],[0,1,4],[0,3,5],[6,0]],"
			      "\"weights\":[2000,1000,4000,1000]}");
	assert_int_equal(sum_weights(t100), 5000);
	assert_int_equal(sum_weights(t101), 8000);
	assert_int_equal(count_str(out, "\"type\":\"sampled\""), 2);
	free(out);
}

static void test_speedscope_counts_and_escapes(void **state)
{
	(void)state;
	struct profile p;
	assert_int_equal(profile_init(&p, 99), 0);
	uint32_t a = add_frame(&p, PROF_FRAME_PYTHON, "f\\g\t\xff", "x.py", "", 3, 0);
	uint32_t b = add_frame(&p, PROF_FRAME_PYTHON, "<lambda>", "x.py", "", 0, 0);
	assert_int_equal(profile_add(&p, (uint32_t[]){b, a}, 2, 5, 0, 9, 9, "w\x01", ""), 0);
	assert_int_equal(profile_add(&p, &a, 1, 2, 0, 9, 9, "w\x01", ""), 0);
	assert_int_equal(profile_add(&p, &a, 1, 0, 0, 9, 10, "", ""), 0);

	char *out = squash(render(&p, EXPORT_SPEEDSCOPE, NULL));
	assert_contains(out, "{\"name\":\"f\\\\g\\u0009\\ufffd\",\"file\":\"x.py\",\"line\":3}");
	assert_contains(out, "{\"name\":\"<lambda>\",\"file\":\"x.py\"}");
	assert_contains(out, "\"name\":\"pid 9 tid 9 (w\\u0001)\",\"unit\":\"none\","
			     "\"startValue\":0,\"endValue\":7,");
	assert_contains(out, "\"samples\":[[0],[0,1]],\"weights\":[2,5]}");
	/* A thread with nothing to weigh gets no profile. */
	assert_null(strstr(out, "tid 10"));
	assert_contains(out, "\"name\":\"pybpf profile\"");
	free(out);
	profile_free(&p);
}

static void test_speedscope_valid_json(void **state)
{
	char *out = render(*state, EXPORT_SPEEDSCOPE, "x\x02y");
	check_with_python(out, ".json", "import sys, json; json.load(open(sys.argv[1]))");
	free(out);

	struct profile p;
	assert_int_equal(profile_init(&p, 99), 0);
	out = render(&p, EXPORT_SPEEDSCOPE, NULL);
	assert_contains(out, "\"profiles\":[");
	check_with_python(out, ".json", "import sys, json; json.load(open(sys.argv[1]))");
	free(out);
	profile_free(&p);
}

/* A wall profile: a thread blocked 40 ms in recv once (count 1) beside CPU
 * samples of 10 ms each (count 1 each): every format weighs by time. */
static struct profile *wall_profile(void)
{
	struct profile *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(profile_init(p, 100), 0);
	p->value_type = profile_str(p, "wall");
	uint32_t recv = add_frame(p, PROF_FRAME_PYTHON, "recv", "a.py", "", 1, 0);
	uint32_t spin = add_frame(p, PROF_FRAME_PYTHON, "spin", "a.py", "", 2, 0);
	assert_int_equal(profile_add(p, &recv, 1, 1, 40000000, 1, 1, "t", "socket"), 0);
	assert_int_equal(profile_add(p, &spin, 1, 1, 10000000, 1, 2, "t", "cpu"), 0);
	/* a partial interval (count 0: it has not ended) still weighs */
	assert_int_equal(profile_add(p, &recv, 1, 0, 50000000, 1, 3, "u", "socket"), 0);
	return p;
}

static void test_weights_by_time(void **state)
{
	(void)state;
	struct profile *p = wall_profile();
	char *c = render(p, EXPORT_COLLAPSED, NULL);
	/* microseconds: 40 + 50 ms of recv, 10 ms of spin */
	assert_string_equal(c, "recv (a.py:1) 90000\nspin (a.py:2) 10000\n");
	free(c);
	char *svg = render(p, EXPORT_SVG, NULL);
	assert_contains(svg, "<title>recv (a.py:1) (90.00 ms, 90.00%)</title>");
	assert_contains(svg, "<title>spin (a.py:2) (10.00 ms, 10.00%)</title>");
	assert_contains(svg, "100.00 ms of wall time");
	free(svg);
	char *ss = render(p, EXPORT_SPEEDSCOPE, NULL);
	assert_contains(ss, "\"unit\":\"nanoseconds\"");
	assert_contains(ss, "40000000");
	free(ss);
	assert_false(profile_is_cpu(p));
	assert_string_equal(profile_weight_unit(p), "microseconds");
	profile_free(p);
	free(p);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_names),
		T(test_collapsed),
		T(test_collapsed_edge_cases),
		cmocka_unit_test(test_collapsed_empty),
		T(test_speedscope),
		cmocka_unit_test(test_speedscope_counts_and_escapes),
		T(test_speedscope_valid_json),
		cmocka_unit_test(test_weights_by_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
