/* pyroscope.h - Pyroscope's ingest protocol: the labels of a series and
 * the query string of one window,
 * name=SERVICE{k=v,...}&from=&until=&format=pprof&sampleRate=&spyName=pybpf
 * (URL-encoded), for POST /ingest. */
#ifndef PYBPF_PYROSCOPE_H
#define PYBPF_PYROSCOPE_H

#include <stddef.h>
#include <stdint.h>

/* a's labels "k=v,k=v", then b's (b's value wins for a key in both), as
 * "k=v,k=v" in a malloc'd *out.  Keys are [A-Za-z0-9_.]+, values non-empty
 * without ",{}" or control characters.  0, or -1 with err. */
int pyro_labels_merge(const char *a, const char *b, char **out, char *err, size_t errlen);

/* The query string of one window (malloc'd), or NULL with err. */
char *pyro_query(const char *base_labels, const char *service, const char *labels, uint64_t from_s,
		 uint64_t until_s, uint32_t rate_hz, char *err, size_t errlen);

#endif
