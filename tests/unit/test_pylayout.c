/* The layout table (daemon/pylayout.c) against the interpreter's own headers:
 * every offset of the record for the installed CPython must be the offsetof()
 * of the member it names, and every record must respect the bounds the BPF
 * side relies on (include/pyunwind.h). */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_runtime.h>
#include <internal/pycore_interp.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_code.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pylayout.h"

#define MEMBER_END(type, member)  (offsetof(type, member) + sizeof(((type *)0)->member))
#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)

static void check_field(const char *field, unsigned got, size_t want)
{
	if (got != want)
		fail_msg("%s: table says %u, the %d.%d headers say %zu", field, got,
			 PY_MAJOR_VERSION, PY_MINOR_VERSION, want);
}

/* table field == offsetof(type, member) */
#define CHECK(L, field, type, member) check_field(#field, (L)->field, offsetof(type, member))

static const struct py_layout *installed(void)
{
	const struct py_layout *L = pylayout_find(PY_MAJOR_VERSION, PY_MINOR_VERSION);
	if (!L)
		fail_msg("no layout record for the installed headers (%d.%d)", PY_MAJOR_VERSION,
			 PY_MINOR_VERSION);
	assert_int_equal(L->version, PY_VERSION_KEY(PY_MAJOR_VERSION, PY_MINOR_VERSION));
	return L;
}

#if PY_MAJOR_VERSION == 3 && PY_MINOR_VERSION == 11

static void runtime_interp_thread_311(void **state)
{
	(void)state;
	const struct py_layout *L = installed();
	CHECK(L, rt_interp_head, _PyRuntimeState, interpreters.head);
	CHECK(L, interp_next, PyInterpreterState, next);
	CHECK(L, interp_tstate_head, PyInterpreterState, threads.head);
	CHECK(L, ts_next, PyThreadState, next);
	CHECK(L, ts_native_tid, PyThreadState, native_thread_id);
	CHECK(L, ts_thread_id, PyThreadState, thread_id);
	CHECK(L, ts_frame, PyThreadState, cframe);
	CHECK(L, cframe_current, _PyCFrame, current_frame);
	/* the BPF side reads each of these as a u64 */
	assert_int_equal(MEMBER_SIZE(_PyRuntimeState, interpreters.head), 8);
	assert_int_equal(MEMBER_SIZE(PyInterpreterState, next), 8);
	assert_int_equal(MEMBER_SIZE(PyInterpreterState, threads.head), 8);
	assert_int_equal(MEMBER_SIZE(PyThreadState, next), 8);
	assert_int_equal(MEMBER_SIZE(PyThreadState, native_thread_id), 8);
	assert_int_equal(MEMBER_SIZE(PyThreadState, cframe), 8);
	assert_int_equal(MEMBER_SIZE(_PyCFrame, current_frame), 8);
	assert_true(L->flags & PYL_TSTATE_VIA_CFRAME);
	assert_false(L->flags & (PYL_FRAME_OBJECTS | PYL_CODE_TAGGED | PYL_LASTI_BYTES));
}

static void frame_311(void **state)
{
	(void)state;
	const struct py_layout *L = installed();
	CHECK(L, fr_code, _PyInterpreterFrame, f_code);
	CHECK(L, fr_previous, _PyInterpreterFrame, previous);
	CHECK(L, fr_instr, _PyInterpreterFrame, prev_instr);
	CHECK(L, fr_owner, _PyInterpreterFrame, owner);
	CHECK(L, fr_is_entry, _PyInterpreterFrame, is_entry);
	assert_int_equal(MEMBER_SIZE(_PyInterpreterFrame, owner), 1);
	assert_int_equal(MEMBER_SIZE(_PyInterpreterFrame, is_entry), 1);
	assert_in_range(L->fr_read, MEMBER_END(_PyInterpreterFrame, f_code), PYBPF_BUF);
	assert_in_range(L->fr_read, MEMBER_END(_PyInterpreterFrame, previous), PYBPF_BUF);
	assert_in_range(L->fr_read, MEMBER_END(_PyInterpreterFrame, prev_instr), PYBPF_BUF);
	assert_in_range(L->fr_read, MEMBER_END(_PyInterpreterFrame, owner), PYBPF_BUF);
	assert_in_range(L->fr_read, MEMBER_END(_PyInterpreterFrame, is_entry), PYBPF_BUF);
	/* 3.11 has no C-stack shim frames: the owners must match no real owner */
	assert_int_equal(L->owner_cstack, PYL_NO_OWNER);
	assert_int_equal(L->owner_entry, PYL_NO_OWNER);
	assert_true(L->owner_cstack != FRAME_OWNED_BY_THREAD &&
		    L->owner_cstack != FRAME_OWNED_BY_GENERATOR &&
		    L->owner_cstack != FRAME_OWNED_BY_FRAME_OBJECT);
}

static void code_311(void **state)
{
	(void)state;
	const struct py_layout *L = installed();
	CHECK(L, co_tag, PyCodeObject, co_argcount);
	/* the tag hashes 5 contiguous 4-byte ints */
	check_field("co_tag+4", L->co_tag + 4u, offsetof(PyCodeObject, co_posonlyargcount));
	check_field("co_tag+8", L->co_tag + 8u, offsetof(PyCodeObject, co_kwonlyargcount));
	check_field("co_tag+12", L->co_tag + 12u, offsetof(PyCodeObject, co_stacksize));
	check_field("co_tag+16", L->co_tag + 16u, offsetof(PyCodeObject, co_firstlineno));
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_argcount), 4);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_posonlyargcount), 4);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_kwonlyargcount), 4);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_stacksize), 4);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_firstlineno), 4);
	assert_in_range(L->co_read, L->co_tag + 20u, PYBPF_BUF);
	assert_in_range(L->co_read, L->ob_type + 8u, PYBPF_BUF);
	CHECK(L, co_code, PyCodeObject, co_code_adaptive);
	CHECK(L, co_filename, PyCodeObject, co_filename);
	CHECK(L, co_name, PyCodeObject, co_name);
	CHECK(L, co_qualname, PyCodeObject, co_qualname);
	CHECK(L, co_firstlineno, PyCodeObject, co_firstlineno);
	CHECK(L, co_linetable, PyCodeObject, co_linetable);
	CHECK(L, co_flags, PyCodeObject, co_flags);
}

static void objects_311(void **state)
{
	(void)state;
	const struct py_layout *L = installed();
	CHECK(L, ob_type, PyObject, ob_type);
	CHECK(L, var_size, PyVarObject, ob_size);
	CHECK(L, bytes_sval, PyBytesObject, ob_sval);
	CHECK(L, ascii_state, PyASCIIObject, state);
	CHECK(L, ascii_length, PyASCIIObject, length);
	check_field("ascii_data", L->ascii_data, sizeof(PyASCIIObject));
	check_field("compact_data", L->compact_data, sizeof(PyCompactUnicodeObject));
	/* daemon/pysymbols.c reads the state word as a u32 */
	assert_true(MEMBER_SIZE(PyASCIIObject, state) >= 4);
}

#else

static void unchecked_version(void **state)
{
	(void)state;
	fail_msg("headers are CPython %d.%d: this test has offset checks for 3.11 only",
		 PY_MAJOR_VERSION, PY_MINOR_VERSION);
}

#endif

/* The raw state word as daemon/pysymbols.c decodes it. */
static uint32_t state_word(const PyASCIIObject *o, const struct py_layout *L)
{
	uint32_t w;
	memcpy(&w, (const char *)o + L->ascii_state, sizeof(w));
	return w;
}

static void unicode_state_bits(void **state)
{
	(void)state;
	const struct py_layout *L = installed();
	PyASCIIObject o;

	memset(&o, 0, sizeof(o));
	o.state.kind = 2;
	o.state.compact = 1;
	o.state.ascii = 0;
	uint32_t w = state_word(&o, L);
	assert_int_equal((w >> 2) & 7, 2);
	assert_int_equal((w >> 5) & 1, 1);
	assert_int_equal((w >> 6) & 1, 0);

	/* every neighbour set: nothing bleeds into the bits read */
	memset(&o, 0, sizeof(o));
	o.state.interned = 3;
	o.state.kind = 4;
	o.state.compact = 0;
	o.state.ascii = 1;
#if PY_VERSION_HEX < 0x030c0000
	o.state.ready = 1;
#endif
	w = state_word(&o, L);
	assert_int_equal((w >> 2) & 7, 4);
	assert_int_equal((w >> 5) & 1, 0);
	assert_int_equal((w >> 6) & 1, 1);
}

static void unicode_state_bits_reverse(void **state)
{
	(void)state;
	const struct py_layout *L = installed();
	PyASCIIObject o;
	uint32_t w = (1u << 2) | (1u << 5) | (1u << 6); /* kind 1, compact, ascii */

	memset(&o, 0, sizeof(o));
	memcpy((char *)&o + L->ascii_state, &w, sizeof(w));
	assert_int_equal(o.state.kind, 1);
	assert_int_equal(o.state.compact, 1);
	assert_int_equal(o.state.ascii, 1);
	assert_int_equal(o.state.interned, 0);
}

static void versions_unique(void **state)
{
	(void)state;
	size_t n;
	const struct py_layout *all = pylayout_all(&n);
	assert_non_null(all);
	assert_in_range(n, 1, PYBPF_MAX_LAYOUTS);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (all[i].version == all[j].version)
				fail_msg("records %zu and %zu both for version %#x", i, j,
					 all[i].version);
}

static void index_round_trips(void **state)
{
	(void)state;
	size_t n;
	const struct py_layout *all = pylayout_all(&n);
	for (size_t i = 0; i < n; i++) {
		unsigned major = all[i].version >> 8, minor = all[i].version & 0xff;
		const struct py_layout *L = pylayout_find(major, minor);
		assert_ptr_equal(L, &all[i]);
		assert_int_equal(pylayout_index(L), i);
		assert_int_equal(L->version, PY_VERSION_KEY(major, minor));
	}
}

/* A field the BPF side reads out of a buffer of len bytes, len <= PYBPF_BUF. */
static void check_in_buf(unsigned version, const char *what, unsigned off, unsigned size,
			 unsigned len)
{
	if (off + size > len || len > PYBPF_BUF)
		fail_msg("%u.%u: %s at %u (+%u) outside the %u bytes read (max %d)", version >> 8,
			 version & 0xff, what, off, size, len, PYBPF_BUF);
}

static void check_frame_bounds(const struct py_layout *L)
{
	unsigned instr = (L->flags & PYL_FRAME_OBJECTS) ? 4 : 8;
	check_in_buf(L->version, "fr_code", L->fr_code, 8, L->fr_read);
	check_in_buf(L->version, "fr_previous", L->fr_previous, 8, L->fr_read);
	check_in_buf(L->version, "fr_instr", L->fr_instr, instr, L->fr_read);
	if (L->fr_owner != PYL_NO_FIELD)
		check_in_buf(L->version, "fr_owner", L->fr_owner, 1, L->fr_read);
	if (L->fr_is_entry != PYL_NO_FIELD)
		check_in_buf(L->version, "fr_is_entry", L->fr_is_entry, 1, L->fr_read);
	assert_true(L->fr_read >= 8);
}

static void check_code_bounds(const struct py_layout *L)
{
	check_in_buf(L->version, "co_tag", L->co_tag, 20, L->co_read);
	check_in_buf(L->version, "ob_type", L->ob_type, 8, L->co_read);
	assert_true(L->co_read >= 8);
	/* userspace copies the header up to compact_data in one read */
	assert_true(L->ascii_state + 4u <= L->compact_data);
	assert_true(L->ascii_length + 8u <= L->compact_data);
	assert_true(L->ascii_data <= L->compact_data);
	assert_true(L->compact_data <= 128); /* pysym_read_str's header buffer */
}

static void buffer_bounds(void **state)
{
	(void)state;
	size_t n;
	const struct py_layout *all = pylayout_all(&n);
	for (size_t i = 0; i < n; i++) {
		check_frame_bounds(&all[i]);
		check_code_bounds(&all[i]);
	}
}

static void unsupported_versions(void **state)
{
	(void)state;
	assert_null(pylayout_find(2, 7));
	assert_null(pylayout_find(3, 99));
	assert_null(pylayout_find(4, 0));
	assert_null(pylayout_find(0, 0));
}

/* "3.1" must not pass for "3.11": match whole space-separated words. */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p++) {
		int start = p == list || p[-1] == ' ';
		int end = p[n] == '\0' || p[n] == ' ';
		if (start && end)
			return 1;
	}
	return 0;
}

static void supported_lists_every_version(void **state)
{
	(void)state;
	size_t n;
	const struct py_layout *all = pylayout_all(&n);
	const char *s = pylayout_supported();
	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%u.%u", all[i].version >> 8, all[i].version & 0xff);
		if (!has_word(s, v))
			fail_msg("pylayout_supported() \"%s\" does not mention %s", s, v);
	}
	assert_false(has_word(s, "2.7"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#if PY_MAJOR_VERSION == 3 && PY_MINOR_VERSION == 11
		cmocka_unit_test(runtime_interp_thread_311),
		cmocka_unit_test(frame_311),
		cmocka_unit_test(code_311),
		cmocka_unit_test(objects_311),
#else
		cmocka_unit_test(unchecked_version),
#endif
		cmocka_unit_test(unicode_state_bits),
		cmocka_unit_test(unicode_state_bits_reverse),
		cmocka_unit_test(versions_unique),
		cmocka_unit_test(index_round_trips),
		cmocka_unit_test(buffer_bounds),
		cmocka_unit_test(unsupported_versions),
		cmocka_unit_test(supported_lists_every_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
