/* pyprocess.h - recognising a CPython process and finding what the unwinder
 * needs in it: version, layout, &_PyRuntime, &PyCode_Type. */
#ifndef PYBPF_PYPROCESS_H
#define PYBPF_PYPROCESS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pybpf_shared.h"

struct pyprocess {
	pid_t pid;
	unsigned major, minor, micro;
	char object[PATH_MAX]; /* binary or libpython holding _PyRuntime, as the process names it */
	bool shared;	       /* _PyRuntime lives in a shared libpython */
	bool stripped;	       /* no .symtab */
	uint64_t bias;	       /* load bias of that object */
	uint64_t runtime_addr; /* &_PyRuntime */
	uint64_t code_type_addr;
	const struct py_layout *layout;
};

enum pyprocess_result {
	PYPROC_OK = 0,
	PYPROC_NOT_PYTHON = 1,	/* no CPython runtime mapped (yet) */
	PYPROC_NOT_READY = 2,	/* CPython mapped, interpreter not initialised yet */
	PYPROC_UNSUPPORTED = 3, /* a version without a layout record */
	PYPROC_ERROR = 4,	/* no such process, no permission, unreadable */
};

/* Inspects pid.  On anything but PYPROC_OK, err says what and for which pid. */
enum pyprocess_result pyprocess_inspect(pid_t pid, struct pyprocess *out, char *err, size_t errlen);

#endif
