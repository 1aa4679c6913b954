/* drivers.h - the database client libraries whose calls are database time:
 * a table, one entry per library (daemon/native/drivers.c). */
#ifndef PYBPF_DRIVERS_H
#define PYBPF_DRIVERS_H

#include <stddef.h>

#include "pybpf_shared.h"

/* An entry point: a function of the library, and where its statement is
 * (enum db_entry_kind: which uprobe program it gets). */
struct db_entry {
	const char *symbol;
	enum db_entry_kind kind;
};

struct db_driver {
	const char *library;		/* file name up to ".so": "libpq" */
	const char *clients;		/* the Python drivers that call it, for the docs */
	const struct db_entry *entries; /* its calls that talk to the server, {NULL}-ended */
};

/* The entry of the library at path (any directory, any version suffix:
 * ".../libpq.so.5.15"), or NULL. */
const struct db_driver *db_driver_of(const char *path);

/* The table, for listings and tests. */
const struct db_driver *db_drivers(size_t *n);

#endif
