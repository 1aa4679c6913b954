/* capdir.h - a directory of complete files bounded in bytes: the spool of
 * window profiles and the push queue are both one.
 *
 * Files are written with atomic_write_at() (temporary file, fsync, rename,
 * fsync of the directory), so a member name always holds a whole file;
 * temporary files a crash left are removed when the directory is opened.
 * Members (the names accept() takes, each with an age order) are indexed
 * oldest first; capdir_enforce() deletes the oldest while the total exceeds
 * the bound, never the newest, so one file larger than the bound is kept
 * alone rather than lost.
 *
 * Not thread-safe: callers lock around the index calls.  capdir_write()
 * touches only the directory, not the index, so it can run unlocked. */
#ifndef PYBPF_CAPDIR_H
#define PYBPF_CAPDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

struct capdir_ent {
	char name[128];
	uint64_t size;
	uint64_t order; /* smaller is older */
};

/* Is name (with its stat) a member, and how old?  true and *order set. */
typedef bool (*capdir_accept_fn)(const char *name, const struct stat *st, uint64_t *order);

struct capdir {
	char path[256];
	int dirfd;
	uint64_t max_bytes;
	capdir_accept_fn accept;
	struct capdir_ent *ents; /* by order, then name */
	size_t n, cap;
	uint64_t bytes;
};

/* Creates path (mkdir -p, mode) if needed, removes temporary files, and
 * indexes the members found.  0, or -1 with err. */
int capdir_open(struct capdir *d, const char *path, mode_t mode, uint64_t max_bytes,
		capdir_accept_fn accept, char *err, size_t errlen);
void capdir_close(struct capdir *d);

/* Writes name atomically (see above); *size gets its length.  0 or -1/errno. */
int capdir_write(const struct capdir *d, const char *name, mode_t mode, const struct iovec *iov,
		 int iovcnt, uint64_t *size);

/* Indexes a member just written (replacing the entry of a file it
 * rewrote); 0 or -1 (ENOMEM). */
int capdir_add(struct capdir *d, const char *name, uint64_t size, uint64_t order);
/* Unlinks a member and drops it from the index (a missing file is fine). */
void capdir_remove(struct capdir *d, size_t i);
/* The index position of name, or -1. */
long capdir_find(const struct capdir *d, const char *name);

/* Deletes the oldest members while the directory exceeds its bound, never
 * the newest; on_drop(ctx, ent) is told of each before it goes.  Returns how
 * many it deleted. */
size_t capdir_enforce(struct capdir *d, void (*on_drop)(void *ctx, const struct capdir_ent *e),
		      void *ctx);

#endif
