/* pylayout.c - the table of CPython layouts, one record per minor version.
 *
 * Every offset is offsetof() / sizeof() against that version's own headers
 * (Include/internal/pycore_runtime.h, pycore_interp.h, pycore_frame.h,
 * Include/cpython/pystate.h, code.h, unicodeobject.h, pycore_gil.h ...), for
 * x86_64 release builds with the GIL.  tests/data/layout_probe.c prints a
 * record from the headers it is compiled against; tests/unit/test_pylayout.c
 * checks the record of whichever version's headers it is built with, field
 * by field.  Provenance of each record is given above it.
 *
 * Free-threaded builds (3.13t, 3.14t: Py_GIL_DISABLED) have other object
 * headers and frame layouts; they are refused, and have no record here.
 *
 * Frame ownership (what ends a run of Python frames entered from C):
 *   3.9, 3.10  every PyFrameObject runs in its own _PyEval_EvalFrameDefault
 *              call (PYL_FRAME_OBJECTS): no owner field.
 *   3.11       _PyInterpreterFrame.is_entry marks the frame an eval call
 *              started with; owners are THREAD 0, GENERATOR 1,
 *              FRAME_OBJECT 2, and no shim frame exists.
 *   3.12, 3.13 _PyEval_EvalFrameDefault pushes a shim entry_frame on its C
 *              stack, owner FRAME_OWNED_BY_CSTACK (3), f_code/f_executable
 *              None, linked under the frame it runs (3.12.5 and 3.13.5
 *              Python/ceval.c: entry_frame.owner = FRAME_OWNED_BY_CSTACK).
 *   3.14       the enum gains FRAME_OWNED_BY_INTERPRETER = 3 and moves CSTACK
 *              to 4, but the entry frame (_PyEntryFrame, 3.14.7 ceval.c) is
 *              entry.frame.owner = FRAME_OWNED_BY_INTERPRETER (3); CSTACK (4)
 *              is assigned nowhere in the 3.14 tree (only the remote
 *              debugger compares against it).  So the shim owner is 3.
 *   3.15       FRAME_OWNED_BY_CSTACK is gone from the enum; the entry frame is
 *              still FRAME_OWNED_BY_INTERPRETER (3), and so is the new
 *              per-thread sentinel _PyThreadStateImpl.base_frame at the
 *              bottom of every thread's chain (tstate->base_frame points at
 *              it).  Skipping owner 3 covers both.
 * No version has an owner value that marks a Python frame itself as entered
 * from C, so the records carry only the owner of shim frames to skip.
 *
 * fr_read, co_read and co_tag are not written here: pylayout_derive()
 * computes them from the offsets (for these records and for those a
 * process's _Py_DebugOffsets correct alike).
 *
 * PyASCIIObject.state, for every version here (GIL builds): interned bits
 * 0-1, kind bits 2-4, compact bit 5, ascii bit 6 (bit 7: ready <= 3.11,
 * statically_allocated >= 3.12), in a 4-byte word at offset 32.  3.14 moved
 * the bit-fields into struct _PyUnicodeObject_state (aligned 4) and makes
 * `interned` a whole byte only under Py_GIL_DISABLED, which shifts kind to
 * bits 8-10 there: one more reason free-threaded builds are refused.
 *
 * The GIL: <= 3.11 it is embedded in _PyRuntime (ceval.gil, rt_gil); from
 * 3.12 each interpreter points at its own (interp->ceval.gil, interp_gil_ptr;
 * the main interpreter's points at its embedded interp->_gil).  The fields
 * inside struct _gil_runtime_state are the same in every version, and so is
 * FORCE_SWITCHING: cond, mutex, switch_cond, switch_mutex follow each other
 * from offset 32 to 208. */
#include "pylayout.h"

#include <pthread.h>

static struct pylayout
	layouts[] =
		{
			{
				/* CPython 3.9: offsetof() against Debian bullseye's 3.9.2 headers
				 * (tests/data/layout_probe.c), checked live on its python3.9.
				 * PyFrameObject chain from tstate->frame; f_lasti counts bytes;
				 * co_lnotab; no native_thread_id: the BPF side matches thread_id
				 * (the pthread_t) against the task's fs base. */
				.version = PY_VERSION_KEY(3, 9),
				.bpf =
					{
						.flags = PYL_FRAME_OBJECTS | PYL_LASTI_BYTES,
						.rt_interp_head = 32,
						.interp_next = 0,
						.interp_tstate_head = 8, /* tstate_head */
						.ts_next = 8,
						.ts_thread_id = 176,
						.ts_frame = 24, /* frame (PyFrameObject *) */
						.cframe_current = PYL_NO_FIELD,
						.fr_code = 32,	   /* f_code */
						.fr_previous = 24, /* f_back */
						.fr_instr = 104,   /* f_lasti (int, bytes) */
						.fr_owner = PYL_NO_FIELD,
						.fr_is_entry = PYL_NO_FIELD,
						.owner_cstack = PYL_NO_OWNER,
						.co_code = PYL_NO_FIELD,
						.ob_type = 8,
						.gil_locked = 16,
						.gil_last_holder = 8,
						.gil_futex_lo = 32,  /* cond */
						.gil_futex_hi = 208, /* the end of switch_mutex */
					},
				.ts_native_tid = PYL_NO_FIELD,
				.co_filename = 104,
				.co_name = 112,
				.co_qualname = PYL_NO_FIELD,
				.co_firstlineno = 40,
				.co_linetable = 120, /* co_lnotab */
				.co_flags = 36,
				.var_size = 16,
				.bytes_sval = 32,
				.ascii_state = 32,
				.ascii_length = 16,
				.ascii_data = 48,
				.compact_data = 72,
				.rt_gil = 352, /* _PyRuntime.ceval.gil */
				.interp_gil_ptr = PYL_NO_FIELD,
				.gil_switch_number = 24,
			},
			{
				/* CPython 3.10: NOT from a tested interpreter (3.10 is in no
				 * Debian archive here).  Derived from the v3.10.7 headers
				 * (Include/cpython/pystate.h, frameobject.h, code.h,
				 * Include/internal/pycore_runtime.h, pycore_interp.h,
				 * pycore_gil.h) by hand for x86_64, and the same headers compiled
				 * through tests/data/layout_probe.c with a stand-in x86_64
				 * pyconfig.h gave the same numbers.  Against 3.9: the runtime,
				 * interpreter, code object and GIL are laid out alike (co_lnotab
				 * became co_linetable in place); PyFrameObject lost f_stacktop
				 * (f_lasti 104 -> 96, now counting code units); PyThreadState
				 * replaced overflowed/recursion_critical/use_tracing by
				 * recursion_headroom and a CFrame pointer, thread_id staying at
				 * 176. */
				.version = PY_VERSION_KEY(3, 10),
				.bpf =
					{
						.flags = PYL_FRAME_OBJECTS,
						.rt_interp_head = 32,
						.interp_next = 0,
						.interp_tstate_head = 8, /* tstate_head */
						.ts_next = 8,
						.ts_thread_id = 176,
						.ts_frame = 24, /* frame (PyFrameObject *) */
						.cframe_current = PYL_NO_FIELD,
						.fr_code = 32,	   /* f_code */
						.fr_previous = 24, /* f_back */
						.fr_instr = 96,	   /* f_lasti (int, code units) */
						.fr_owner = PYL_NO_FIELD,
						.fr_is_entry = PYL_NO_FIELD,
						.owner_cstack = PYL_NO_OWNER,
						.co_code = PYL_NO_FIELD,
						.ob_type = 8,
						.gil_locked = 16,
						.gil_last_holder = 8,
						.gil_futex_lo = 32,  /* cond */
						.gil_futex_hi = 208, /* the end of switch_mutex */
					},
				.ts_native_tid = PYL_NO_FIELD,
				.co_filename = 104,
				.co_name = 112,
				.co_qualname = PYL_NO_FIELD,
				.co_firstlineno = 40,
				.co_linetable = 120,
				.co_flags = 36,
				.var_size = 16,
				.bytes_sval = 32,
				.ascii_state = 32,
				.ascii_length = 16,
				.ascii_data = 48,
				.compact_data = 72,
				.rt_gil = 352, /* _PyRuntime.ceval.gil */
				.interp_gil_ptr = PYL_NO_FIELD,
				.gil_switch_number = 24,
			},
			{
				/* CPython 3.11: offsetof() against the host's Debian 3.11.2
				 * headers, checked live on the host's python3.11.
				 * _PyInterpreterFrame chain under tstate->cframe, is_entry,
				 * location-table line numbers, co_qualname. */
				.version = PY_VERSION_KEY(3, 11),
				.bpf =
					{
						.flags = PYL_TSTATE_VIA_CFRAME,
						.rt_interp_head = 40,
						.interp_next = 0,
						.interp_tstate_head = 16, /* threads.head */
						.ts_next = 8,
						.ts_thread_id = 152,
						.ts_frame = 56, /* cframe */
						.cframe_current = 8,
						.fr_code = 32,	   /* f_code */
						.fr_previous = 48, /* previous */
						.fr_instr = 56,	   /* prev_instr */
						.fr_owner = 69,
						.fr_is_entry = 68,
						.owner_cstack = PYL_NO_OWNER,
						.co_code = 184,
						.ob_type = 8,
						.gil_locked = 16,
						.gil_last_holder = 8,
						.gil_futex_lo = 32,  /* cond */
						.gil_futex_hi = 208, /* the end of switch_mutex */
					},
				.ts_native_tid = 160,
				.co_filename = 112,
				.co_name = 120,
				.co_qualname = 128,
				.co_firstlineno = 72,
				.co_linetable = 136,
				.co_flags = 48,
				.var_size = 16,
				.bytes_sval = 32,
				.ascii_state = 32,
				.ascii_length = 16,
				.ascii_data = 48,
				.compact_data = 72,
				.rt_gil = 360, /* _PyRuntime.ceval.gil */
				.interp_gil_ptr = PYL_NO_FIELD,
				.gil_switch_number = 24,
			},
			{
				/* CPython 3.12: NOT from a tested interpreter (3.12 is in no
				 * Debian archive here).  Derived from the v3.12.5 headers
				 * (Include/cpython/pystate.h, code.h, unicodeobject.h,
				 * Include/internal/pycore_frame.h, pycore_interp.h,
				 * pycore_runtime.h, pycore_ceval_state.h, pycore_gc.h,
				 * pycore_gil.h) by hand for x86_64, and the same headers compiled
				 * through tests/data/layout_probe.c with a stand-in x86_64
				 * pyconfig.h gave the same numbers.  Against 3.11/3.13: the frame
				 * is 3.13's with f_code/prev_instr in place of
				 * f_executable/instr_ptr (f_code first, owner at 70 after
				 * return_offset); _PyCFrame is {current_frame, previous}, so
				 * current_frame moved to 0; the code object is 3.13's up to
				 * co_code_adaptive (192: 3.13 added one pointer before it);
				 * PyASCIIObject lost wstr (40 / 56, as in 3.13); the GIL moved to
				 * the interpreter: interp->ceval.gil at 384 (ceval at 368, after
				 * threads at 64, runtime, _finalizing and a 240-byte gc state).
				 * Entry frames: a shim owned by FRAME_OWNED_BY_CSTACK (3). */
				.version = PY_VERSION_KEY(3, 12),
				.bpf =
					{
						.flags = PYL_TSTATE_VIA_CFRAME,
						.rt_interp_head = 40,
						.interp_next = 0,
						.interp_tstate_head = 72, /* threads.head */
						.ts_next = 8,
						.ts_thread_id = 136,
						.ts_frame = 56, /* cframe */
						.cframe_current = 0,
						.fr_code = 0,	  /* f_code */
						.fr_previous = 8, /* previous */
						.fr_instr = 56,	  /* prev_instr */
						.fr_owner = 70,
						.fr_is_entry = PYL_NO_FIELD,
						.owner_cstack = 3, /* FRAME_OWNED_BY_CSTACK */
						.co_code = 192,
						.ob_type = 8,
						.gil_locked = 16,
						.gil_last_holder = 8,
						.gil_futex_lo = 32,  /* cond */
						.gil_futex_hi = 208, /* the end of switch_mutex */
					},
				.ts_native_tid = 144,
				.co_filename = 112,
				.co_name = 120,
				.co_qualname = 128,
				.co_firstlineno = 68,
				.co_linetable = 136,
				.co_flags = 48,
				.var_size = 16,
				.bytes_sval = 32,
				.ascii_state = 32,
				.ascii_length = 16,
				.ascii_data = 40,
				.compact_data = 56,
				.rt_gil = PYL_NO_FIELD,
				.interp_gil_ptr = 384, /* interp->ceval.gil */
				.gil_switch_number = 24,
			},
			{
				/* CPython 3.13: offsetof() against Debian trixie's 3.13.5
				 * headers, checked live (its _Py_DebugOffsets) on its python3.13.
				 * tstate->current_frame directly; f_executable an untagged
				 * PyObject *; entry shim owner FRAME_OWNED_BY_CSTACK (3). */
				.version = PY_VERSION_KEY(3, 13),
				.bpf =
					{
						.flags = 0,
						.rt_interp_head = 632,
						.interp_next = 7264,
						.interp_tstate_head = 7344, /* threads.head */
						.ts_next = 8,
						.ts_thread_id = 152,
						.ts_frame = 72, /* current_frame */
						.cframe_current = PYL_NO_FIELD,
						.fr_code = 0,	  /* f_executable */
						.fr_previous = 8, /* previous */
						.fr_instr = 56,	  /* instr_ptr */
						.fr_owner = 70,
						.fr_is_entry = PYL_NO_FIELD,
						.owner_cstack = 3, /* FRAME_OWNED_BY_CSTACK */
						.co_code = 200,
						.ob_type = 8,
						.gil_locked = 16,
						.gil_last_holder = 8,
						.gil_futex_lo = 32,  /* cond */
						.gil_futex_hi = 208, /* the end of switch_mutex */
					},
				.ts_native_tid = 160,
				.co_filename = 112,
				.co_name = 120,
				.co_qualname = 128,
				.co_firstlineno = 68,
				.co_linetable = 136,
				.co_flags = 48,
				.var_size = 16,
				.bytes_sval = 32,
				.ascii_state = 32,
				.ascii_length = 16,
				.ascii_data = 40,
				.compact_data = 56,
				.rt_gil = PYL_NO_FIELD,
				.interp_gil_ptr = 16, /* interp->ceval.gil */
				.gil_switch_number = 24,
			},
			{
				/* CPython 3.14: offsetof() against Debian sid's 3.14 headers
				 * (3.14.10), checked live (its _Py_DebugOffsets) on its
				 * python3.14.  f_executable is a tagged _PyStackRef; the entry
				 * shim is owned by FRAME_OWNED_BY_INTERPRETER (3), not
				 * FRAME_OWNED_BY_CSTACK (4, never assigned in 3.14). */
				.version = PY_VERSION_KEY(3, 14),
				.bpf =
					{
						.flags = PYL_CODE_TAGGED,
						.rt_interp_head = 808,
						.interp_next = 7272,
						.interp_tstate_head = 7344, /* threads.head */
						.ts_next = 8,
						.ts_thread_id = 152,
						.ts_frame = 72, /* current_frame */
						.cframe_current = PYL_NO_FIELD,
						.fr_code = 0,	  /* f_executable (_PyStackRef) */
						.fr_previous = 8, /* previous */
						.fr_instr = 56,	  /* instr_ptr */
						.fr_owner = 74,
						.fr_is_entry = PYL_NO_FIELD,
						.owner_cstack = 3, /* FRAME_OWNED_BY_INTERPRETER */
						.co_code = 208,
						.ob_type = 8,
						.gil_locked = 16,
						.gil_last_holder = 8,
						.gil_futex_lo = 32,  /* cond */
						.gil_futex_hi = 208, /* the end of switch_mutex */
					},
				.ts_native_tid = 160,
				.co_filename = 112,
				.co_name = 120,
				.co_qualname = 128,
				.co_firstlineno = 68,
				.co_linetable = 136,
				.co_flags = 48,
				.var_size = 16,
				.bytes_sval = 32,
				.ascii_state = 32,
				.ascii_length = 16,
				.ascii_data = 40,
				.compact_data = 56,
				.rt_gil = PYL_NO_FIELD,
				.interp_gil_ptr = 16, /* interp->ceval.gil */
				.gil_switch_number = 24,
			},
			{
				/* CPython 3.15: offsetof() against Debian sid's 3.15 headers
				 * (3.15.2), checked live (its _Py_DebugOffsets) on its
				 * python3.15.  As 3.14, but PyThreadState grew base_frame and
				 * last_profiled_frame{,_seq} before thread_id, and the
				 * interpreter and runtime states moved.  FRAME_OWNED_BY_CSTACK
				 * no longer exists; entry frames and the per-thread base_frame
				 * sentinel are owned by FRAME_OWNED_BY_INTERPRETER (3). */
				.version = PY_VERSION_KEY(3, 15),
				.bpf =
					{
						.flags = PYL_CODE_TAGGED,
						.rt_interp_head = 936,
						.interp_next = 7264,
						.interp_tstate_head = 7336, /* threads.head */
						.ts_next = 8,
						.ts_thread_id = 176,
						.ts_frame = 72, /* current_frame */
						.cframe_current = PYL_NO_FIELD,
						.fr_code = 0,	  /* f_executable (_PyStackRef) */
						.fr_previous = 8, /* previous */
						.fr_instr = 56,	  /* instr_ptr */
						.fr_owner = 74,
						.fr_is_entry = PYL_NO_FIELD,
						.owner_cstack = 3, /* FRAME_OWNED_BY_INTERPRETER */
						.co_code = 208,
						.ob_type = 8,
						.gil_locked = 16,
						.gil_last_holder = 8,
						.gil_futex_lo = 32,  /* cond */
						.gil_futex_hi = 208, /* the end of switch_mutex */
					},
				.ts_native_tid = 184,
				.co_filename = 112,
				.co_name = 120,
				.co_qualname = 128,
				.co_firstlineno = 68,
				.co_linetable = 136,
				.co_flags = 48,
				.var_size = 16,
				.bytes_sval = 32,
				.ascii_state = 32,
				.ascii_length = 16,
				.ascii_data = 40,
				.compact_data = 56,
				.rt_gil = PYL_NO_FIELD,
				.interp_gil_ptr = 16, /* interp->ceval.gil */
				.gil_switch_number = 24,
			},
};

/* Where each value sits inside _Py_DebugOffsets (offsetof() against the same
 * headers as the records above; tests/data/layout_probe.c prints these too),
 * checked live against the cookie, version and offsets the running
 * interpreters carry at the start of _PyRuntime.
 *
 * Each slot holds a u64.  Two kinds of slot need care:
 *   interp_gil_ptr  is interpreter_state.ceval_gil: the offset of the
 *                   *pointer* interp->ceval.gil (what the table's
 *                   interp_gil_ptr means), not interpreter_state.
 *                   gil_runtime_state, which is the offset of the embedded
 *                   interp->_gil struct (the slot after ceval_gil in all three
 *                   versions).
 *   gil_locked,     are interpreter_state.gil_runtime_state_locked/_holder:
 *   gil_last_holder offsets from the start of the interpreter state into its
 *                   embedded _gil (e.g. 7768 on 3.13), not offsets inside
 *                   struct _gil_runtime_state like the table's (16 and 8).
 *                   Subtract the value of interpreter_state.gil_runtime_state
 *                   to compare them with the table.
 * _Py_DebugOffsets has no slot for the _PyCFrame (gone in 3.13), is_entry,
 * the code tag ints other than argcount/firstlineno, the unicode state word
 * or the GIL's switch_number/cond/mutex: those come from the table only. */
static const struct py_debug_map debug_maps[] = {
	{
		/* 3.13.5: sizeof(_Py_DebugOffsets) 584 */
		.version = PY_VERSION_KEY(3, 13),
		.size = 584,
		.cookie = 0,
		.dversion = 8,
		.free_threaded = 16,
		.rt_interp_head = 40,
		.interp_next = 64,
		.interp_tstate_head = 72,
		.interp_gil_ptr = 112,
		.ts_next = 168,
		.ts_native_tid = 200,
		.ts_thread_id = 192,
		.ts_frame = 184,
		.fr_code = 240,
		.fr_previous = 232,
		.fr_instr = 248,
		.fr_owner = 264,
		.co_filename = 280,
		.co_name = 288,
		.co_qualname = 296,
		.co_firstlineno = 312,
		.co_linetable = 304,
		.co_code = 344,
		.ob_type = 360,
		.var_size = 520,
		.bytes_sval = 528,
		.ascii_length = 552,
		.ascii_data = 560,
		.gil_locked = 136,
		.gil_last_holder = 144,
	},
	{
		/* 3.14.10: sizeof(_Py_DebugOffsets) 760; interpreter_state gained
		 * threads_main (after threads_head), code_object_generation and
		 * tlbc_generation; interpreter_frame stackpointer and tlbc_index;
		 * code_object co_tlbc; a set_object section before dict_object;
		 * gen_object, llist_node and debugger_support sections at the end. */
		.version = PY_VERSION_KEY(3, 14),
		.size = 760,
		.cookie = 0,
		.dversion = 8,
		.free_threaded = 16,
		.rt_interp_head = 40,
		.interp_next = 64,
		.interp_tstate_head = 72,
		.interp_gil_ptr = 120,
		.ts_next = 192,
		.ts_native_tid = 224,
		.ts_thread_id = 216,
		.ts_frame = 208,
		.fr_code = 264,
		.fr_previous = 256,
		.fr_instr = 272,
		.fr_owner = 288,
		.co_filename = 320,
		.co_name = 328,
		.co_qualname = 336,
		.co_firstlineno = 352,
		.co_linetable = 344,
		.co_code = 384,
		.ob_type = 408,
		.var_size = 600,
		.bytes_sval = 608,
		.ascii_length = 632,
		.ascii_data = 640,
		.gil_locked = 144,
		.gil_last_holder = 152,
	},
	{
		/* 3.15.2: sizeof(_Py_DebugOffsets) 888; thread_state gained
		 * base_frame, last_profiled_frame{,_seq}, holds_gil, gil_requested,
		 * current_exception, exc_state; an err_stackitem section follows
		 * it, and type/heap-type/unicode/gc sections grew. */
		.version = PY_VERSION_KEY(3, 15),
		.size = 888,
		.cookie = 0,
		.dversion = 8,
		.free_threaded = 16,
		.rt_interp_head = 40,
		.interp_next = 64,
		.interp_tstate_head = 72,
		.interp_gil_ptr = 120,
		.ts_next = 192,
		.ts_native_tid = 248,
		.ts_thread_id = 240,
		.ts_frame = 208,
		.fr_code = 328,
		.fr_previous = 320,
		.fr_instr = 336,
		.fr_owner = 352,
		.co_filename = 384,
		.co_name = 392,
		.co_qualname = 400,
		.co_firstlineno = 416,
		.co_linetable = 408,
		.co_code = 448,
		.ob_type = 472,
		.var_size = 696,
		.bytes_sval = 704,
		.ascii_length = 728,
		.ascii_data = 736,
		.gil_locked = 144,
		.gil_last_holder = 152,
	},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static uint16_t round8(unsigned v)
{
	return (uint16_t)((v + 7) & ~7u);
}

static unsigned field_end(uint16_t off, unsigned width)
{
	return off == PYL_NO_FIELD ? 0 : off + width;
}

static unsigned max_u(unsigned a, unsigned b)
{
	return a > b ? a : b;
}

void pylayout_derive(struct pylayout *L)
{
	struct py_layout *k = &L->bpf;
	/* f_lasti is an int; prev_instr / instr_ptr a pointer */
	unsigned instr = k->flags & PYL_FRAME_OBJECTS ? 4 : 8;
	unsigned fr = max_u(field_end(k->fr_code, 8), field_end(k->fr_previous, 8));
	fr = max_u(fr, field_end(k->fr_instr, instr));
	fr = max_u(fr, max_u(field_end(k->fr_owner, 1), field_end(k->fr_is_entry, 1)));
	k->fr_read = round8(fr);
	/* co_argcount (or co_kwonlyargcount) .. co_firstlineno: five ints */
	k->co_tag = (uint16_t)(L->co_firstlineno - 16);
	k->co_read = round8(max_u(field_end(k->ob_type, 8), field_end(L->co_firstlineno, 4)));
	/* a coroutine's frame lives in its coroutine object (3.11+), owned by it
	 * (FRAME_OWNED_BY_GENERATOR, 1 in every version that has owners) */
	k->owner_gen = PYL_NO_OWNER;
	k->co_flags = L->co_flags;
	if (k->fr_owner != PYL_NO_FIELD && !(k->flags & PYL_FRAME_OBJECTS)) {
		k->owner_gen = 1;
		k->co_read = round8(max_u(k->co_read, field_end(L->co_flags, 4)));
	}
}

static pthread_once_t derived = PTHREAD_ONCE_INIT;

static void derive_all(void)
{
	for (size_t i = 0; i < COUNT(layouts); i++)
		pylayout_derive(&layouts[i]);
}

const struct pylayout *pylayout_find(unsigned major, unsigned minor)
{
	pthread_once(&derived, derive_all);
	for (size_t i = 0; i < COUNT(layouts); i++)
		if (layouts[i].version == PY_VERSION_KEY(major, minor))
			return &layouts[i];
	return NULL;
}

const struct py_debug_map *pylayout_debug_map(unsigned major, unsigned minor)
{
	for (size_t i = 0; i < COUNT(debug_maps); i++)
		if (debug_maps[i].version == PY_VERSION_KEY(major, minor))
			return &debug_maps[i];
	return NULL;
}

const struct pylayout *pylayout_all(size_t *n)
{
	pthread_once(&derived, derive_all);
	*n = COUNT(layouts);
	return layouts;
}

const char *pylayout_supported(void)
{
	return "3.9 3.10 3.11 3.12 3.13 3.14 3.15";
}
