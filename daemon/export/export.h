/* export.h - a profile in the formats users open: where profiles are
 * encoded.  Every format goes through export_encode(), every file through
 * output_write() (sys/fileio.h): the same bytes locally and through the
 * daemon. */
#ifndef PYBPF_EXPORT_H
#define PYBPF_EXPORT_H

#include <stddef.h>
#include <stdio.h>

#include "profile/profile.h"

enum export_format {
	EXPORT_PPROF,
	EXPORT_COLLAPSED,
	EXPORT_SVG,
	EXPORT_SPEEDSCOPE,
	EXPORT_CHROMETRACE,
};

/* Parses "pprof", "collapsed", "svg", "speedscope", "chrometrace"; -1
 * when unknown. */
int export_format_parse(const char *name);
const char *export_format_name(enum export_format f);
/* The format a path's extension asks for: .svg, .txt/.collapsed/.folded,
 * .json/.speedscope, .trace/.trace.json (chrometrace); pprof for anything
 * else. */
enum export_format export_format_from_path(const char *path);

/* gzip'd profile.proto (pprof.c), in a malloc'd buffer.  0, or -1 with errno. */
int export_pprof_buf(const struct profile *p, unsigned char **buf, size_t *len);
int export_pprof(const struct profile *p, FILE *out);

/* "root;...;leaf COUNT" lines (collapsed.c). */
int export_collapsed(const struct profile *p, FILE *out);

/* A self-contained interactive SVG flamegraph (svg.c). */
int export_svg(const struct profile *p, FILE *out, const char *title);

/* speedscope's JSON file format, one sampled profile per thread
 * (speedscope.c). */
int export_speedscope(const struct profile *p, FILE *out, const char *name);

/* Chrome's trace-event JSON, each thread a flame chart of its stacks laid
 * end to end (chrometrace.c). */
int export_chrometrace(const struct profile *p, FILE *out, const char *name);

/* Ends an exporter's output: flushes out and reports any write error
 * (errno, EIO when the stream did not say).  0 or -1. */
int export_finish(FILE *out);

/* The profile in format f, in a malloc'd buffer the caller frees.  0, or -1
 * with errno. */
int export_encode(const struct profile *p, enum export_format f, const char *title,
		  unsigned char **buf, size_t *len);

/* Encodes and writes to path ("-" for stdout; a device or FIFO in place; a
 * file atomically). */
int export_write_file(const struct profile *p, enum export_format f, const char *path,
		      const char *title);

#endif
