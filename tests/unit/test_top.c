/* daemon/top.c and profile_merge(): self and total shares by function from a
 * profile built by hand, recursion counted once; merging keeps counts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"
#include "report/top.h"

static uint32_t frame(struct profile *p, enum prof_frame_kind kind, const char *name)
{
	struct prof_frame f = {
		.kind = kind, .name = name, .file = "app.py", .module = "", .start_line = 1};
	int64_t i = profile_frame(p, &f);
	assert_true(i >= 0);
	return (uint32_t)i;
}

static void build(struct profile *p)
{
	assert_int_equal(profile_init(p, 99), 0);
	uint32_t main_ = frame(p, PROF_FRAME_PYTHON, "main");
	uint32_t rec = frame(p, PROF_FRAME_PYTHON, "rec");
	uint32_t leaf = frame(p, PROF_FRAME_PYTHON, "leaf");
	uint32_t nat = frame(p, PROF_FRAME_NATIVE, "memcpy");
	/* leaf first */
	uint32_t s1[] = {nat, leaf, rec, rec, rec, main_}; /* native leaf: self is leaf() */
	uint32_t s2[] = {rec, rec, main_};
	uint32_t s3[] = {main_};
	uint32_t s4[] = {nat}; /* no Python frame: counts for memcpy */
	assert_int_equal(profile_add(p, s1, 6, 60, 0, 1, 1, "t", ""), 0);
	assert_int_equal(profile_add(p, s2, 3, 30, 0, 1, 1, "t", ""), 0);
	assert_int_equal(profile_add(p, s3, 1, 5, 0, 2, 2, "t", ""), 0);
	assert_int_equal(profile_add(p, s4, 1, 5, 0, 2, 2, "t", "cpu"), 0);
}

static const struct top_row *row(const struct top_table *t, const char *fn)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->rows[i].function, fn) == 0)
			return &t->rows[i];
	fail_msg("no row %s", fn);
	return NULL;
}

static void test_top(void **state)
{
	(void)state;
	struct profile p;
	struct top_table t;
	build(&p);
	assert_int_equal(top_compute(&p, &t), 0);
	assert_int_equal(t.samples, 100);
	assert_int_equal(row(&t, "leaf")->self, 60);
	assert_int_equal(row(&t, "leaf")->total, 60);
	assert_int_equal(row(&t, "rec")->self, 30);
	assert_int_equal(row(&t, "rec")->total, 90); /* recursion counted once per stack */
	assert_int_equal(row(&t, "main")->self, 5);
	assert_int_equal(row(&t, "main")->total, 95);
	assert_int_equal(row(&t, "memcpy")->self, 5);
	assert_string_equal(t.rows[0].function, "leaf"); /* by self, descending */
	top_free(&t);
	profile_free(&p);
}

static bool keep_pid1(void *ctx, const struct prof_sample *s, const char **reason)
{
	(void)ctx;
	*reason = "";
	return s->pid == 1;
}

static void test_merge(void **state)
{
	(void)state;
	struct profile a, dst;
	build(&a);
	assert_int_equal(profile_init(&dst, 99), 0);
	assert_int_equal(profile_merge(&dst, &a, NULL, NULL), 0);
	assert_int_equal(profile_merge(&dst, &a, NULL, NULL), 0);
	assert_int_equal(dst.total_count, 200);
	assert_int_equal(dst.nsamples, a.nsamples); /* equal samples merged */
	struct profile only;
	assert_int_equal(profile_init(&only, 99), 0);
	assert_int_equal(profile_merge(&only, &a, keep_pid1, NULL), 0);
	assert_int_equal(only.total_count, 90);
	assert_int_equal(only.nsamples, 2);
	profile_free(&only);
	profile_free(&dst);
	profile_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
