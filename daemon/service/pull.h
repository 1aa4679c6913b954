/* pull.h - the pull endpoint (libmicrohttpd): /debug/pprof/profile?seconds=N
 * [&pid=P][&service=S] (Parca's scrape convention: a gzip'd CPU pprof of the
 * next N seconds) and /metrics (Prometheus text format). */
#ifndef PYBPF_PULL_H
#define PYBPF_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct http_pull;

/* Listens on addr ("127.0.0.1:6171", "[::1]:6171", ":6171" for every
 * address).  A token ("" none) is then asked of every request; an address
 * other than loopback needs one, or insecure.  NULL with err on failure. */
struct http_pull *http_pull_start(struct daemon *d, const char *addr, const char *token,
				  bool insecure, char *err, size_t errlen);
void http_pull_stop(struct http_pull *h);

/* The arguments of /debug/pprof/profile, each NULL when absent: seconds
 * (1 to 600, default 10), pid (1 to 0x3fffffff, default 0: every process)
 * and service (kept as given).  0, or -1 with err (the 400 reply's text). */
struct pull_args {
	unsigned long seconds, pid;
	const char *service;
};
int pull_parse_args(const char *seconds, const char *pid, const char *service,
		    struct pull_args *out, char *err, size_t errlen);
/* Connections cut at their deadline so far. */
uint64_t http_pull_cut(struct http_pull *h);

#endif
