/* pull.h - the pull endpoint (libmicrohttpd): /debug/pprof/profile?seconds=N
 * [&pid=P][&service=S] (Parca's scrape convention: a gzip'd CPU pprof of the
 * next N seconds) and /metrics (Prometheus text format). */
#ifndef PYBPF_PULL_H
#define PYBPF_PULL_H

#include <stddef.h>

struct daemon;
struct http_pull;

/* Listens on addr ("127.0.0.1:6171", "[::1]:6171", ":6171" for every
 * address).  NULL with err on failure. */
struct http_pull *http_pull_start(struct daemon *d, const char *addr, char *err, size_t errlen);
void http_pull_stop(struct http_pull *h);

#endif
