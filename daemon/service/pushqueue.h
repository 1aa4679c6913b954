/* pushqueue.h - the push backend's on-disk queue: a bounded directory
 * (sys/capdir.h) holding one file per window, named by its sequence number,
 * 16 decimal digits zero-padded, + ".win" ("0000000000000042.win"); the next
 * number is one past the largest found at start.  A file is
 *
 *     <query>\n<body>
 *
 * where <query> is the complete, URL-encoded query string of the request
 * (what follows "/ingest?", service/pyroscope.h) and <body> the gzip'd pprof.
 * A ".lock" file (flock) keeps two pushers off one directory.  Not
 * thread-safe: the pusher locks around every call but pushq_write and
 * pushq_read, which touch only files. */
#ifndef PYBPF_PUSHQUEUE_H
#define PYBPF_PUSHQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sys/capdir.h"

#define PUSHQ_QUERY_MAX 16384 /* longest first line accepted from a queue file */

struct pushqueue {
	struct capdir dir;
	int lockfd;
	uint64_t next_seq;
};

/* Opens (creates, locks) dir, removes temporary files, indexes the windows
 * left by an earlier run; files larger than the bound by themselves are
 * deleted, then the bound is applied.  *dropped counts what was deleted.
 * 0, or -1 with err. */
int pushq_open(struct pushqueue *q, const char *dir, uint64_t max_bytes, uint64_t *dropped,
	       char *err, size_t errlen);
void pushq_close(struct pushqueue *q);

/* Writes the window file of seq (atomically, durably); *size its length.
 * 0 or -1/errno.  The index is not touched: pushq_add() after. */
int pushq_write(const struct pushqueue *q, uint64_t seq, const char *query, const void *body,
		size_t len, uint64_t *size);
int pushq_add(struct pushqueue *q, uint64_t seq, uint64_t size);
/* The oldest window's seq; false when the queue is empty. */
bool pushq_oldest(const struct pushqueue *q, uint64_t *seq);
/* Deletes the window seq (its file, and its index entry: false when it had
 * none). */
bool pushq_remove(struct pushqueue *q, uint64_t seq);
/* Applies the bound (never the newest); on_drop(ctx, seq) for each deleted. */
size_t pushq_enforce(struct pushqueue *q, void (*on_drop)(void *ctx, uint64_t seq), void *ctx);

enum pushq_read {
	PUSHQ_OK,
	PUSHQ_RETRY,   /* could not be read now (I/O error, memory) */
	PUSHQ_INVALID, /* not a window file: drop it */
	PUSHQ_GONE,    /* no such file */
};

/* Reads the file of seq: *buf (malloc'd) holds it, *query its first line
 * (NUL terminated in place), *body the rest.  msg says why not. */
enum pushq_read pushq_read(const struct pushqueue *q, uint64_t seq, char **buf, char **query,
			   char **body, size_t *body_len, char *msg, size_t msglen);

#endif
