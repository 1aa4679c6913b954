/* test_exporters.c - the collapsed, SVG and speedscope writers, format names
 * and the atomic file export. */
#define _GNU_SOURCE /* asprintf */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export.h"

/* Frame indices of the fixture, in creation order. */
enum { F_MAIN, F_WORK, F_WEIRD, F_CALL1, F_CALL2, F_SYSCALL, F_TRUNC, NFIX };

static const char weird_name[] = "parse;json\n";
static const char weird_file[] = "a&b<c>.py";

static uint32_t add_frame(struct profile *p, enum prof_frame_kind kind, const char *name,
			  const char *file, const char *module, int64_t line, uint64_t addr)
{
	struct prof_frame f = {
		.kind = kind,
		.name = name,
		.file = file,
		.module = module,
		.start_line = line,
		.line = line,
		.address = addr,
	};
	int64_t i = profile_frame(p, &f);
	assert_true(i >= 0);
	return (uint32_t)i;
}

#define ADD(p, count, value, tid, tname, ...)                                                      \
	do {                                                                                       \
		uint32_t st_[] = {__VA_ARGS__};                                                    \
		assert_int_equal(profile_add(p, st_, sizeof(st_) / sizeof(st_[0]), count, value,   \
					     100, tid, tname, ""),                                 \
				 0);                                                               \
	} while (0)

/*
 * Two threads of pid 100.  Root first, the stacks are:
 *   main;work                      3 (tid 100) + 2 (tid 101)
 *   main;work;PyObject_Call        1 + 1, two native frames with one label
 *   main;PyObject_Call;syscall_[k] 4 (tid 101)
 *   main;parse;json\n (a&b<c>.py)  1 (tid 100)
 *   [truncated];main               1 (tid 101)
 * 13 samples; values are count * 1000 ns.
 */
static int setup(void **state)
{
	struct profile *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(profile_init(p, 99), 0);

	assert_int_equal(add_frame(p, PROF_FRAME_PYTHON, "main", "app.py", "", 10, 0), F_MAIN);
	assert_int_equal(add_frame(p, PROF_FRAME_PYTHON, "work", "app.py", "", 20, 0), F_WORK);
	assert_int_equal(add_frame(p, PROF_FRAME_PYTHON, weird_name, weird_file, "", 5, 0),
			 F_WEIRD);
	assert_int_equal(add_frame(p, PROF_FRAME_NATIVE, "PyObject_Call", "",
				   "/usr/lib/libpython3.11.so", 0, 0x10),
			 F_CALL1);
	assert_int_equal(add_frame(p, PROF_FRAME_NATIVE, "PyObject_Call", "",
				   "/usr/lib/libpython3.11.so", 0, 0x20),
			 F_CALL2);
	assert_int_equal(add_frame(p, PROF_FRAME_KERNEL, "do_syscall_64", "", "", 0, 0xffff1),
			 F_SYSCALL);
	assert_int_equal(add_frame(p, PROF_FRAME_SPECIAL, "[truncated]", "", "", 0, 0), F_TRUNC);

	ADD(p, 3, 3000, 100, "main", F_WORK, F_MAIN);
	ADD(p, 2, 2000, 101, "worker", F_WORK, F_MAIN);
	ADD(p, 1, 1000, 100, "main", F_CALL1, F_WORK, F_MAIN);
	ADD(p, 1, 1000, 101, "worker", F_CALL2, F_WORK, F_MAIN);
	ADD(p, 4, 4000, 101, "worker", F_SYSCALL, F_CALL1, F_MAIN);
	ADD(p, 1, 1000, 100, "main", F_WEIRD, F_MAIN);
	ADD(p, 1, 1000, 101, "worker", F_MAIN, F_TRUNC);
	assert_int_equal(p->total_count, 13);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	profile_free(*state);
	free(*state);
	return 0;
}

/* --- helpers ------------------------------------------------------------ */

static char *render(const struct profile *p, enum export_format f, const char *title)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int ret = -1;

	assert_non_null(m);
	switch (f) {
	case EXPORT_COLLAPSED:
		ret = export_collapsed(p, m);
		break;
	case EXPORT_SVG:
		ret = export_svg(p, m, title);
		break;
	case EXPORT_SPEEDSCOPE:
		ret = export_speedscope(p, m, title);
		break;
	default:
		fail();
	}
	assert_int_equal(ret, 0);
	assert_int_equal(fclose(m), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("missing: %s", needle);
}

/* The <g> element whose <title> starts with title, as a new string. */
static char *svg_frame(const char *svg, const char *title)
{
	char *key = NULL;
	assert_true(asprintf(&key, "<title>%s", title) > 0);
	const char *t = strstr(svg, key);
	free(key);
	if (!t)
		fail_msg("no frame titled %s", title);
	const char *start = t;
	while (start > svg && strncmp(start, "<g ", 3))
		start--;
	const char *end = strstr(t, "</g>");
	assert_non_null(end);
	return strndup(start, (size_t)(end - start) + 4);
}

/* The text shown in the frame titled title. */
static char *svg_frame_text(const char *svg, const char *title)
{
	char *g = svg_frame(svg, title);
	char *t = strstr(g, "<text");
	assert_non_null(t);
	t = strchr(t, '>') + 1;
	char *res = strndup(t, (size_t)(strstr(t, "</text>") - t));
	free(g);
	return res;
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	int c;
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(f);
	fclose(m);
	if (len)
		*len = n;
	return buf;
}

/* Runs a python3 one-liner checking the file parses (python3 is one of the
 * project's dependencies: without it the test fails). */
static void check_with_python(const char *data, const char *suffix, const char *check)
{
	char path[] = "/tmp/pybpf_test_XXXXXX";
	char *cmd = NULL, *file = NULL;

	assert_int_equal(access("/usr/bin/python3", X_OK), 0);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_true(asprintf(&file, "%s%s", path, suffix) > 0);
	assert_int_equal(rename(path, file), 0);
	write_file(file, data);
	assert_true(asprintf(&cmd, "/usr/bin/python3 -c '%s' %s", check, file) > 0);
	int rc = system(cmd);
	unlink(file);
	free(cmd);
	free(file);
	assert_int_equal(rc, 0);
}

/* --- format names ------------------------------------------------------- */

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

/* --- export_write_file ------------------------------------------------- */

/* The names in dir, sorted, joined by ' '. */
static char *list_dir(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, ".."))
			fprintf(m, "%s%s", len || ftell(m) ? " " : "", ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	fclose(m);
	return buf;
}

static void test_write_file(void **state)
{
	char dir[] = "/tmp/pybpf_export_XXXXXX";
	char *path = NULL, *listing, *data, *expect;
	struct stat st;
	size_t len;

	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&path, "%s/out.folded", dir) > 0);

	/* A new file, then replaced whole by a shorter format... */
	write_file(path, "old contents that are longer than anything written next\n"
			 "old contents that are longer than anything written next\n"
			 "old contents that are longer than anything written next\n"
			 "old contents that are longer than anything written next\n"
			 "old contents that are longer than anything written next\n"
			 "old contents that are longer than anything written next\n");
	assert_int_equal(export_write_file(*state, EXPORT_COLLAPSED, path, NULL), 0);
	data = read_file(path, NULL);
	expect = render(*state, EXPORT_COLLAPSED, NULL);
	assert_string_equal(data, expect);
	free(data);
	free(expect);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	listing = list_dir(dir);
	assert_string_equal(listing, "out.folded");
	free(listing);

	/* ...and by each other format. */
	assert_int_equal(export_write_file(*state, EXPORT_SVG, path, "T"), 0);
	data = read_file(path, NULL);
	assert_true(strncmp(data, "<?xml", 5) == 0);
	assert_contains(data, "</svg>\n");
	free(data);
	assert_int_equal(export_write_file(*state, EXPORT_SPEEDSCOPE, path, "T"), 0);
	data = read_file(path, NULL);
	assert_contains(data, "\"name\":\"T\"");
	free(data);
	assert_int_equal(export_write_file(*state, EXPORT_PPROF, path, "T"), 0);
	data = read_file(path, &len);
	assert_true(len > 2);
	assert_int_equal((unsigned char)data[0], 0x1f); /* gzip */
	assert_int_equal((unsigned char)data[1], 0x8b);
	free(data);
	listing = list_dir(dir);
	assert_string_equal(listing, "out.folded");
	free(listing);

	unlink(path);
	rmdir(dir);
	free(path);
}

static void test_write_file_errors(void **state)
{
	char dir[] = "/tmp/pybpf_export_XXXXXX";
	char *path = NULL, *listing;

	assert_non_null(mkdtemp(dir));

	/* rename() over a directory fails: the temp file must go. */
	assert_true(asprintf(&path, "%s/sub", dir) > 0);
	assert_int_equal(mkdir(path, 0755), 0);
	errno = 0;
	assert_int_equal(export_write_file(*state, EXPORT_COLLAPSED, path, NULL), -1);
	assert_int_equal(errno, EISDIR);
	listing = list_dir(dir);
	assert_string_equal(listing, "sub");
	free(listing);
	rmdir(path);
	free(path);

	/* No such directory. */
	assert_true(asprintf(&path, "%s/missing/out.svg", dir) > 0);
	errno = 0;
	assert_int_equal(export_write_file(*state, EXPORT_SVG, path, NULL), -1);
	assert_int_equal(errno, ENOENT);
	free(path);

	/* Bad arguments. */
	assert_true(asprintf(&path, "%s/x", dir) > 0);
	errno = 0;
	assert_int_equal(export_write_file(*state, (enum export_format)9, path, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(export_write_file(NULL, EXPORT_SVG, path, NULL), -1);
	assert_int_equal(export_write_file(*state, EXPORT_SVG, "", NULL), -1);
	free(path);

	listing = list_dir(dir);
	assert_string_equal(listing, "");
	free(listing);
	rmdir(dir);
}

static void test_write_stdout(void **state)
{
	char path[] = "/tmp/pybpf_stdout_XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDOUT_FILENO);

	assert_true(fd >= 0 && saved >= 0);
	fflush(stdout);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	int ret = export_write_file(*state, EXPORT_COLLAPSED, "-", NULL);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(fd);
	assert_int_equal(ret, 0);

	char *data = read_file(path, NULL);
	char *expect = render(*state, EXPORT_COLLAPSED, NULL);
	assert_string_equal(data, expect);
	free(data);
	free(expect);
	unlink(path);
}

static void test_write_error_reported(void **state)
{
	/* A full device: the error must come back, not be swallowed. */
	FILE *f = fopen("/dev/full", "w");
	assert_non_null(f);
	errno = 0;
	assert_int_equal(export_svg(*state, f, NULL), -1);
	assert_int_equal(errno, ENOSPC);
	fclose(f);
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	assert_int_equal(export_collapsed(*state, f), -1);
	fclose(f);
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	assert_int_equal(export_speedscope(*state, f, NULL), -1);
	fclose(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_names),
		T(test_collapsed),
		T(test_collapsed_edge_cases),
		cmocka_unit_test(test_collapsed_empty),
		T(test_svg_frames),
		T(test_svg_layout),
		T(test_svg_text),
		cmocka_unit_test(test_svg_elide_escaped),
		cmocka_unit_test(test_svg_tiny_and_narrow),
		cmocka_unit_test(test_svg_empty_and_invalid_utf8),
		T(test_svg_well_formed),
		T(test_speedscope),
		cmocka_unit_test(test_speedscope_counts_and_escapes),
		T(test_speedscope_valid_json),
		T(test_write_file),
		T(test_write_file_errors),
		T(test_write_stdout),
		T(test_write_error_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
