/* http.c - HTTP/1.x requests kept as answered, and their routes. */
#include "report/http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A path segment that names one thing of many: all digits, or a hex id or
 * UUID of 8 characters or more with a digit in it. */
static bool is_id(const char *s, size_t n)
{
	bool digits = n > 0, hex = n >= 8, digit = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		digit |= c >= '0' && c <= '9';
		if (!(c >= '0' && c <= '9'))
			digits = false;
		if (!is_hex(c) && c != '-')
			hex = false;
	}
	return digits || (hex && digit);
}

static void put(char *out, size_t outlen, size_t *o, char c)
{
	if (*o + 1 < outlen)
		out[(*o)++] = c;
}

void http_route(const char *line, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;
	if (!outlen)
		return;
	out[0] = '\0';
	while (i < len && line[i] >= 'A' && line[i] <= 'Z')
		i++;
	if (!i || i + 1 >= len || line[i] != ' ' || line[i + 1] != '/' || i + 2 >= outlen)
		return; /* not a request line, or no room for its method and "/" */
	for (size_t k = 0; k <= i; k++)
		put(out, outlen, &o, line[k]);
	i++;
	while (i < len && line[i] == '/') {
		size_t j = i + 1;
		while (j < len && line[j] != '/' && line[j] != ' ' && line[j] != '?' &&
		       line[j] != '#' && line[j] != '\r' && line[j] != '\n')
			j++;
		bool id = is_id(line + i + 1, j - i - 1);
		/* a segment whole or not at all: one cut could end in digits
		 * (the first "/" always: its room was seen to above) */
		if (o + 1 + (id ? 1 : j - i - 1) >= outlen) {
			if (out[o - 1] == ' ')
				put(out, outlen, &o, '/');
			break;
		}
		put(out, outlen, &o, '/');
		i++;
		if (id) {
			put(out, outlen, &o, '?');
		} else {
			for (size_t k = i; k < j; k++) {
				unsigned char c = (unsigned char)line[k];
				put(out, outlen, &o, c > ' ' && c < 0x7f ? (char)c : '?');
			}
		}
		i = j;
	}
	out[o] = '\0';
}

static uint32_t route_index(struct http_log *l, const char *route)
{
	for (size_t i = 0; i < l->nroutes; i++)
		if (!strcmp(l->routes[i].route, route))
			return (uint32_t)i;
	if (!l->routes) {
		l->routes = calloc(HTTP_ROUTES_MAX, sizeof(*l->routes));
		if (!l->routes)
			return UINT32_MAX;
	}
	if (l->nroutes >= HTTP_ROUTES_MAX - 1) { /* the last: every other route */
		route = "(other)";
		for (size_t i = 0; i < l->nroutes; i++)
			if (!strcmp(l->routes[i].route, route))
				return (uint32_t)i;
		if (l->nroutes == HTTP_ROUTES_MAX)
			return UINT32_MAX;
	}
	snprintf(l->routes[l->nroutes].route, HTTP_ROUTE_MAX, "%s", route);
	return (uint32_t)l->nroutes++;
}

int http_log_add(void *ctx, const void *rec, size_t len)
{
	struct http_log *l = ctx;
	const struct pybpf_http_req *e = rec;
	char route[HTTP_ROUTE_MAX];
	if (len < sizeof(*e) || (l->pid && (pid_t)e->pid != l->pid))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct http_req *v = cap <= HTTP_LOG_MAX ? realloc(l->v, cap * sizeof(*v)) : NULL;
		if (!v) {
			l->dropped++;
			return 0;
		}
		l->v = v;
		l->cap = cap;
	}
	http_route(e->line, e->len < PYBPF_HTTP_LINE ? e->len : PYBPF_HTTP_LINE, route,
		   sizeof(route));
	uint32_t ri = route_index(l, route[0] ? route : "(unparsed)");
	if (ri == UINT32_MAX) {
		l->dropped++;
		return 0;
	}
	struct http_req *r = &l->v[l->n++];
	memset(r, 0, sizeof(*r));
	r->route = ri;
	r->start = e->start;
	r->end = e->end;
	r->status = e->status;
	r->nhash = e->nhash < PYBPF_HTTP_HASHES ? e->nhash : PYBPF_HTTP_HASHES;
	memcpy(r->hash, e->hash, sizeof(r->hash));
	return 0;
}

/* A route's votes: endpoint names and how many of its requests named each. */
#define VOTES 8
struct votes {
	const char *name[VOTES];
	size_t n[VOTES], k;
};

static void vote(struct votes *v, const char *name)
{
	for (size_t i = 0; i < v->k; i++)
		if (!strcmp(v->name[i], name)) {
			v->n[i]++;
			return;
		}
	if (v->k < VOTES) {
		v->name[v->k] = name;
		v->n[v->k++] = 1;
	}
}

int http_log_endpoints(struct http_log *l, http_endpoint_fn fn, void *ctx)
{
	if (!l->nroutes)
		return 0;
	struct votes *v = calloc(l->nroutes, sizeof(*v));
	if (!v)
		return -1;
	for (size_t i = 0; i < l->n; i++) {
		const struct http_req *r = &l->v[i];
		for (uint16_t h = 0; h < r->nhash; h++) {
			const char *name = fn(ctx, r->hash[h]);
			if (name && name[0]) {
				vote(&v[r->route], name);
				break;
			}
		}
	}
	for (size_t i = 0; i < l->nroutes; i++) {
		size_t best = 0;
		for (size_t j = 1; j < v[i].k; j++)
			if (v[i].n[j] > v[i].n[best])
				best = j;
		snprintf(l->routes[i].endpoint, HTTP_ENDPOINT_MAX, "%s",
			 v[i].k ? v[i].name[best] : "");
	}
	free(v);
	return 0;
}

void http_log_free(struct http_log *l)
{
	free(l->v);
	free(l->routes);
	l->v = NULL;
	l->routes = NULL;
	l->n = l->cap = l->nroutes = 0;
}
