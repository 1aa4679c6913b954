/* Line-table decoding against vectors taken from real code objects. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "python/linetable.h"

struct lt_vector {
	const char *name;
	unsigned minor;
	const uint8_t *tab;
	size_t len;
	int first;
	const int *lines;
	size_t nlines;
};

#include "linetable_vectors_39.h"
#include "linetable_vectors_311.h"
#include "linetable_vectors_313.h"
#include "linetable_vectors_314.h"
#include "linetable_vectors_315.h"

static void check_vectors(const struct lt_vector *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < v[i].nlines; j++) {
			int got = linetable_line(v[i].minor, v[i].tab, v[i].len, v[i].first,
						 (int32_t)(2 * j));
			if (got != v[i].lines[j])
				fail_msg("%s: offset %zu: line %d, CPython says %d", v[i].name,
					 2 * j, got, v[i].lines[j]);
		}
	}
}

#define CHECK(v) check_vectors(v, sizeof(v) / sizeof(v[0]))

static void lnotab_39(void **state)
{
	(void)state;
	CHECK(vectors_3_9);
}

static void location_table_311(void **state)
{
	(void)state;
	CHECK(vectors_3_11);
}

static void location_table_313_314_315(void **state)
{
	(void)state;
	CHECK(vectors_3_13);
	CHECK(vectors_3_14);
	CHECK(vectors_3_15);
}

static void not_started_frame_is_first_line(void **state)
{
	(void)state;
	const struct lt_vector *v = &vectors_3_11[1];
	assert_int_equal(linetable_line(11, v->tab, v->len, 42, -2), 42);
}

static void past_the_end_and_corrupt(void **state)
{
	(void)state;
	const struct lt_vector *v = &vectors_3_11[1];
	assert_int_equal(
		linetable_line(11, v->tab, v->len, v->first, (int32_t)(2 * v->nlines + 100)), -1);
	/* an entry whose first byte lacks the 0x80 marker */
	const uint8_t bad[] = {0x12, 0x00};
	assert_int_equal(linetable_line(11, bad, sizeof(bad), 1, 0), -1);
	/* truncated long-form entry */
	const uint8_t cut[] = {0xf0 | 0x00, 0x40};
	assert_int_equal(linetable_line(11, cut, sizeof(cut), 1, 0), -1);
	assert_int_equal(linetable_line(11, NULL, 0, 1, 0), -1);
}

static void pep626_and_lnotab(void **state)
{
	(void)state;
	/* 3.10: 6 bytes on line first+1, 4 bytes with no line, 2 bytes back on first */
	const uint8_t t310[] = {6, 1, 4, 0x80, 2, 0xff};
	assert_int_equal(linetable_line(10, t310, sizeof(t310), 10, 0), 11);
	assert_int_equal(linetable_line(10, t310, sizeof(t310), 10, 4), 11);
	assert_int_equal(linetable_line(10, t310, sizeof(t310), 10, 6), -1);
	assert_int_equal(linetable_line(10, t310, sizeof(t310), 10, 10), 10);
	/* 3.9 lnotab: +1 line at byte 4, +2 lines at byte 10 */
	const uint8_t t39[] = {4, 1, 6, 2};
	assert_int_equal(linetable_line(9, t39, sizeof(t39), 5, 0), 5);
	assert_int_equal(linetable_line(9, t39, sizeof(t39), 5, 4), 6);
	assert_int_equal(linetable_line(9, t39, sizeof(t39), 5, 9), 6);
	assert_int_equal(linetable_line(9, t39, sizeof(t39), 5, 10), 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lnotab_39),
		cmocka_unit_test(location_table_311),
		cmocka_unit_test(location_table_313_314_315),
		cmocka_unit_test(not_started_frame_is_first_line),
		cmocka_unit_test(past_the_end_and_corrupt),
		cmocka_unit_test(pep626_and_lnotab),
	};
	return cmocka_run_group_tests_name("linetable", tests, NULL, NULL);
}
