/* daemon/kallsyms.c on fixture files written at test time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "native/kallsyms.h"

/* Unsorted, with data, bss, read-only and absolute symbols to ignore, and a
 * module symbol. */
static const char fixture[] = "ffffffff81000300 W weak_fn\n"
			      "ffffffff81000200 D some_data\n"
			      "ffffffff81000100 t helper\n"
			      "ffffffff81000000 T _stext\n"
			      "ffffffff81000400 d local_data\n"
			      "ffffffff81000500 w weak_local\n"
			      "ffffffff81000600 B some_bss\n"
			      "ffffffff81000700 r some_rodata\n"
			      "ffffffff81000800 R more_rodata\n"
			      "0000000000000000 A fixed_percpu_data\n"
			      "ffffffffc0000000 t mod_fn\t[mymod]\n";

#define STEXT	   0xffffffff81000000ULL
#define HELPER	   0xffffffff81000100ULL
#define WEAK_FN	   0xffffffff81000300ULL
#define WEAK_LOCAL 0xffffffff81000500ULL
#define MOD_FN	   0xffffffffc0000000ULL

/* Writes text to a new temporary file; its path goes to path. */
static void write_fixture(const char *text, char *path, size_t len)
{
	snprintf(path, len, "/tmp/pybpf-kallsyms-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

static int load_text(struct kallsyms *ks, const char *text)
{
	char path[64];
	write_fixture(text, path, sizeof(path));
	int ret = kallsyms_load(ks, path);
	int err = errno;
	unlink(path);
	errno = err;
	return ret;
}

static int setup(void **state)
{
	struct kallsyms *ks = calloc(1, sizeof(*ks));
	if (!ks || load_text(ks, fixture)) {
		free(ks);
		return -1;
	}
	*state = ks;
	return 0;
}

static int teardown(void **state)
{
	kallsyms_free(*state);
	free(*state);
	return 0;
}

static const char *name_at(const struct kallsyms *ks, uint64_t addr)
{
	const struct ksym *s = kallsyms_find(ks, addr);
	return s ? s->name : NULL;
}

static void keeps_text_symbols_sorted(void **state)
{
	const struct kallsyms *ks = *state;
	static const uint64_t want[] = {STEXT, HELPER, WEAK_FN, WEAK_LOCAL, MOD_FN};
	assert_int_equal(ks->n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < ks->n; i++)
		assert_int_equal(ks->syms[i].addr, want[i]);
	assert_string_equal(ks->syms[0].name, "_stext");
	assert_string_equal(ks->syms[4].name, "mod_fn");
}

static void exact_addresses(void **state)
{
	const struct kallsyms *ks = *state;
	assert_string_equal(name_at(ks, STEXT), "_stext");
	assert_string_equal(name_at(ks, HELPER), "helper");
	assert_string_equal(name_at(ks, WEAK_FN), "weak_fn");
	assert_string_equal(name_at(ks, WEAK_LOCAL), "weak_local");
	assert_string_equal(name_at(ks, MOD_FN), "mod_fn");
	assert_int_equal(kallsyms_find(ks, HELPER)->addr, HELPER);
}

static void between_gives_symbol_below(void **state)
{
	const struct kallsyms *ks = *state;
	assert_string_equal(name_at(ks, STEXT + 1), "_stext");
	assert_string_equal(name_at(ks, HELPER - 1), "_stext");
	assert_string_equal(name_at(ks, HELPER + 0x42), "helper");
	/* some_data (D) at +0x200 is not a symbol: still helper */
	assert_string_equal(name_at(ks, 0xffffffff81000200ULL), "helper");
	assert_string_equal(name_at(ks, WEAK_FN - 1), "helper");
	/* bss and rodata ignored too */
	assert_string_equal(name_at(ks, 0xffffffff81000700ULL), "weak_local");
	/* far past the last symbol of a region (a JIT area, a gap): nothing,
	 * rather than the wrong symbol */
	assert_string_equal(name_at(ks, WEAK_LOCAL + (1 << 20) - 1), "weak_local");
	assert_null(kallsyms_find(ks, WEAK_LOCAL + (1 << 20)));
	assert_null(kallsyms_find(ks, MOD_FN - 1));
	assert_string_equal(name_at(ks, MOD_FN + 0x10), "mod_fn");
	assert_null(kallsyms_find(ks, UINT64_MAX));
}

/* Ends of text sections are markers, not functions: past them is unnamed. */
static void text_end_markers(void **state)
{
	(void)state;
	struct kallsyms ks;
	assert_int_equal(load_text(&ks, "ffffffff81000000 T _stext\n"
					"ffffffff81000100 T last_fn\n"
					"ffffffff81000200 T _etext\n"
					"ffffffff83000000 T init_fn\n"
					"ffffffff83000100 T _einittext\n"
					"ffffffff83000200 t __cpuidle_text_end\n"
					"ffffffff83000300 t __end_swap_bio_read\n"),
			 0);
	assert_string_equal(name_at(&ks, 0xffffffff810001ffULL), "last_fn");
	assert_null(kallsyms_find(&ks, 0xffffffff81000200ULL));
	assert_null(kallsyms_find(&ks, 0xffffffff81000250ULL));
	assert_string_equal(name_at(&ks, 0xffffffff83000010ULL), "init_fn");
	assert_null(kallsyms_find(&ks, 0xffffffff83000110ULL));
	assert_null(kallsyms_find(&ks, 0xffffffff83000210ULL));
	/* a function whose name merely looks like one */
	assert_string_equal(name_at(&ks, 0xffffffff83000310ULL), "__end_swap_bio_read");
	kallsyms_free(&ks);
}

static void below_first_is_null(void **state)
{
	const struct kallsyms *ks = *state;
	assert_null(kallsyms_find(ks, STEXT - 1));
	assert_null(kallsyms_find(ks, 0));
	assert_null(kallsyms_find(ks, 0x400000));
}

static void all_zero_is_eperm(void **state)
{
	(void)state;
	struct kallsyms ks;
	errno = 0;
	assert_int_equal(load_text(&ks, "0000000000000000 T _stext\n"
					"0000000000000000 t helper\n"
					"0000000000000000 W weak_fn\n"
					"0000000000000000 D some_data\n"),
			 -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ks.n, 0);
	assert_null(ks.syms);
	assert_null(kallsyms_find(&ks, STEXT));
	kallsyms_free(&ks);
}

static void missing_file(void **state)
{
	(void)state;
	struct kallsyms ks;
	errno = 0;
	assert_int_equal(kallsyms_load(&ks, "/nonexistent/pybpf/kallsyms"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(ks.n, 0);
	assert_null(ks.syms);
}

static void free_twice(void **state)
{
	(void)state;
	struct kallsyms ks;
	assert_int_equal(load_text(&ks, "ffffffff81000000 T _stext\n"), 0);
	assert_int_equal(ks.n, 1);
	kallsyms_free(&ks);
	assert_null(ks.syms);
	assert_int_equal(ks.n, 0);
	kallsyms_free(&ks);
	assert_null(kallsyms_find(&ks, STEXT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(keeps_text_symbols_sorted, setup, teardown),
		cmocka_unit_test_setup_teardown(exact_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(between_gives_symbol_below, setup, teardown),
		cmocka_unit_test_setup_teardown(below_first_is_null, setup, teardown),
		cmocka_unit_test(text_end_markers),
		cmocka_unit_test(all_zero_is_eperm),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(free_twice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
