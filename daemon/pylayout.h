/* pylayout.h - the table of CPython layouts, one record per minor version. */
#ifndef PYBPF_PYLAYOUT_H
#define PYBPF_PYLAYOUT_H

#include <stddef.h>

#include "pybpf_shared.h"

#define PY_VERSION_KEY(major, minor) (((major) << 8) | (minor))

/* The record for major.minor, or NULL when the version is not supported. */
const struct py_layout *pylayout_find(unsigned major, unsigned minor);
/* Position of a record in the table (the index the BPF side uses). */
unsigned pylayout_index(const struct py_layout *l);
/* Every record, for loading the BPF layouts map. */
const struct py_layout *pylayout_all(size_t *n);
/* "3.9 3.11 ..." */
const char *pylayout_supported(void);

#endif
