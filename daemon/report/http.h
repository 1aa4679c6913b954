/* http.h - HTTP/1.x requests seen at the socket (bpf/http.bpf.h): kept as
 * they are answered, then named by route ("GET /orders/?": the path without
 * its query, numbers and ids made '?') and by the endpoint (the view) whose
 * stacks were sampled while they ran. */
#ifndef PYBPF_REPORT_HTTP_H
#define PYBPF_REPORT_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pybpf_shared.h"

#define HTTP_ROUTE_MAX	  (PYBPF_HTTP_LINE + 8)
#define HTTP_ENDPOINT_MAX 256
#define HTTP_LOG_MAX	  (1u << 20) /* requests kept; beyond, counted in dropped */
#define HTTP_ROUTES_MAX	  1024	     /* distinct routes; beyond, "(other)" */

struct http_route {
	char route[HTTP_ROUTE_MAX];
	char endpoint[HTTP_ENDPOINT_MAX]; /* http_log_endpoints: "" none known */
};

struct http_req {
	uint32_t route; /* index in http_log.routes */
	uint16_t status;
	uint16_t nhash;
	uint64_t start, end; /* CLOCK_MONOTONIC ns */
	uint64_t hash[PYBPF_HTTP_HASHES];
};

struct http_log {
	pid_t pid; /* only its requests; 0: every process registered */
	struct http_req *v;
	size_t n, cap;
	struct http_route *routes;
	size_t nroutes;
	uint64_t dropped; /* beyond HTTP_LOG_MAX, or out of memory */
};

/* A server error: status 5xx (not a status the parse could not read, 0,
 * nor one past 599).  The one rule of pybpfctl requests and pybpfd. */
static inline int http_server_error(uint16_t status)
{
	return status >= 500 && status <= 599;
}

/* A bpfs_event_fn: one struct pybpf_http_req into the log (ctx). */
int http_log_add(void *ctx, const void *rec, size_t len);
void http_log_free(struct http_log *l);

/* The endpoint a stack's hash names, "" or NULL none. */
typedef const char *(*http_endpoint_fn)(void *ctx, uint64_t hash);
/* Names each route's endpoint: the one most of its requests' sampled
 * stacks name (each request by its first stack that names one). */
int http_log_endpoints(struct http_log *l, http_endpoint_fn fn, void *ctx);

/* The route of a request line of len bytes (not terminated): its method,
 * a space, its path cut at '?' or '#', each segment that is a number or
 * an id (hex or a UUID, 8 characters or more with a digit) made '?';
 * bytes outside printable ASCII become '?' too.  "" when the line has no
 * method and path. */
void http_route(const char *line, size_t len, char *out, size_t outlen);

#endif
