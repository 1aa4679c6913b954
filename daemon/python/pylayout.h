/* pylayout.h - the table of CPython layouts, one record per minor version:
 * what the BPF side reads (struct py_layout, include/pybpf_shared.h) and
 * what only userspace reads (names, line tables, strings, the GIL's place). */
#ifndef PYBPF_PYLAYOUT_H
#define PYBPF_PYLAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "pybpf_shared.h"

#define PY_VERSION_KEY(major, minor) (((major) << 8) | (minor))

struct pylayout {
	unsigned version;     /* PY_VERSION_KEY */
	struct py_layout bpf; /* uploaded to the BPF layouts map */
	/* PyThreadState */
	uint16_t ts_native_tid; /* native_thread_id: tid in the process's pid namespace
				 * (3.11+), else PYL_NO_FIELD */
	/* PyCodeObject */
	uint16_t co_filename;
	uint16_t co_name;
	uint16_t co_qualname; /* PYL_NO_FIELD before 3.11 */
	uint16_t co_firstlineno;
	uint16_t co_linetable; /* co_linetable, or co_lnotab */
	uint16_t co_flags;
	/* objects */
	uint16_t var_size;     /* PyVarObject.ob_size */
	uint16_t bytes_sval;   /* PyBytesObject.ob_sval */
	uint16_t ascii_state;  /* PyASCIIObject.state */
	uint16_t ascii_length; /* PyASCIIObject.length */
	uint16_t ascii_data;   /* sizeof(PyASCIIObject): compact ASCII data */
	uint16_t compact_data; /* sizeof(PyCompactUnicodeObject): compact non-ASCII data */
	/* the GIL */
	uint16_t rt_gil;	 /* _PyRuntime.ceval.gil, embedded (<= 3.11), else PYL_NO_FIELD */
	uint16_t interp_gil_ptr; /* interp->ceval.gil, a pointer (3.12+), else PYL_NO_FIELD */
	uint16_t gil_switch_number;
};

/* Sets the read lengths and the code tag's place (bpf.fr_read, bpf.co_read,
 * bpf.co_tag) from the other offsets: the one derivation, for the table's
 * records and for those a process's own _Py_DebugOffsets correct. */
void pylayout_derive(struct pylayout *L);

/* Where, inside the interpreter's own _Py_DebugOffsets (3.13+, at the start
 * of _PyRuntime), each value the unwinder needs is stored: offsetof() into
 * _Py_DebugOffsets for that version.  PYL_NO_FIELD when that version's struct
 * lacks it.  The values found there are offsets into the runtime structs, and
 * are used (and cross-checked against the table) instead of the table's. */
struct py_debug_map {
	unsigned version; /* PY_VERSION_KEY */
	uint16_t size;	  /* sizeof(_Py_DebugOffsets): bytes to read */
	uint16_t cookie, dversion, free_threaded;
	uint16_t rt_interp_head;
	uint16_t interp_next, interp_tstate_head, interp_gil_ptr;
	uint16_t ts_next, ts_native_tid, ts_thread_id, ts_frame;
	uint16_t fr_code, fr_previous, fr_instr, fr_owner;
	uint16_t co_filename, co_name, co_qualname, co_firstlineno, co_linetable, co_code;
	uint16_t ob_type, var_size, bytes_sval, ascii_length, ascii_data;
	uint16_t gil_locked, gil_last_holder;
};

/* The _Py_DebugOffsets map of major.minor, or NULL (before 3.13). */
const struct py_debug_map *pylayout_debug_map(unsigned major, unsigned minor);

/* The record for major.minor (derived lengths filled in), or NULL when the
 * version is not supported. */
const struct pylayout *pylayout_find(unsigned major, unsigned minor);
/* Every record. */
const struct pylayout *pylayout_all(size_t *n);
/* "3.9 3.11 ..." */
const char *pylayout_supported(void);

#endif
