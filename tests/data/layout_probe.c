/* layout_probe.c - prints, for the CPython whose headers it is compiled
 * against, the C initializer of that version's struct pylayout record
 * (daemon/python/pylayout.c) and, for 3.13+, of its struct py_debug_map, computed
 * with offsetof()/sizeof() from the interpreter's own headers.  The output
 * is meant to be pasted into daemon/python/pylayout.c (or diffed against it).
 *
 * Build it against the headers of one version: the include directory of the
 * version, the directory of its x86_64 pyconfig.h, and (for a Debian root
 * other than the host) -idirafter ROOT/usr/include, because Debian's
 * python3.X/pyconfig.h does #include <x86_64-linux-gnu/python3.X/pyconfig.h>.
 * -idirafter keeps the host's libc headers first.
 *
 *   probe() {  # probe ROOT MINOR   (ROOT empty for the host)
 *     R=$1; V=python3.$2
 *     gcc -std=gnu11 -Wall -Wextra -DPy_BUILD_CORE=1 \
 *         -I$R/usr/include/$V -I$R/usr/include/x86_64-linux-gnu/$V \
 *         -idirafter $R/usr/include \
 *         tests/data/layout_probe.c -o /tmp/layout_probe_3$2 && /tmp/layout_probe_3$2
 *   }
 *   probe /var/cache/pybpf/roots/bullseye 9    # Debian bullseye, 3.9
 *   probe "" 11                                # the host, 3.11
 *   probe /var/cache/pybpf/roots/trixie 13     # Debian trixie, 3.13
 *   probe /var/cache/pybpf/roots/sid 14        # Debian sid, 3.14
 *   probe /var/cache/pybpf/roots/sid 15        # Debian sid, 3.15
 *
 * 3.10 and 3.12 are not in Debian's archives.  With a CPython source tree of
 * that version (its Include/ directory) and any x86_64 GIL-build pyconfig.h
 * (the struct layouts used here depend on none of its HAVE_* macros, only on
 * Py_DEBUG / Py_TRACE_REFS / Py_GIL_DISABLED, which must all be off):
 *
 *   gcc -std=gnu11 -DPy_BUILD_CORE=1 -I/dir/with/pyconfig -ISRC/Include \
 *       tests/data/layout_probe.c -o /tmp/layout_probe && /tmp/layout_probe
 *
 * Debian builds 3.14 and 3.15 with --enable-experimental-jit=yes-off, i.e.
 * -D_Py_TIER2=3 -D_Py_JIT in the core's CFLAGS (see sysconfig's
 * CONFIGURE_CFLAGS_NODIST).  Adding them changes nothing printed here: in
 * 3.15 they only add a pointer at the end of _PyThreadStateImpl (so
 * sizeof(_PyRuntimeState) is 8 bytes larger than without them).
 *
 * Free-threaded builds (Py_GIL_DISABLED, 3.13t/3.14t) are refused by pybpf
 * and refused here.  The probe includes no pybpf header: flag and sentinel
 * names are printed as text. */
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

#include <stddef.h>
#include <stdio.h>

#if PY_MAJOR_VERSION != 3 || PY_MINOR_VERSION < 9
#error "pybpf supports CPython 3.9 and later"
#endif
#ifdef Py_GIL_DISABLED
#error "free-threaded builds are not supported"
#endif
#if defined(Py_DEBUG) || defined(Py_TRACE_REFS)
#error "debug builds change the object header: probe a release build"
#endif

#define MEMBER_SIZE(type, member) sizeof(((type *)0)->member)

/* The five ints the code tag hashes must be contiguous 4-byte ints. */
#define TAG_AT(member, n)                                                                          \
	_Static_assert(offsetof(PyCodeObject, member) == offsetof(PyCodeObject, TAG_FIRST) + (n),  \
		       "code tag: " #member);                                                      \
	_Static_assert(MEMBER_SIZE(PyCodeObject, member) == 4, "code tag: " #member)
#if PY_MINOR_VERSION <= 10
/* co_kwonlyargcount, co_nlocals, co_stacksize, co_flags, co_firstlineno:
 * set once by PyCode_New*() and never written again (the 3.11+ tag also ends
 * at co_firstlineno, the field that best tells two code objects apart). */
#define TAG_FIRST co_kwonlyargcount
TAG_AT(co_kwonlyargcount, 0);
TAG_AT(co_nlocals, 4);
TAG_AT(co_stacksize, 8);
TAG_AT(co_flags, 12);
TAG_AT(co_firstlineno, 16);
#else
/* co_argcount, co_posonlyargcount, co_kwonlyargcount, co_stacksize,
 * co_firstlineno */
#define TAG_FIRST co_argcount
TAG_AT(co_argcount, 0);
TAG_AT(co_posonlyargcount, 4);
TAG_AT(co_kwonlyargcount, 8);
TAG_AT(co_stacksize, 12);
TAG_AT(co_firstlineno, 16);
#endif

/* The frame struct and the member names that differ by version. */
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

#define END(type, member) (offsetof(type, member) + MEMBER_SIZE(type, member))
#define MAX(a, b)	  ((a) > (b) ? (a) : (b))
#define ROUND8(n)	  (((n) + 7) / 8 * 8)

static const char *indent = "\t\t";

static void sym(const char *name, const char *value)
{
	printf("%s.%s = %s,\n", indent, name, value);
}

#define F(name, value)	   printf("%s.%s = %zu,\n", indent, #name, (size_t)(value))
#define FC(name, value, c) printf("%s.%s = %zu, /* %s */\n", indent, #name, (size_t)(value), c)

/* What the BPF side reads: struct py_layout, the record's .bpf. */
static void layout_bpf(void)
{
	indent = "\t\t\t";
	printf("\t\t.bpf = {\n");
#if PY_MINOR_VERSION == 9
	sym("flags", "PYL_FRAME_OBJECTS | PYL_LASTI_BYTES");
#elif PY_MINOR_VERSION == 10
	sym("flags", "PYL_FRAME_OBJECTS");
#elif PY_MINOR_VERSION <= 12
	sym("flags", "PYL_TSTATE_VIA_CFRAME");
#elif PY_MINOR_VERSION == 13
	sym("flags", "0");
#else
	sym("flags", "PYL_CODE_TAGGED");
#endif
	F(rt_interp_head, offsetof(_PyRuntimeState, interpreters.head));
	F(interp_next, offsetof(PyInterpreterState, next));
#if PY_MINOR_VERSION <= 10
	FC(interp_tstate_head, offsetof(PyInterpreterState, tstate_head), "tstate_head");
#else
	FC(interp_tstate_head, offsetof(PyInterpreterState, threads.head), "threads.head");
#endif
	F(ts_next, offsetof(PyThreadState, next));
	F(ts_thread_id, offsetof(PyThreadState, thread_id));
#if PY_MINOR_VERSION <= 10
	FC(ts_frame, offsetof(PyThreadState, frame), "frame (PyFrameObject *)");
	sym("cframe_current", "PYL_NO_FIELD");
#elif PY_MINOR_VERSION <= 12
	FC(ts_frame, offsetof(PyThreadState, cframe), "cframe");
	F(cframe_current, offsetof(_PyCFrame, current_frame));
#else
	FC(ts_frame, offsetof(PyThreadState, current_frame), "current_frame");
	sym("cframe_current", "PYL_NO_FIELD");
#endif
	FC(fr_code, offsetof(frame_t, FR_CODE), PY_MINOR_VERSION >= 13 ? "f_executable" : "f_code");
	FC(fr_previous, offsetof(frame_t, FR_PREVIOUS),
	   PY_MINOR_VERSION <= 10 ? "f_back" : "previous");
	FC(fr_instr, offsetof(frame_t, FR_INSTR),
	   PY_MINOR_VERSION <= 10   ? "f_lasti"
	   : PY_MINOR_VERSION <= 12 ? "prev_instr"
				    : "instr_ptr");
#if PY_MINOR_VERSION <= 10
	sym("fr_owner", "PYL_NO_FIELD");
#else
	F(fr_owner, offsetof(frame_t, owner));
#endif
#if PY_MINOR_VERSION == 11
	F(fr_is_entry, offsetof(frame_t, is_entry));
#else
	sym("fr_is_entry", "PYL_NO_FIELD");
#endif
#if PY_MINOR_VERSION <= 11
	sym("owner_cstack", "PYL_NO_OWNER");
#elif PY_MINOR_VERSION <= 13
	FC(owner_cstack, FRAME_OWNED_BY_CSTACK, "FRAME_OWNED_BY_CSTACK");
#else
	FC(owner_cstack, FRAME_OWNED_BY_INTERPRETER, "FRAME_OWNED_BY_INTERPRETER");
#endif
#if PY_MINOR_VERSION <= 10
	sym("co_code", "PYL_NO_FIELD");
#else
	FC(co_code, offsetof(PyCodeObject, co_code_adaptive), "co_code_adaptive");
#endif
	F(ob_type, offsetof(PyObject, ob_type));
	F(gil_locked, offsetof(struct _gil_runtime_state, locked));
	F(gil_last_holder, offsetof(struct _gil_runtime_state, last_holder));
	FC(gil_futex_lo, offsetof(struct _gil_runtime_state, cond), "cond");
	FC(gil_futex_hi, END(struct _gil_runtime_state, switch_mutex), "the end of switch_mutex");
	printf("\t\t},\n");
	indent = "\t\t";
}

/* What pylayout_derive() must compute from the offsets above. */
static void derived(void)
{
	size_t fr = MAX(END(frame_t, FR_CODE), END(frame_t, FR_PREVIOUS));
	fr = MAX(fr, END(frame_t, FR_INSTR));
#if PY_MINOR_VERSION >= 11
	fr = MAX(fr, END(frame_t, owner));
#endif
#if PY_MINOR_VERSION == 11
	fr = MAX(fr, END(frame_t, is_entry));
#endif
	size_t co = MAX(END(PyObject, ob_type), offsetof(PyCodeObject, TAG_FIRST) + 20);
	printf("\t\t/* derived: fr_read %zu, co_read %zu, co_tag %zu (%s) */\n", (size_t)ROUND8(fr),
	       (size_t)ROUND8(co), offsetof(PyCodeObject, TAG_FIRST),
	       PY_MINOR_VERSION <= 10 ? "co_kwonlyargcount .. co_firstlineno"
				      : "co_argcount .. co_firstlineno");
}

static void layout(void)
{
	printf("\t{\n\t\t/* CPython %s: offsetof() against its headers */\n", PY_VERSION);
	printf("\t\t.version = PY_VERSION_KEY(%d, %d),\n", PY_MAJOR_VERSION, PY_MINOR_VERSION);
	layout_bpf();
	derived();
#if PY_MINOR_VERSION <= 10
	sym("ts_native_tid", "PYL_NO_FIELD");
#else
	F(ts_native_tid, offsetof(PyThreadState, native_thread_id));
#endif
	F(co_filename, offsetof(PyCodeObject, co_filename));
	F(co_name, offsetof(PyCodeObject, co_name));
#if PY_MINOR_VERSION <= 10
	sym("co_qualname", "PYL_NO_FIELD");
#else
	F(co_qualname, offsetof(PyCodeObject, co_qualname));
#endif
	F(co_firstlineno, offsetof(PyCodeObject, co_firstlineno));
#if PY_MINOR_VERSION == 9
	FC(co_linetable, offsetof(PyCodeObject, co_lnotab), "co_lnotab");
#else
	F(co_linetable, offsetof(PyCodeObject, co_linetable));
#endif
	F(co_flags, offsetof(PyCodeObject, co_flags));
	F(var_size, offsetof(PyVarObject, ob_size));
	F(bytes_sval, offsetof(PyBytesObject, ob_sval));
	F(ascii_state, offsetof(PyASCIIObject, state));
	F(ascii_length, offsetof(PyASCIIObject, length));
	FC(ascii_data, sizeof(PyASCIIObject), "sizeof(PyASCIIObject)");
	FC(compact_data, sizeof(PyCompactUnicodeObject), "sizeof(PyCompactUnicodeObject)");
#if PY_MINOR_VERSION <= 11
	FC(rt_gil, offsetof(_PyRuntimeState, ceval.gil), "_PyRuntime.ceval.gil");
	sym("interp_gil_ptr", "PYL_NO_FIELD");
#else
	sym("rt_gil", "PYL_NO_FIELD");
	FC(interp_gil_ptr, offsetof(PyInterpreterState, ceval.gil), "interp->ceval.gil");
#endif
	F(gil_switch_number, offsetof(struct _gil_runtime_state, switch_number));
	printf("\t},\n");
}

#if PY_MINOR_VERSION >= 13
#define D(name, member) F(name, offsetof(_Py_DebugOffsets, member))
static void debug_map(void)
{
	printf("\t{\n\t\t/* CPython %s: offsetof(_Py_DebugOffsets, ...) */\n", PY_VERSION);
	printf("\t\t.version = PY_VERSION_KEY(%d, %d),\n", PY_MAJOR_VERSION, PY_MINOR_VERSION);
	F(size, sizeof(_Py_DebugOffsets));
	D(cookie, cookie);
	D(dversion, version);
	D(free_threaded, free_threaded);
	D(rt_interp_head, runtime_state.interpreters_head);
	D(interp_next, interpreter_state.next);
	D(interp_tstate_head, interpreter_state.threads_head);
	D(interp_gil_ptr, interpreter_state.ceval_gil);
	D(ts_next, thread_state.next);
	D(ts_native_tid, thread_state.native_thread_id);
	D(ts_thread_id, thread_state.thread_id);
	D(ts_frame, thread_state.current_frame);
	D(fr_code, interpreter_frame.executable);
	D(fr_previous, interpreter_frame.previous);
	D(fr_instr, interpreter_frame.instr_ptr);
	D(fr_owner, interpreter_frame.owner);
	D(co_filename, code_object.filename);
	D(co_name, code_object.name);
	D(co_qualname, code_object.qualname);
	D(co_firstlineno, code_object.firstlineno);
	D(co_linetable, code_object.linetable);
	D(co_code, code_object.co_code_adaptive);
	D(ob_type, pyobject.ob_type);
	D(var_size, bytes_object.ob_size);
	D(bytes_sval, bytes_object.ob_sval);
	D(ascii_length, unicode_object.length);
	D(ascii_data, unicode_object.asciiobject_size);
	/* offsets from the interpreter state, into its embedded _gil */
	D(gil_locked, interpreter_state.gil_runtime_state_locked);
	D(gil_last_holder, interpreter_state.gil_runtime_state_holder);
	printf("\t},\n");
	/* What the running interpreter stores in these slots, for the live check
	 * (scripts reading /proc/PID/mem compare against these). */
	printf("/* values: interp._gil at %zu, so gil_locked/holder read %zu/%zu from interp */\n",
	       offsetof(PyInterpreterState, _gil), offsetof(PyInterpreterState, _gil.locked),
	       offsetof(PyInterpreterState, _gil.last_holder));
}
#endif

int main(void)
{
	printf("/* struct pylayout */\n");
	layout();
#if PY_MINOR_VERSION >= 13
	printf("/* struct py_debug_map */\n");
	debug_map();
#endif
	return 0;
}
