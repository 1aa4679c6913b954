/* export.h - writers of a profile in the formats users open. */
#ifndef PYBPF_EXPORT_H
#define PYBPF_EXPORT_H

#include <stdio.h>

#include "profile.h"

enum export_format {
	EXPORT_PPROF,
	EXPORT_COLLAPSED,
	EXPORT_SVG,
	EXPORT_SPEEDSCOPE,
};

/* Parses "pprof", "collapsed", "svg", "speedscope"; -1 when unknown. */
int export_format_parse(const char *name);
const char *export_format_name(enum export_format f);

/* gzip'd profile.proto (export_pprof.c).  Returns 0, or -1 with errno set. */
int export_pprof(const struct profile *p, FILE *out);
/* Same bytes, in a malloc'd buffer the caller frees. */
int export_pprof_buf(const struct profile *p, unsigned char **buf, size_t *len);

/* "root;...;leaf COUNT" lines (export_collapsed.c). */
int export_collapsed(const struct profile *p, FILE *out);

/* A self-contained interactive SVG flamegraph (export_svg.c). */
int export_svg(const struct profile *p, FILE *out, const char *title);

/* speedscope's JSON file format, one sampled profile per thread
 * (export_speedscope.c). */
int export_speedscope(const struct profile *p, FILE *out, const char *name);

/* Dispatches on format; writes to path atomically (temp file + rename). */
int export_write_file(const struct profile *p, enum export_format f, const char *path,
		      const char *title);

#endif
