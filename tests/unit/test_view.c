/* profile/view.c: which frames each view keeps, Python lines by function or
 * none, threads as roots; counts and values kept whatever the view. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/view.h"

static uint32_t frame(struct profile *p, enum prof_frame_kind kind, const char *name,
		      const char *module, int64_t line)
{
	struct prof_frame f = {.kind = kind,
			       .name = name,
			       .file = kind == PROF_FRAME_PYTHON ? "app.py" : "",
			       .module = module,
			       .start_line = kind == PROF_FRAME_PYTHON ? 10 : 0,
			       .line = line};
	int64_t i = profile_frame(p, &f);
	assert_true(i >= 0);
	return (uint32_t)i;
}

/* leaf first: libz under hot() with the interpreter's frames between, and a
 * thread's native start-up below its first Python frame; a native-only
 * stack; hot() at another line */
static void build(struct profile *p)
{
	assert_int_equal(profile_init(p, 99), 0);
	uint32_t deflate = frame(p, PROF_FRAME_NATIVE, "deflate", "/lib/libz.so.1", 0);
	uint32_t eval = frame(p, PROF_FRAME_NATIVE, "_PyEval_EvalFrameDefault",
			      "/opt/py/lib/libpython3.11.so.1.0", 0);
	uint32_t stripped =
		frame(p, PROF_FRAME_NATIVE, "[python3.11+0x5a8530]", "/usr/bin/python3.11", 0);
	uint32_t kern = frame(p, PROF_FRAME_KERNEL, "do_syscall_64", "", 0);
	uint32_t hot12 = frame(p, PROF_FRAME_PYTHON, "hot", "", 12);
	uint32_t hot14 = frame(p, PROF_FRAME_PYTHON, "hot", "", 14);
	uint32_t run = frame(p, PROF_FRAME_PYTHON, "run", "", 3);
	uint32_t clone = frame(p, PROF_FRAME_NATIVE, "clone3", "/lib/libc.so.6", 0);
	uint32_t s1[] = {kern, deflate, eval, stripped, hot12, eval, run, eval, clone};
	uint32_t s2[] = {stripped, eval, clone};
	uint32_t s3[] = {hot14, run};
	assert_int_equal(profile_add(p, s1, 9, 6, 600, 1, 7, "worker", ""), 0);
	assert_int_equal(profile_add(p, s2, 3, 3, 300, 1, 8, "main", ""), 0);
	assert_int_equal(profile_add(p, s3, 2, 1, 100, 1, 7, "worker", ""), 0);
}

/* The stack of sample i as names joined by ';' (leaf first), line numbers
 * of Python frames after a ':'. */
static const char *names(const struct profile *p, size_t i, char *buf, size_t len)
{
	const struct prof_sample *s = &p->samples[i];
	buf[0] = 0;
	for (uint32_t k = 0; k < s->nframes; k++) {
		const struct prof_frame *f = &p->frames[s->frames[k]];
		size_t n = strlen(buf);
		if (f->kind == PROF_FRAME_PYTHON)
			snprintf(buf + n, len - n, "%s%s:%lld", k ? ";" : "", f->name,
				 (long long)f->line);
		else
			snprintf(buf + n, len - n, "%s%s", k ? ";" : "", f->name);
	}
	return buf;
}

static struct profile *viewed(const struct prof_view *v)
{
	struct profile src;
	build(&src);
	struct profile *p = profile_view(&src, v);
	assert_non_null(p);
	assert_int_equal(p->total_count, src.total_count);
	profile_free(&src);
	return p;
}

static void done(struct profile *p)
{
	profile_free(p);
	free(p);
}

static void test_fold(void **state)
{
	(void)state;
	char b[512];
	struct prof_view v = {0};
	struct profile *p = viewed(&v);
	assert_int_equal(p->nsamples, 3);
	assert_string_equal(names(p, 0, b, sizeof(b)), "do_syscall_64;deflate;hot:12;run:3");
	/* no Python frame: nothing to fold into */
	assert_string_equal(names(p, 1, b, sizeof(b)),
			    "[python3.11+0x5a8530];_PyEval_EvalFrameDefault;clone3");
	assert_string_equal(names(p, 2, b, sizeof(b)), "hot:14;run:3");
	assert_int_equal(p->samples[0].value, 600);
	done(p);
}

static void test_all_and_none(void **state)
{
	(void)state;
	char b[512];
	struct prof_view v = {.native = PROF_NATIVE_ALL};
	struct profile *p = viewed(&v);
	assert_int_equal(p->samples[0].nframes, 9);
	done(p);
	v.native = PROF_NATIVE_NONE;
	p = viewed(&v);
	assert_string_equal(names(p, 0, b, sizeof(b)), "hot:12;run:3");
	assert_string_equal(names(p, 1, b, sizeof(b)), "[native code]");
	done(p);
}

static void test_lines(void **state)
{
	(void)state;
	char b[512];
	struct prof_view v = {.native = PROF_NATIVE_NONE, .function = true};
	struct profile *p = viewed(&v);
	/* hot's two lines are one frame now: the samples of s1 and s3 have the
	 * same Python stack but different leaves before the view... */
	assert_string_equal(names(p, 0, b, sizeof(b)), "hot:10;run:10");
	done(p);
	v = (struct prof_view){.native = PROF_NATIVE_NONE, .nolineno = true};
	p = viewed(&v);
	assert_string_equal(names(p, 0, b, sizeof(b)), "hot:0;run:0");
	/* ... and merge into one sample */
	assert_int_equal(p->nsamples, 2);
	assert_int_equal(p->samples[0].count, 7);
	assert_int_equal(p->samples[0].value, 700);
	done(p);
}

static void test_threads(void **state)
{
	(void)state;
	char b[512];
	struct prof_view v = {.native = PROF_NATIVE_NONE, .threads = true};
	struct profile *p = viewed(&v);
	assert_string_equal(names(p, 0, b, sizeof(b)), "hot:12;run:3;thread worker (7)");
	assert_string_equal(names(p, 1, b, sizeof(b)), "[native code];thread main (8)");
	done(p);
}

/* --gil keeps the samples taken holding the GIL, and only those; a sample
 * that differs from another only in holding it stays apart */
static void test_gil_only(void **state)
{
	(void)state;
	struct profile src;
	build(&src);
	struct prof_sample held = src.samples[2];
	held.count = 4;
	held.value = 400;
	held.holds_gil = true;
	assert_int_equal(profile_add_sample(&src, &held), 0);
	assert_int_equal(profile_add_sample(&src, &held), 0);
	assert_int_equal(src.nsamples, 4);
	assert_int_equal(src.total_count, 18);
	struct prof_view v = {.gil_only = true};
	struct profile *p = profile_view(&src, &v);
	assert_non_null(p);
	assert_int_equal(p->nsamples, 1);
	assert_int_equal(p->total_count, 8);
	assert_int_equal(p->samples[0].value, 800);
	assert_true(p->samples[0].holds_gil);
	done(p);
	struct prof_view all = {0};
	p = profile_view(&src, &all);
	assert_int_equal(p->nsamples, 4);
	assert_int_equal(p->total_count, 18);
	done(p);
	profile_free(&src);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(prof_interpreter_module("/usr/bin/python3.11"));
	assert_true(prof_interpreter_module("/r/usr/lib/x86_64-linux-gnu/libpython3.13.so.1.0"));
	assert_false(prof_interpreter_module("/usr/lib/python3/dist-packages/numpy/core/x.so"));
	assert_false(prof_interpreter_module("/lib/libz.so.1"));
	assert_false(prof_interpreter_module(""));
	assert_int_equal(prof_native_parse("fold"), PROF_NATIVE_FOLD);
	assert_int_equal(prof_native_parse("none"), PROF_NATIVE_NONE);
	assert_int_equal(prof_native_parse("some"), -1);
}

/* py-spy's short file names: inside the packages or the standard library */
static void test_short_files(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"/usr/lib/python3.11/threading.py", "threading.py"},
		{"/root/.pyenv/versions/3.9.18/lib/python3.9/json/encoder.py", "json/encoder.py"},
		{"/x/lib/python3.13t/a/b.py", "a/b.py"},
		{"/v/lib/python3.12/site-packages/django/core/handlers/base.py",
		 "django/core/handlers/base.py"},
		{"/usr/lib/python3/dist-packages/flask/app.py", "flask/app.py"},
		{"/a/site-packages/b/site-packages/c.py", "c.py"},
		{"/srv/app/shop/views.py", "/srv/app/shop/views.py"},
		{"<frozen importlib._bootstrap>", "<frozen importlib._bootstrap>"},
		{"/usr/lib/python3.11/", "/usr/lib/python3.11/"},
		{"/usr/lib/python3.x/foo.py", "/usr/lib/python3.x/foo.py"},
		{"/usr/lib/python311/foo.py", "/usr/lib/python311/foo.py"},
		{"/site-packages/", "/site-packages/"},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(profile_short_file(cases[i][0]), cases[i][1]);
	assert_null(profile_short_file(NULL));
	/* a suffix of the path, never a copy */
	const char *f = cases[0][0];
	assert_ptr_equal(profile_short_file(f), f + strlen("/usr/lib/python3.11/"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold),	    cmocka_unit_test(test_all_and_none),
		cmocka_unit_test(test_lines),	    cmocka_unit_test(test_threads),
		cmocka_unit_test(test_names),	    cmocka_unit_test(test_gil_only),
		cmocka_unit_test(test_short_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
