/* pyprocess.h - recognising a CPython process and finding what the unwinder
 * needs in it: version, layout, &_PyRuntime, &PyCode_Type. */
#ifndef PYBPF_PYPROCESS_H
#define PYBPF_PYPROCESS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "python/pylayout.h"

struct elfcache;

struct pyprocess {
	pid_t pid;	     /* as the host sees it */
	pid_t ns_pid;	     /* as its own pid namespace sees it (a container's view) */
	char cgroup[256];    /* its cgroup v2 path */
	char root[PATH_MAX]; /* its root directory, "" when it is the host's */
	unsigned major, minor, micro;
	char object[PATH_MAX]; /* binary or libpython holding _PyRuntime, as the process names it */
	bool shared;	       /* _PyRuntime lives in a shared libpython */
	bool stripped;	       /* no .symtab */
	uint64_t bias;	       /* load bias of that object */
	uint64_t runtime_addr; /* &_PyRuntime */
	uint64_t code_type_addr;
	uint64_t gil_addr; /* the main interpreter's GIL struct, 0 when unknown */
	/* file offset of take_gil in object, 0 when its symbols do not name it
	 * (stripped, no debug file): the exact GIL signal needs it */
	uint64_t take_gil_off, drop_gil_off;
	/* the table's record for this version, corrected by the process's own
	 * _Py_DebugOffsets where it has them (3.13+) */
	struct pylayout layout;
	bool debug_offsets;    /* _Py_DebugOffsets were read and used */
	char layout_note[256]; /* where the live offsets disagreed with the table */
};

enum pyprocess_result {
	PYPROC_OK = 0,
	PYPROC_NOT_PYTHON = 1,	/* no CPython runtime mapped (yet) */
	PYPROC_NOT_READY = 2,	/* CPython mapped, interpreter not initialised yet */
	PYPROC_UNSUPPORTED = 3, /* a version without a layout record */
	PYPROC_ERROR = 4,	/* no such process, no permission, unreadable */
};

/* Inspects pid, its ELF files loaded through cache.  On anything but
 * PYPROC_OK, err says what and for which pid. */
enum pyprocess_result pyprocess_inspect(pid_t pid, struct elfcache *cache, struct pyprocess *out,
					char *err, size_t errlen);

#endif
