/* daemon/native/debuginfo.c: a stripped program named from its debug
 * information found by build id, by .gnu_debuglink (CRC checked), from its
 * MiniDebugInfo, and, with none, by the start of each function from its call
 * frame information (fixtures: tests/data/make-debug-fixtures.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "native/debuginfo.h"

static const char *const dirs[] = {DEBUG_FIXTURES "/dbg", NULL};
static uint64_t inner, outer; /* their addresses, from the unstripped program */

static int load(const char *name, struct elf_file *ef, enum elf_names *how)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", DEBUG_FIXTURES, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(elf_file_load(fd, ef), 0);
	*how = debuginfo_apply(ef, fd, "", path, dirs);
	if (*how == ELF_NAMES_DYNSYM)
		assert_int_equal(elf_file_open_cfi(ef, fd), 0);
	close(fd);
	return 0;
}

static void names(const struct elf_file *ef)
{
	const struct elf_sym *s = elf_file_func_at(ef, inner + 1);
	assert_non_null(s);
	assert_string_equal(s->name, "debugtarget_inner");
	s = elf_file_func_at(ef, outer + 2);
	assert_non_null(s);
	assert_string_equal(s->name, "debugtarget_outer");
}

static int setup(void **state)
{
	(void)state;
	struct elf_file ef;
	enum elf_names how;
	load("full", &ef, &how);
	assert_int_equal(how, ELF_NAMES_SYMTAB);
	inner = elf_file_symbol(&ef, "debugtarget_inner");
	outer = elf_file_symbol(&ef, "debugtarget_outer");
	assert_true(inner && outer);
	elf_file_free(&ef);
	return 0;
}

/* With the build-id directory, or (the others: dbg holds the build id of
 * the same build) without it. */
static void found(const char *name, enum elf_names want)
{
	static const char *const none[] = {"/nonexistent", NULL};
	struct elf_file ef;
	enum elf_names how;
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", DEBUG_FIXTURES, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(elf_file_load(fd, &ef), 0);
	how = debuginfo_apply(&ef, fd, "", path, want == ELF_NAMES_BUILD_ID ? dirs : none);
	close(fd);
	assert_false(ef.symtab);
	assert_int_equal(how, want);
	names(&ef);
	elf_file_free(&ef);
}

static void by_build_id(void **state)
{
	(void)state;
	found("buildid", ELF_NAMES_BUILD_ID);
}

static void by_debuglink(void **state)
{
	(void)state;
	found("linked", ELF_NAMES_DEBUGLINK);
}

static void by_debugdata(void **state)
{
	(void)state;
	found("mini", ELF_NAMES_DEBUGDATA);
}

/* A debug file whose CRC is not the one the link names is another build's. */
static void wrong_crc_refused(void **state)
{
	(void)state;
	struct elf_file ef;
	char path[512];
	snprintf(path, sizeof(path), "%s/badcrc", DEBUG_FIXTURES);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	static const char *const none[] = {"/nonexistent", NULL};
	assert_int_equal(elf_file_load(fd, &ef), 0);
	assert_int_equal(debuginfo_apply(&ef, fd, "", path, none), ELF_NAMES_DYNSYM);
	assert_null(elf_file_func_at(&ef, inner + 1));
	close(fd);
	elf_file_free(&ef);
}

/* Nothing at all: each function is still one place, by its FDE's start. */
static void by_call_frames(void **state)
{
	(void)state;
	struct elf_file ef;
	enum elf_names how;
	static const char *const none[] = {"/nonexistent", NULL};
	char path[512];
	snprintf(path, sizeof(path), "%s/bare", DEBUG_FIXTURES);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(elf_file_load(fd, &ef), 0);
	how = debuginfo_apply(&ef, fd, "", path, none);
	assert_int_equal(how, ELF_NAMES_DYNSYM);
	assert_int_equal(elf_file_open_cfi(&ef, fd), 0);
	close(fd);
	assert_null(elf_file_func_at(&ef, inner + 1));
	uint64_t a, b;
	assert_int_equal(elf_file_fde_start(&ef, inner + 1, &a), 0);
	assert_int_equal(a, inner);
	assert_int_equal(elf_file_fde_start(&ef, outer + 2, &b), 0);
	assert_int_equal(b, outer);
	assert_int_not_equal(elf_file_fde_start(&ef, 0x10, &a), 0);
	elf_file_free(&ef);
}

int main(void)
{
	(void)load;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(by_build_id),	  cmocka_unit_test(by_debuglink),
		cmocka_unit_test(by_debugdata),	  cmocka_unit_test(wrong_crc_refused),
		cmocka_unit_test(by_call_frames),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
