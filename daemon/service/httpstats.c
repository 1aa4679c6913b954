/* httpstats.c - the daemon's HTTP request metrics (http_requests = true).
 * The kernel ends each request at its response's status line (bpf/http.bpf.h)
 * with the stacks its thread was sampled in.  A request is queued as it
 * comes and named at the next tick, once the drain has made its stacks
 * known: by the endpoint its stacks name, else the one its route was last
 * named by.  A request of a route no stack has named yet waits for one
 * (NAME_WAIT_TICKS at most: a view rarely sampled, as one that waits for
 * its database, is named by its other requests), then counts under its
 * route ("GET /static/?").  Each name's count, 5xx count
 * and latency histogram only grow. */
#include "service/daemon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sys/htab.h"
#include "sys/log.h"

#define QUEUE_MAX	(1u << 16) /* requests waiting; beyond, counted lost */
#define NAME_WAIT_TICKS 5

struct http_pending {
	struct pybpf_http_req r;
	unsigned ticks; /* ticks it waited for its route's name */
};

/* A route and the endpoint that named it last, per service. */
struct http_known {
	char service[SERVICE_NAME_MAX];
	char route[HTTP_ROUTE_MAX];
	char endpoint[HTTP_ENDPOINT_MAX];
};

/* A bpfs_event_fn (sampler thread, lock held): queued for the tick. */
static int http_seen(void *ctx, const void *rec, size_t len)
{
	struct daemon *d = ctx;
	if (len < sizeof(struct pybpf_http_req))
		return 0;
	if (d->http_nqueue == d->http_qcap) {
		size_t cap = d->http_qcap ? 2 * d->http_qcap : 256;
		struct http_pending *q =
			cap <= QUEUE_MAX ? realloc(d->http_queue, cap * sizeof(*q)) : NULL;
		if (!q) {
			d->ctr.http_lost++;
			return 0;
		}
		d->http_queue = q;
		d->http_qcap = cap;
	}
	struct http_pending *q = &d->http_queue[d->http_nqueue++];
	memcpy(&q->r, rec, sizeof(q->r));
	q->ticks = 0;
	return 0;
}

int httpstats_start(struct daemon *d)
{
	if (!d->cfg.http_requests)
		return 0;
	if (htab_init(&d->http_idx, 64) || htab_init(&d->http_known_idx, 64)) {
		log_err("http requests: out of memory");
		return -1;
	}
	if (bpfs_http_start(d->rec.bpf, http_seen, d)) {
		log_err("http requests: attaching to the system calls failed: %s", strerror(errno));
		return -1;
	}
	log_info("measuring HTTP/1.x requests at the socket (system call tracepoints)");
	return 0;
}

static uint64_t key_of(const char *service, const char *name)
{
	return hash_bytes(hash_str(service), name, strlen(name));
}

struct find {
	const struct daemon *d;
	const char *service, *name;
};

static bool known_eq(const void *ctx, uint32_t i)
{
	const struct find *f = ctx;
	const struct http_known *k = &f->d->http_known[i];
	return !strcmp(k->route, f->name) && !strcmp(k->service, f->service);
}

static bool series_eq(const void *ctx, uint32_t i)
{
	const struct find *f = ctx;
	const struct http_series *s = &f->d->http[i];
	return !strcmp(s->endpoint, f->name) && !strcmp(s->service, f->service);
}

static struct http_known *known_find(struct daemon *d, const char *service, const char *route)
{
	struct find f = {d, service, route};
	int64_t i = htab_get(&d->http_known_idx, key_of(service, route), known_eq, &f);
	return i >= 0 ? &d->http_known[i] : NULL;
}

/* The route's endpoint is now ep (kept for HTTP_ROUTES_MAX routes). */
static void known_set(struct daemon *d, const char *service, const char *route, const char *ep)
{
	struct http_known *k = known_find(d, service, route);
	if (!k) {
		if (!d->http_known)
			d->http_known = calloc(HTTP_ROUTES_MAX, sizeof(*d->http_known));
		if (!d->http_known || d->nhttp_known == HTTP_ROUTES_MAX ||
		    htab_put(&d->http_known_idx, key_of(service, route), (uint32_t)d->nhttp_known))
			return;
		k = &d->http_known[d->nhttp_known++];
		snprintf(k->service, sizeof(k->service), "%s", service);
		snprintf(k->route, sizeof(k->route), "%s", route);
	}
	snprintf(k->endpoint, sizeof(k->endpoint), "%s", ep);
}

/* The request's name; NULL: none yet. */
static const char *endpoint_of(struct daemon *d, const struct pybpf_http_req *e,
			       const char *service, const char *route)
{
	uint32_t n = e->nhash < PYBPF_HTTP_HASHES ? e->nhash : PYBPF_HTTP_HASHES;
	for (uint32_t h = 0; h < n; h++) {
		const char *ep = agg_stack_endpoint(&d->rec.agg, e->hash[h]);
		if (ep && ep[0]) {
			known_set(d, service, route, ep);
			return ep;
		}
	}
	const struct http_known *k = known_find(d, service, route);
	return k ? k->endpoint : NULL;
}

static struct http_series *series_find(struct daemon *d, const char *service, const char *ep)
{
	struct find f = {d, service, ep};
	int64_t i = htab_get(&d->http_idx, key_of(service, ep), series_eq, &f);
	return i >= 0 ? &d->http[i] : NULL;
}

/* A service's series for ep: new ones up to HTTP_SERIES_SERVICE, then the
 * service's "(other)". */
static struct http_series *series_of(struct daemon *d, const char *service, const char *ep)
{
	struct http_series *s = series_find(d, service, ep);
	if (s)
		return s;
	size_t of_service = 0;
	for (size_t i = 0; i < d->nhttp; i++)
		of_service += !strcmp(d->http[i].service, service);
	if (of_service >= HTTP_SERIES_SERVICE - 1) {
		ep = "(other)";
		if ((s = series_find(d, service, ep)))
			return s;
	}
	if (d->nhttp == HTTP_SERIES_MAX)
		return NULL;
	if (!d->http && !(d->http = calloc(HTTP_SERIES_MAX, sizeof(*d->http))))
		return NULL;
	if (htab_put(&d->http_idx, key_of(service, ep), (uint32_t)d->nhttp))
		return NULL;
	s = &d->http[d->nhttp++];
	snprintf(s->service, sizeof(s->service), "%s", service);
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", ep);
	return s;
}

/* Counts the request, or false: it waits for a name. */
static bool account(struct daemon *d, struct http_pending *q, bool last)
{
	const struct pybpf_http_req *e = &q->r;
	struct dproc *p = daemon_proc(d, (pid_t)e->pid);
	char buf[HTTP_ROUTE_MAX];
	if (!p)
		return true; /* gone, or not one of ours */
	http_route(e->line, e->len < PYBPF_HTTP_LINE ? e->len : PYBPF_HTTP_LINE, buf, sizeof(buf));
	const char *route = buf[0] ? buf : "(unparsed)";
	const char *ep = endpoint_of(d, e, p->service, route);
	if (!ep && !last && ++q->ticks < NAME_WAIT_TICKS)
		return false;
	struct http_series *s = series_of(d, p->service, ep ? ep : route);
	if (!s) {
		d->ctr.http_lost++;
		return true;
	}
	uint64_t ns = e->end > e->start ? e->end - e->start : 0;
	unsigned k = 0;
	while (k < LOOP_LE_N && (double)ns > loop_le_s[k] * 1e9)
		k++;
	s->requests++;
	s->errors_5xx += http_server_error(e->status);
	s->duration_ns += ns;
	s->le[k]++;
	return true;
}

void httpstats_tick(struct daemon *d, bool last)
{
	size_t keep = 0;
	for (size_t i = 0; i < d->http_nqueue; i++)
		if (!account(d, &d->http_queue[i], last))
			d->http_queue[keep++] = d->http_queue[i];
	d->http_nqueue = keep;
}

void httpstats_free(struct daemon *d)
{
	free(d->http_queue);
	free(d->http);
	free(d->http_known);
	htab_free(&d->http_idx);
	htab_free(&d->http_known_idx);
	d->http_queue = NULL;
	d->http = NULL;
	d->http_known = NULL;
	d->http_nqueue = d->http_qcap = d->nhttp = d->nhttp_known = 0;
}
