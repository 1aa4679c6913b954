/* The layout table (daemon/python/pylayout.c) against an interpreter's own headers.
 *
 * Built against ONE CPython version's headers (whichever include path it is
 * given), it checks that version's record field by field with offsetof(),
 * and for 3.13+ the py_debug_map entry against offsetof(_Py_DebugOffsets,
 * ...).  The invariants of every record are test_pylayout_table.c.
 *
 *   R=/var/cache/pybpf/roots/trixie V=python3.13   (R= V=python3.11: the host)
 *   gcc -std=gnu11 -Wall -Wextra -Werror -Idaemon -Iinclude -DPy_BUILD_CORE=1 \
 *       -I$R/usr/include/$V -I$R/usr/include/x86_64-linux-gnu/$V \
 *       -idirafter $R/usr/include \
 *       tests/unit/test_pylayout.c daemon/python/pylayout.c -lcmocka -o /tmp/tpl
 *
 * -idirafter $R/usr/include is needed for a Debian root other than the host:
 * Debian's python3.X/pyconfig.h includes <x86_64-linux-gnu/python3.X/pyconfig.h>;
 * -idirafter finds it without putting the root's libc headers first. */
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
/* the interpreter's internal headers are not written for -Wextra -Werror */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <Python.h>
#if PY_MINOR_VERSION <= 10
#include <frameobject.h>
#endif
#include <internal/pycore_runtime.h>
#include <internal/pycore_interp.h>
#if PY_MINOR_VERSION >= 11
#include <internal/pycore_frame.h>
#include <internal/pycore_code.h>
#endif
#if PY_MINOR_VERSION >= 14
#include <internal/pycore_interpframe_structs.h>
#include <internal/pycore_debug_offsets.h>
#endif
#pragma GCC diagnostic pop

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "python/pylayout.h"

#if PY_MAJOR_VERSION != 3 || PY_MINOR_VERSION < 9
#error "the table starts at CPython 3.9"
#endif
#ifdef Py_GIL_DISABLED
#error "free-threaded headers: pybpf refuses these builds and has no record for them"
#endif

#define MEMBER_END(type, member)  (offsetof(type, member) + sizeof(((type *)0)->member))
#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)

/* The frame struct and the members that changed names. */
#if PY_MINOR_VERSION <= 10
typedef PyFrameObject frame_t;
#define FR_CODE	    f_code
#define FR_PREVIOUS f_back
#define FR_INSTR    f_lasti
#elif PY_MINOR_VERSION <= 12
typedef _PyInterpreterFrame frame_t;
#define FR_CODE	    f_code
#define FR_PREVIOUS previous
#define FR_INSTR    prev_instr
#else
typedef _PyInterpreterFrame frame_t;
#define FR_CODE	    f_executable
#define FR_PREVIOUS previous
#define FR_INSTR    instr_ptr
#endif

static void check_field(const char *field, unsigned got, size_t want)
{
	if (got != want)
		fail_msg("%s: table says %u, the %d.%d headers say %zu", field, got,
			 PY_MAJOR_VERSION, PY_MINOR_VERSION, want);
}

/* table field == offsetof(type, member) */
#define CHECK(L, field, type, member) check_field(#field, (L)->field, offsetof(type, member))
#define NO_FIELD(L, field)	      check_field(#field, (L)->field, PYL_NO_FIELD)

static const struct pylayout *installed(void)
{
	const struct pylayout *L = pylayout_find(PY_MAJOR_VERSION, PY_MINOR_VERSION);
	if (!L)
		fail_msg("no layout record for the installed headers (%d.%d)", PY_MAJOR_VERSION,
			 PY_MINOR_VERSION);
	assert_int_equal(L->version, PY_VERSION_KEY(PY_MAJOR_VERSION, PY_MINOR_VERSION));
	return L;
}

/* ---- the record of the version the test is built against ---- */

static void runtime_interp_thread(void **state)
{
	(void)state;
	const struct pylayout *L = installed();
	CHECK(L, bpf.rt_interp_head, _PyRuntimeState, interpreters.head);
	CHECK(L, bpf.interp_next, PyInterpreterState, next);
	CHECK(L, bpf.ts_next, PyThreadState, next);
	CHECK(L, bpf.ts_thread_id, PyThreadState, thread_id);
	/* the BPF side reads each of these as a u64 */
	assert_int_equal(MEMBER_SIZE(_PyRuntimeState, interpreters.head), 8);
	assert_int_equal(MEMBER_SIZE(PyInterpreterState, next), 8);
	assert_int_equal(MEMBER_SIZE(PyThreadState, next), 8);
	assert_int_equal(MEMBER_SIZE(PyThreadState, thread_id), 8);
#if PY_MINOR_VERSION <= 10
	CHECK(L, bpf.interp_tstate_head, PyInterpreterState, tstate_head);
	assert_int_equal(MEMBER_SIZE(PyInterpreterState, tstate_head), 8);
	NO_FIELD(L, ts_native_tid); /* no native_thread_id: matched by pthread_t */
	CHECK(L, bpf.ts_frame, PyThreadState, frame);
	assert_int_equal(MEMBER_SIZE(PyThreadState, frame), 8);
	NO_FIELD(L, bpf.cframe_current);
	assert_true(L->bpf.flags & PYL_FRAME_OBJECTS);
	assert_false(L->bpf.flags & (PYL_TSTATE_VIA_CFRAME | PYL_CODE_TAGGED));
#else
	CHECK(L, bpf.interp_tstate_head, PyInterpreterState, threads.head);
	assert_int_equal(MEMBER_SIZE(PyInterpreterState, threads.head), 8);
	CHECK(L, ts_native_tid, PyThreadState, native_thread_id);
	assert_int_equal(MEMBER_SIZE(PyThreadState, native_thread_id), 8);
#if PY_MINOR_VERSION <= 12
	CHECK(L, bpf.ts_frame, PyThreadState, cframe);
	CHECK(L, bpf.cframe_current, _PyCFrame, current_frame);
	assert_int_equal(MEMBER_SIZE(PyThreadState, cframe), 8);
	assert_int_equal(MEMBER_SIZE(_PyCFrame, current_frame), 8);
	assert_true(L->bpf.flags & PYL_TSTATE_VIA_CFRAME);
#else
	CHECK(L, bpf.ts_frame, PyThreadState, current_frame);
	assert_int_equal(MEMBER_SIZE(PyThreadState, current_frame), 8);
	NO_FIELD(L, bpf.cframe_current);
	assert_false(L->bpf.flags & PYL_TSTATE_VIA_CFRAME);
#endif
	assert_false(L->bpf.flags & (PYL_FRAME_OBJECTS | PYL_LASTI_BYTES));
#endif
#if PY_MINOR_VERSION == 9
	assert_true(L->bpf.flags & PYL_LASTI_BYTES); /* f_lasti counts bytes */
#else
	assert_false(L->bpf.flags & PYL_LASTI_BYTES);
#endif
#if PY_MINOR_VERSION >= 14
	assert_true(L->bpf.flags & PYL_CODE_TAGGED); /* f_executable is a _PyStackRef */
	assert_int_equal(MEMBER_SIZE(_PyInterpreterFrame, f_executable), 8);
#else
	assert_false(L->bpf.flags & PYL_CODE_TAGGED);
#endif
}

static void frame(void **state)
{
	(void)state;
	const struct pylayout *L = installed();
	CHECK(L, bpf.fr_code, frame_t, FR_CODE);
	CHECK(L, bpf.fr_previous, frame_t, FR_PREVIOUS);
	CHECK(L, bpf.fr_instr, frame_t, FR_INSTR);
	assert_int_equal(MEMBER_SIZE(frame_t, FR_CODE), 8);
	assert_int_equal(MEMBER_SIZE(frame_t, FR_PREVIOUS), 8);
	assert_in_range(L->bpf.fr_read, MEMBER_END(frame_t, FR_CODE), PYBPF_BUF);
	assert_in_range(L->bpf.fr_read, MEMBER_END(frame_t, FR_PREVIOUS), PYBPF_BUF);
	assert_in_range(L->bpf.fr_read, MEMBER_END(frame_t, FR_INSTR), PYBPF_BUF);
#if PY_MINOR_VERSION <= 10
	assert_int_equal(MEMBER_SIZE(frame_t, f_lasti), 4);
	NO_FIELD(L, bpf.fr_owner);
	NO_FIELD(L, bpf.fr_is_entry);
	assert_int_equal(L->bpf.owner_cstack, PYL_NO_OWNER);
#else
	assert_int_equal(MEMBER_SIZE(frame_t, FR_INSTR), 8);
	CHECK(L, bpf.fr_owner, frame_t, owner);
	assert_int_equal(MEMBER_SIZE(frame_t, owner), 1);
	assert_in_range(L->bpf.fr_read, MEMBER_END(frame_t, owner), PYBPF_BUF);
#if PY_MINOR_VERSION == 11
	CHECK(L, bpf.fr_is_entry, frame_t, is_entry);
	assert_int_equal(MEMBER_SIZE(frame_t, is_entry), 1);
	assert_in_range(L->bpf.fr_read, MEMBER_END(frame_t, is_entry), PYBPF_BUF);
	/* 3.11 has no C-stack shim frames: the owner must match no real owner */
	assert_int_equal(L->bpf.owner_cstack, PYL_NO_OWNER);
	assert_true(L->bpf.owner_cstack != FRAME_OWNED_BY_THREAD &&
		    L->bpf.owner_cstack != FRAME_OWNED_BY_GENERATOR &&
		    L->bpf.owner_cstack != FRAME_OWNED_BY_FRAME_OBJECT);
#else
	NO_FIELD(L, bpf.fr_is_entry);
	assert_true(L->bpf.owner_cstack != FRAME_OWNED_BY_THREAD &&
		    L->bpf.owner_cstack != FRAME_OWNED_BY_GENERATOR &&
		    L->bpf.owner_cstack != FRAME_OWNED_BY_FRAME_OBJECT);
#if PY_MINOR_VERSION <= 13
	/* _PyEval_EvalFrameDefault's entry_frame.owner */
	assert_int_equal(L->bpf.owner_cstack, FRAME_OWNED_BY_CSTACK);
#else
	/* 3.14+: the entry frame (and 3.15's per-thread base_frame) is owned by
	 * FRAME_OWNED_BY_INTERPRETER; 3.14's FRAME_OWNED_BY_CSTACK is never
	 * assigned, 3.15 dropped it */
	assert_int_equal(L->bpf.owner_cstack, FRAME_OWNED_BY_INTERPRETER);
#endif
#endif
#endif
}

static void code(void **state)
{
	(void)state;
	const struct pylayout *L = installed();
	/* the tag hashes 5 contiguous 4-byte ints, immutable after creation */
#if PY_MINOR_VERSION <= 10
	CHECK(L, bpf.co_tag, PyCodeObject, co_kwonlyargcount);
	check_field("co_tag+4", L->bpf.co_tag + 4u, offsetof(PyCodeObject, co_nlocals));
	check_field("co_tag+8", L->bpf.co_tag + 8u, offsetof(PyCodeObject, co_stacksize));
	check_field("co_tag+12", L->bpf.co_tag + 12u, offsetof(PyCodeObject, co_flags));
	check_field("co_tag+16", L->bpf.co_tag + 16u, offsetof(PyCodeObject, co_firstlineno));
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_kwonlyargcount), 4);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_nlocals), 4);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_stacksize), 4);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_flags), 4);
	NO_FIELD(L, bpf.co_code); /* f_lasti is relative to the code already */
	NO_FIELD(L, co_qualname);
#else
	CHECK(L, bpf.co_tag, PyCodeObject, co_argcount);
	check_field("co_tag+4", L->bpf.co_tag + 4u, offsetof(PyCodeObject, co_posonlyargcount));
	check_field("co_tag+8", L->bpf.co_tag + 8u, offsetof(PyCodeObject, co_kwonlyargcount));
	check_field("co_tag+12", L->bpf.co_tag + 12u, offsetof(PyCodeObject, co_stacksize));
	check_field("co_tag+16", L->bpf.co_tag + 16u, offsetof(PyCodeObject, co_firstlineno));
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_argcount), 4);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_posonlyargcount), 4);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_kwonlyargcount), 4);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_stacksize), 4);
	CHECK(L, bpf.co_code, PyCodeObject, co_code_adaptive);
	CHECK(L, co_qualname, PyCodeObject, co_qualname);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_qualname), 8);
#endif
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_firstlineno), 4);
	assert_in_range(L->bpf.co_read, L->bpf.co_tag + 20u, PYBPF_BUF);
	assert_in_range(L->bpf.co_read, L->bpf.ob_type + 8u, PYBPF_BUF);
	CHECK(L, co_filename, PyCodeObject, co_filename);
	CHECK(L, co_name, PyCodeObject, co_name);
	CHECK(L, co_firstlineno, PyCodeObject, co_firstlineno);
#if PY_MINOR_VERSION == 9
	CHECK(L, co_linetable, PyCodeObject, co_lnotab);
#else
	CHECK(L, co_linetable, PyCodeObject, co_linetable);
#endif
	CHECK(L, co_flags, PyCodeObject, co_flags);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_filename), 8);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_name), 8);
	assert_int_equal(MEMBER_SIZE(PyCodeObject, co_flags), 4);
}

static void objects(void **state)
{
	(void)state;
	const struct pylayout *L = installed();
	CHECK(L, bpf.ob_type, PyObject, ob_type);
	CHECK(L, var_size, PyVarObject, ob_size);
	CHECK(L, bytes_sval, PyBytesObject, ob_sval);
	CHECK(L, ascii_state, PyASCIIObject, state);
	CHECK(L, ascii_length, PyASCIIObject, length);
	check_field("ascii_data", L->ascii_data, sizeof(PyASCIIObject));
	check_field("compact_data", L->compact_data, sizeof(PyCompactUnicodeObject));
	/* daemon/pysymbols.c reads the state word as a u32, length as an i64 */
	assert_int_equal(MEMBER_SIZE(PyASCIIObject, state), 4);
	assert_int_equal(MEMBER_SIZE(PyASCIIObject, length), 8);
	assert_int_equal(MEMBER_SIZE(PyVarObject, ob_size), 8);
}

static void gil(void **state)
{
	(void)state;
	const struct pylayout *L = installed();
#if PY_MINOR_VERSION <= 11
	CHECK(L, rt_gil, _PyRuntimeState, ceval.gil);
	NO_FIELD(L, interp_gil_ptr);
#else
	NO_FIELD(L, rt_gil);
	CHECK(L, interp_gil_ptr, PyInterpreterState, ceval.gil);
	assert_int_equal(MEMBER_SIZE(PyInterpreterState, ceval.gil), 8);
#endif
	CHECK(L, bpf.gil_locked, struct _gil_runtime_state, locked);
	CHECK(L, bpf.gil_last_holder, struct _gil_runtime_state, last_holder);
	CHECK(L, gil_switch_number, struct _gil_runtime_state, switch_number);
	/* every futex of the GIL lies in [gil_futex_lo, gil_futex_hi) */
	CHECK(L, bpf.gil_futex_lo, struct _gil_runtime_state, cond);
	check_field("bpf.gil_futex_hi", L->bpf.gil_futex_hi,
		    MEMBER_END(struct _gil_runtime_state, switch_mutex));
	assert_true(offsetof(struct _gil_runtime_state, mutex) > L->bpf.gil_futex_lo);
	assert_true(offsetof(struct _gil_runtime_state, switch_cond) > L->bpf.gil_futex_lo);
	assert_int_equal(offsetof(struct _gil_runtime_state, cond), L->bpf.gil_futex_lo);
	assert_int_equal(MEMBER_SIZE(struct _gil_runtime_state, locked), 4);
	assert_int_equal(MEMBER_SIZE(struct _gil_runtime_state, last_holder), 8);
	assert_int_equal(MEMBER_SIZE(struct _gil_runtime_state, switch_number), 8);
}

#if PY_MINOR_VERSION >= 13
#define DCHECK(M, field, member)                                                                   \
	check_field("debug map " #field, (M)->field, offsetof(_Py_DebugOffsets, member))

static void debug_map(void **state)
{
	(void)state;
	const struct py_debug_map *M = pylayout_debug_map(PY_MAJOR_VERSION, PY_MINOR_VERSION);
	assert_non_null(M);
	assert_int_equal(M->version, PY_VERSION_KEY(PY_MAJOR_VERSION, PY_MINOR_VERSION));
	check_field("debug map size", M->size, sizeof(_Py_DebugOffsets));
	DCHECK(M, cookie, cookie);
	DCHECK(M, dversion, version);
	DCHECK(M, free_threaded, free_threaded);
	DCHECK(M, rt_interp_head, runtime_state.interpreters_head);
	DCHECK(M, interp_next, interpreter_state.next);
	DCHECK(M, interp_tstate_head, interpreter_state.threads_head);
	DCHECK(M, interp_gil_ptr, interpreter_state.ceval_gil);
	DCHECK(M, ts_next, thread_state.next);
	DCHECK(M, ts_native_tid, thread_state.native_thread_id);
	DCHECK(M, ts_thread_id, thread_state.thread_id);
	DCHECK(M, ts_frame, thread_state.current_frame);
	DCHECK(M, fr_code, interpreter_frame.executable);
	DCHECK(M, fr_previous, interpreter_frame.previous);
	DCHECK(M, fr_instr, interpreter_frame.instr_ptr);
	DCHECK(M, fr_owner, interpreter_frame.owner);
	DCHECK(M, co_filename, code_object.filename);
	DCHECK(M, co_name, code_object.name);
	DCHECK(M, co_qualname, code_object.qualname);
	DCHECK(M, co_firstlineno, code_object.firstlineno);
	DCHECK(M, co_linetable, code_object.linetable);
	DCHECK(M, co_code, code_object.co_code_adaptive);
	DCHECK(M, ob_type, pyobject.ob_type);
	DCHECK(M, var_size, bytes_object.ob_size);
	DCHECK(M, bytes_sval, bytes_object.ob_sval);
	DCHECK(M, ascii_length, unicode_object.length);
	DCHECK(M, ascii_data, unicode_object.asciiobject_size);
	DCHECK(M, gil_locked, interpreter_state.gil_runtime_state_locked);
	DCHECK(M, gil_last_holder, interpreter_state.gil_runtime_state_holder);
	/* the embedded _gil's offset (which gil_locked/holder's values are
	 * relative to, from the interpreter start) sits right after ceval_gil */
	assert_int_equal(offsetof(_Py_DebugOffsets, interpreter_state.gil_runtime_state),
			 M->interp_gil_ptr + 8u);
}

#if PY_MINOR_VERSION >= 14
/* What the interpreter stores in each slot (its own initializer): the value
 * found through the map must be the table's value. */
static uint64_t slot(const _Py_DebugOffsets *d, uint16_t off)
{
	uint64_t v;
	assert_true(off + sizeof(v) <= sizeof(*d));
	memcpy(&v, (const char *)d + off, sizeof(v));
	return v;
}

static void debug_map_values(void **state)
{
	(void)state;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
	static const _Py_DebugOffsets d = _Py_DebugOffsets_INIT("xdebugpy");
#pragma GCC diagnostic pop
	const struct pylayout *L = installed();
	const struct py_debug_map *M = pylayout_debug_map(PY_MAJOR_VERSION, PY_MINOR_VERSION);
	uint64_t gil_base = d.interpreter_state.gil_runtime_state;

	assert_memory_equal((const char *)&d + M->cookie, "xdebugpy", 8);
	assert_int_equal(slot(&d, M->dversion) >> 16, PY_VERSION_HEX >> 16);
	assert_int_equal(slot(&d, M->free_threaded), 0);
#define V(field)  check_field("value at debug map " #field, L->field, slot(&d, M->field))
#define VB(field) check_field("value at debug map " #field, L->bpf.field, slot(&d, M->field))
	VB(rt_interp_head);
	VB(interp_next);
	VB(interp_tstate_head);
	V(interp_gil_ptr);
	VB(ts_next);
	V(ts_native_tid);
	VB(ts_thread_id);
	VB(ts_frame);
	VB(fr_code);
	VB(fr_previous);
	VB(fr_instr);
	VB(fr_owner);
	V(co_filename);
	V(co_name);
	V(co_qualname);
	V(co_firstlineno);
	V(co_linetable);
	VB(co_code);
	VB(ob_type);
	V(var_size);
	V(bytes_sval);
	V(ascii_length);
	V(ascii_data);
#undef V
#undef VB
	check_field("debug map gil_locked - gil_runtime_state", L->bpf.gil_locked,
		    slot(&d, M->gil_locked) - gil_base);
	check_field("debug map gil_last_holder - gil_runtime_state", L->bpf.gil_last_holder,
		    slot(&d, M->gil_last_holder) - gil_base);
}
#endif
#else
static void no_debug_map(void **state)
{
	(void)state;
	assert_null(pylayout_debug_map(PY_MAJOR_VERSION, PY_MINOR_VERSION));
}
#endif

/* The raw state word as daemon/pysymbols.c decodes it. */
static uint32_t state_word(const PyASCIIObject *o, const struct pylayout *L)
{
	uint32_t w;
	memcpy(&w, (const char *)o + L->ascii_state, sizeof(w));
	return w;
}

static void unicode_state_bits(void **state)
{
	(void)state;
	const struct pylayout *L = installed();
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
#else
	o.state.statically_allocated = 1;
#endif
	w = state_word(&o, L);
	assert_int_equal((w >> 2) & 7, 4);
	assert_int_equal((w >> 5) & 1, 0);
	assert_int_equal((w >> 6) & 1, 1);
}

static void unicode_state_bits_reverse(void **state)
{
	(void)state;
	const struct pylayout *L = installed();
	PyASCIIObject o;
	uint32_t w = (1u << 2) | (1u << 5) | (1u << 6); /* kind 1, compact, ascii */

	memset(&o, 0, sizeof(o));
	memcpy((char *)&o + L->ascii_state, &w, sizeof(w));
	assert_int_equal(o.state.kind, 1);
	assert_int_equal(o.state.compact, 1);
	assert_int_equal(o.state.ascii, 1);
	assert_int_equal(o.state.interned, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(runtime_interp_thread),
		cmocka_unit_test(frame),
		cmocka_unit_test(code),
		cmocka_unit_test(objects),
		cmocka_unit_test(gil),
#if PY_MINOR_VERSION >= 13
		cmocka_unit_test(debug_map),
#if PY_MINOR_VERSION >= 14
		cmocka_unit_test(debug_map_values),
#endif
#else
		cmocka_unit_test(no_debug_map),
#endif
		cmocka_unit_test(unicode_state_bits),
		cmocka_unit_test(unicode_state_bits_reverse),
	};
	printf("test_pylayout: against the CPython %s headers\n", PY_VERSION);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
