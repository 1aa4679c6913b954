/* push.h - delivers windows to a Pyroscope-compatible server
 * (POST /ingest?name=SERVICE{labels}&from=&until=&format=pprof&sampleRate=
 * &spyName=pybpf) from an on-disk queue: each window is a file in the queue
 * directory until the server has accepted it; failures are retried with
 * exponential backoff; the queue is bounded in bytes and, when full, the
 * oldest windows are dropped and counted.  A thread of its own does the
 * HTTP, so the sampler never waits on the network. */
#ifndef PYBPF_PUSH_H
#define PYBPF_PUSH_H

#include <stddef.h>
#include <stdint.h>

struct pusher;

struct push_config {
	const char *url;       /* base URL, e.g. http://127.0.0.1:4040 ("/ingest" is appended) */
	const char *labels;    /* extra labels "k=v,k=v" or "" */
	const char *queue_dir; /* created if missing (mode 0750) */
	uint64_t queue_max_bytes;
	uint32_t timeout_s;	/* per request */
	uint32_t backoff_max_s; /* retries wait 1, 2, 4 ... up to this many seconds */
};

struct push_stats {
	uint64_t queued;       /* windows put in the queue */
	uint64_t sent;	       /* accepted by the server (2xx) */
	uint64_t failed;       /* attempts that failed (and will be retried) */
	uint64_t dropped_full; /* dropped, oldest first, because the queue was full */
	uint64_t rejected; /* dropped because the server refused them for good (4xx but 408/429) */
	uint64_t queue_files, queue_bytes; /* in the queue now */
	char last_error[256];		   /* "" when the last attempt succeeded */
	uint64_t last_error_time;	   /* realtime seconds */
};

/* Starts the pusher (its thread); windows left in queue_dir by an earlier
 * run are sent first.  NULL with err on failure. */
struct pusher *push_start(const struct push_config *cfg, char *err, size_t errlen);

/* Queues one window (a gzip'd pprof of len bytes) of service, covering
 * [from_s, until_s) in unix seconds, sampled at rate_hz; labels are extra
 * "k=v,k=v" labels for this window (or NULL).  The window is on disk
 * (written atomically) when this returns 0. */
int push_enqueue(struct pusher *p, const char *service, const char *labels, uint64_t from_s,
		 uint64_t until_s, uint32_t rate_hz, const void *pprof, size_t len);

void push_get_stats(struct pusher *p, struct push_stats *out);

/* Stops the thread: tries to send what is queued for at most grace_ms, then
 * returns; what is left stays on disk for the next start. */
void push_stop(struct pusher *p, int grace_ms);

#endif
