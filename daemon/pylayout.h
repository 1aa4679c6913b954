/* pylayout.h - the table of CPython layouts, one record per minor version. */
#ifndef PYBPF_PYLAYOUT_H
#define PYBPF_PYLAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "pybpf_shared.h"

#define PY_VERSION_KEY(major, minor) (((major) << 8) | (minor))

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

/* The record for major.minor, or NULL when the version is not supported. */
const struct py_layout *pylayout_find(unsigned major, unsigned minor);
/* Position of a record in the table (the index the BPF side uses). */
unsigned pylayout_index(const struct py_layout *l);
/* Every record, for loading the BPF layouts map. */
const struct py_layout *pylayout_all(size_t *n);
/* "3.9 3.11 ..." */
const char *pylayout_supported(void);

#endif
