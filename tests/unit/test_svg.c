/* test_svg.c - the SVG flamegraph: frames, layout, text, escaping, and a
 * well-formed document. */
#define _GNU_SOURCE /* asprintf */
#include "exporters_fixture.h"

static void test_svg_frames(void **state)
{
	char *svg = render(*state, EXPORT_SVG, NULL);

	assert_true(strncmp(svg, "<?xml", 5) == 0);
	/* all, [truncated], main x2, work, PyObject_Call x2, syscall, parse */
	assert_int_equal(count_str(svg, "<g class=\"f\""), 9);
	assert_int_equal(count_str(svg, "<g"), count_str(svg, "</g>"));
	assert_int_equal(count_str(svg, "<title>"), 9);
	assert_int_equal(count_str(svg, "<text"), count_str(svg, "</text>"));
	assert_int_equal(count_str(svg, "<svg"), 1);
	assert_int_equal(count_str(svg, "</svg>"), 1);

	assert_contains(svg, "<title>all (13 samples, 100.00%)</title>");
	assert_contains(svg, "<title>main (app.py:10) (12 samples, 92.31%)</title>");
	assert_contains(svg, "<title>main (app.py:10) (1 samples, 7.69%)</title>");
	assert_contains(svg, "<title>work (app.py:20) (7 samples, 53.85%)</title>");
	assert_contains(svg, "<title>PyObject_Call (4 samples, 30.77%)</title>");
	assert_contains(svg, "<title>PyObject_Call (2 samples, 15.38%)</title>");
	assert_contains(svg, "<title>do_syscall_64_[k] (4 samples, 30.77%)</title>");
	assert_contains(svg, "<title>[truncated] (1 samples, 7.69%)</title>");
	/* The two PyObject_Call frames under work are one. */
	assert_null(strstr(svg, "PyObject_Call (1 samples"));
	/* 13 samples over 1180 px: main is 12/13 of it. */
	char *g = svg_frame(svg, "main (app.py:10) (12 samples");
	assert_contains(g, "width=\"1089.23\"");
	assert_contains(g, "data-d=\"1\"");
	free(g);
	g = svg_frame(svg, "all (13 samples");
	assert_contains(g, "x=\"10.00\"");
	assert_contains(g, "width=\"1180.00\"");
	free(g);
	assert_contains(svg, "13 samples at 99 Hz");
	assert_null(strstr(svg, "hidden"));
	free(svg);
}

static void test_svg_layout(void **state)
{
	char *svg = render(*state, EXPORT_SVG, NULL);
	char *g;

	/* Siblings by label: [truncated] sorts before main, at the left. */
	g = svg_frame(svg, "[truncated] (1 samples");
	assert_contains(g, "x=\"10.00\"");
	free(g);
	g = svg_frame(svg, "main (app.py:10) (12 samples");
	assert_contains(g, "x=\"100.77\"");
	free(g);
	/* Under main: PyObject_Call, then parse, then work. */
	g = svg_frame(svg, "work (app.py:20) (7 samples");
	assert_contains(g, "x=\"554.62\"");
	assert_contains(g, "data-d=\"2\"");
	free(g);
	/* The root is at the bottom: deeper frames have smaller y. */
	char *root = svg_frame(svg, "all (13");
	char *leaf = svg_frame(svg, "do_syscall_64_[k]");
	int yr = atoi(strstr(root, " y=\"") + 4), yl = atoi(strstr(leaf, " y=\"") + 4);
	assert_int_equal(yr - yl, 3 * 16);
	free(root);
	free(leaf);
	free(svg);
}

static void test_svg_text(void **state)
{
	char *svg = render(*state, EXPORT_SVG, "a <b> & 'c' \"d\"");
	char *t;

	assert_contains(svg, ">a &lt;b&gt; &amp; &apos;c&apos; &quot;d&quot;</text>");
	/* Names are escaped, newlines become spaces, ';' is kept. */
	assert_contains(svg, "<title>parse;json  (a&amp;b&lt;c&gt;.py:5) (1 samples, 7.69%)");
	assert_null(strstr(svg, "a&b"));
	assert_null(strstr(svg, "<c>"));
	assert_null(strstr(svg, "json\n"));
	/* 90.77 px fits 12 characters: "[truncated]" whole, main elided. */
	t = svg_frame_text(svg, "[truncated] (1");
	assert_string_equal(t, "[truncated]");
	free(t);
	t = svg_frame_text(svg, "main (app.py:10) (1 samples");
	assert_string_equal(t, "main (app...");
	free(t);
	t = svg_frame_text(svg, "main (app.py:10) (12 samples");
	assert_string_equal(t, "main (app.py:10)");
	free(t);
	t = svg_frame_text(svg, "parse;json");
	assert_string_equal(t, "parse;json..");
	free(t);
	free(svg);
}

static void test_svg_elide_escaped(void **state)
{
	(void)state;
	struct profile p;
	assert_int_equal(profile_init(&p, 99), 0);
	uint32_t amp = add_frame(&p, PROF_FRAME_NATIVE, "&<>&<>&<>&<>&<>&<>", "", "", 0, 1);
	uint32_t pad = add_frame(&p, PROF_FRAME_NATIVE, "pad", "", "", 0, 2);
	assert_int_equal(profile_add(&p, &amp, 1, 1, 0, 1, 1, "", ""), 0);
	assert_int_equal(profile_add(&p, &pad, 1, 12, 0, 1, 1, "", ""), 0);

	/* 12 characters fit: ten of them, then "..", entities counting one. */
	char *svg = render(&p, EXPORT_SVG, NULL);
	char *t = svg_frame_text(svg, "&amp;&lt;&gt;&amp;");
	assert_string_equal(t, "&amp;&lt;&gt;&amp;&lt;&gt;&amp;&lt;&gt;&amp;..");
	free(t);
	free(svg);
	profile_free(&p);
}

static void test_svg_tiny_and_narrow(void **state)
{
	(void)state;
	struct profile p;
	assert_int_equal(profile_init(&p, 99), 0);
	uint32_t big = add_frame(&p, PROF_FRAME_NATIVE, "big", "", "", 0, 1);
	uint32_t y = add_frame(&p, PROF_FRAME_NATIVE, "y", "", "", 0, 2);
	uint32_t z = add_frame(&p, PROF_FRAME_KERNEL, "z", "", "", 0, 3);
	uint32_t n = add_frame(&p, PROF_FRAME_NATIVE, "narrow", "", "", 0, 4);
	assert_int_equal(profile_add(&p, &big, 1, 99999, 0, 1, 1, "", ""), 0);
	assert_int_equal(profile_add(&p, (uint32_t[]){z, y}, 2, 1, 0, 1, 1, "", ""), 0);
	assert_int_equal(profile_add(&p, &n, 1, 1800, 0, 1, 1, "", ""), 0);

	char *svg = render(&p, EXPORT_SVG, NULL);
	/* y and z are 0.012 px wide: left out, and said so. */
	assert_contains(svg, "2 tiny frames hidden");
	assert_null(strstr(svg, "<title>y "));
	assert_null(strstr(svg, "<title>z_[k]"));
	/* narrow is 20.9 px: room for two characters, too few to show. */
	char *t = svg_frame_text(svg, "narrow (1800 samples");
	assert_string_equal(t, "");
	free(t);
	assert_contains(svg, "<title>all (101800 samples, 100.00%)");
	free(svg);
	profile_free(&p);
}

static void test_svg_empty_and_invalid_utf8(void **state)
{
	(void)state;
	struct profile p;
	assert_int_equal(profile_init(&p, 99), 0);
	char *svg = render(&p, EXPORT_SVG, "t\xff\x01");
	assert_int_equal(count_str(svg, "<g class=\"f\""), 0);
	assert_contains(svg, ">t? </text>");
	assert_contains(svg, "0 samples");
	assert_null(strstr(svg, "hidden"));
	free(svg);

	/* A cut sequence, a surrogate, then a good "é". */
	const char *bad = "bad\xc3(\xed\xa0\x80ok\xc3\xa9";
	uint32_t f = add_frame(&p, PROF_FRAME_NATIVE, bad, "", "", 0, 1);
	assert_int_equal(profile_add(&p, &f, 1, 1, 0, 1, 1, "", ""), 0);
	svg = render(&p, EXPORT_SVG, NULL);
	assert_contains(svg, "<title>bad?(???ok\xc3\xa9 (1 samples, 100.00%)");
	free(svg);
	profile_free(&p);
}

static void test_svg_well_formed(void **state)
{
	char *svg = render(*state, EXPORT_SVG, "<&>");
	check_with_python(svg, ".svg",
			  "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])");
	free(svg);
}

/* --- speedscope ----------------------------------------------------------- */

/* The output without the newlines it puts between items. */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_svg_frames),
		T(test_svg_layout),
		T(test_svg_text),
		cmocka_unit_test(test_svg_elide_escaped),
		cmocka_unit_test(test_svg_tiny_and_narrow),
		cmocka_unit_test(test_svg_empty_and_invalid_utf8),
		T(test_svg_well_formed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
