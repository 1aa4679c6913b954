/* spool.h - the spool directory: one gzip'd pprof per service and window,
 * SERVICE-YYYYMMDDTHHMMSSZ.pb.gz, written atomically, the oldest deleted
 * beyond the byte cap (sys/capdir.h, the push queue's mechanism too). */
#ifndef PYBPF_SPOOL_H
#define PYBPF_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "sys/capdir.h"

struct spool_stats {
	uint64_t written; /* files written */
	uint64_t errors;  /* files that could not be written */
	uint64_t deleted; /* deleted for the size cap */
	char last_error[256];
	uint64_t last_error_time; /* unix seconds */
};

struct spool {
	struct capdir dir;
	bool open;
	char path[256];
	uint64_t max_bytes;
	struct spool_stats st;
};

/* Opens (creates) dir, removes temporary files a crash left, indexes the
 * profiles there.  0, or -1 with the error counted and logged; each write
 * tries again until it can be opened. */
int spool_open(struct spool *s, const char *dir, uint64_t max_bytes);
void spool_close(struct spool *s);
/* Writes one window of service starting at from_s.  0 or -1 (counted). */
int spool_write(struct spool *s, const char *service, uint64_t from_s, const void *buf, size_t len);

#endif
