/* pyroscope.c - labels and query strings of Pyroscope's /ingest. */
#include "service/pyroscope.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 64

/* ---- labels ----------------------------------------------------------------- */

struct label {
	const char *k, *v;
};

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	return s;
}

static bool label_key_ok(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '_' || *k == '.'))
			return false;
	return true;
}

static bool label_value_ok(const char *v)
{
	if (!*v)
		return false;
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f || *v == ',' || *v == '{' || *v == '}')
			return false;
	return true;
}

/* Adds "k=v,k=v" (modified in place) to l; a key already there gets the new value. */
static int labels_parse(char *s, struct label *l, size_t *n, char *err, size_t errlen)
{
	char *save = NULL;

	for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq, *k, *v;
		size_t i;

		tok = trim(tok);
		if (!*tok)
			continue;
		eq = strchr(tok, '=');
		if (!eq) {
			snprintf(err, errlen, "label '%.64s' is not key=value", tok);
			return -1;
		}
		*eq = '\0';
		k = trim(tok);
		v = trim(eq + 1);
		if (!label_key_ok(k)) {
			snprintf(err, errlen, "label key '%.64s' is not [A-Za-z0-9_.]+", k);
			return -1;
		}
		if (!label_value_ok(v)) {
			snprintf(err, errlen, "label %s: value '%.64s' is empty or has ',{}'", k,
				 v);
			return -1;
		}
		for (i = 0; i < *n && strcmp(l[i].k, k); i++)
			;
		if (i == *n) {
			if (*n == MAX_LABELS) {
				snprintf(err, errlen, "more than %d labels", MAX_LABELS);
				return -1;
			}
			l[(*n)++].k = k;
		}
		l[i].v = v;
	}
	return 0;
}

/* a's labels, then b's (b's value wins for a key in both), as "k=v,k=v"
 * in a malloc'd *out. */
int pyro_labels_merge(const char *a, const char *b, char **out, char *err, size_t errlen)
{
	struct label l[MAX_LABELS];
	char *ca = strdup(a ? a : ""), *cb = strdup(b ? b : ""), *o = NULL;
	size_t n = 0, len = 1;
	int rc = -1;

	if (!ca || !cb) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (labels_parse(ca, l, &n, err, errlen) || labels_parse(cb, l, &n, err, errlen))
		goto done;
	for (size_t i = 0; i < n; i++)
		len += strlen(l[i].k) + strlen(l[i].v) + 2;
	o = malloc(len);
	if (!o) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	o[0] = '\0';
	for (size_t i = 0, off = 0; i < n; i++)
		off += (size_t)snprintf(o + off, len - off, "%s%s=%s", i ? "," : "", l[i].k,
					l[i].v);
	*out = o;
	rc = 0;
done:
	free(ca);
	free(cb);
	return rc;
}

/* The query string of a window, malloc'd. */
char *pyro_query(const char *base_labels, const char *service, const char *labels, uint64_t from_s,
		 uint64_t until_s, uint32_t rate_hz, char *err, size_t errlen)
{
	char *merged = NULL, *name, *esc, *q = NULL;
	size_t nl, ql;

	if (pyro_labels_merge(base_labels, labels, &merged, err, errlen)) {
		errno = EINVAL;
		return NULL;
	}
	nl = strlen(service) + strlen(merged) + 3;
	name = malloc(nl);
	if (!name) {
		snprintf(err, errlen, "out of memory");
		free(merged);
		return NULL;
	}
	if (*merged)
		snprintf(name, nl, "%s{%s}", service, merged);
	else
		snprintf(name, nl, "%s", service);
	free(merged);
#if LIBCURL_VERSION_NUM >= 0x075200
	esc = curl_easy_escape(NULL, name, 0); /* the handle is unused since 7.82 */
#else
	esc = curl_escape(name, 0);
#endif
	free(name);
	if (!esc) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	ql = strlen(esc) + 160;
	q = malloc(ql);
	if (q)
		snprintf(q, ql,
			 "name=%s&from=%" PRIu64 "&until=%" PRIu64
			 "&format=pprof&sampleRate=%" PRIu32 "&spyName=pybpf",
			 esc, from_s, until_s, rate_hz);
	curl_free(esc);
	return q;
}
