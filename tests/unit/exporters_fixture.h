/* exporters_fixture.h - the profile the exporter tests write (a few frames
 * of every kind, names that need escaping), and helpers to read back what
 * they wrote.  Included by test_exporters.c, test_svg.c, test_export_write.c. */
#ifndef EXPORTERS_FIXTURE_H
#define EXPORTERS_FIXTURE_H
#pragma GCC diagnostic ignored "-Wunused-function"
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

#include "export/export.h"

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

#endif
