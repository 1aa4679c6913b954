/* threadnames.h - Python's names of a process's threads, from the threading
 * module's registry (threading._active: ident -> Thread, whose _name and
 * _native_id say the name and the kernel's tid), read with the object
 * reader.  The OS name (comm) is cut at 15 characters and, before 3.14, is
 * not Python's at all. */
#ifndef PYBPF_THREADNAMES_H
#define PYBPF_THREADNAMES_H

#include <stddef.h>
#include <stdint.h>

#include "python/pyprocess.h"

#define PYTHREAD_NAME_MAX 128 /* bytes kept of a name, NUL included */

struct pythread_name {
	uint64_t ident; /* threading.get_ident(): the pthread_t */
	uint32_t tid;	/* _native_id, 0 when unknown */
	char name[PYTHREAD_NAME_MAX];
};

/* Up to max of pp's Python threads with their names; how many, or -1 when
 * the registry cannot be read (no threading module yet, a version without
 * a record, an unreadable process).  *active, when given, caches where the
 * registry is (0: find it through sys.modules; set when found, cleared
 * when what it points at is no dict).  Newest thread first; with want (a
 * tid), it stops once that thread is named.  *reads: the target reads it
 * took. */
int pythread_names(const struct pyprocess *pp, uint64_t *active, struct pythread_name *out,
		   size_t max, uint32_t want, unsigned *reads);

#endif
