/* export.c - format names, encoding into memory, and writing out. */
#define _GNU_SOURCE
#include "export/export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>

#include "sys/fileio.h"

static const char *const format_names[] = {
	[EXPORT_PPROF] = "pprof",
	[EXPORT_COLLAPSED] = "collapsed",
	[EXPORT_SVG] = "svg",
	[EXPORT_SPEEDSCOPE] = "speedscope",
	[EXPORT_CHROMETRACE] = "chrometrace",
};

#define NFORMATS (sizeof(format_names) / sizeof(format_names[0]))

int export_format_parse(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < NFORMATS; i++) {
		if (strcasecmp(name, format_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

const char *export_format_name(enum export_format f)
{
	if ((unsigned)f >= NFORMATS)
		return "unknown";
	return format_names[f];
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

enum export_format export_format_from_path(const char *path)
{
	if (ends_with(path, ".svg"))
		return EXPORT_SVG;
	if (ends_with(path, ".collapsed") || ends_with(path, ".folded") || ends_with(path, ".txt"))
		return EXPORT_COLLAPSED;
	if (ends_with(path, ".trace") || ends_with(path, ".trace.json"))
		return EXPORT_CHROMETRACE;
	if (ends_with(path, ".json") || ends_with(path, ".speedscope"))
		return EXPORT_SPEEDSCOPE;
	return EXPORT_PPROF;
}

int export_finish(FILE *out)
{
	if (!fflush(out) && !ferror(out))
		return 0;
	if (!errno)
		errno = EIO;
	return -1;
}

static int export_text(const struct profile *p, enum export_format f, FILE *out, const char *title)
{
	switch (f) {
	case EXPORT_COLLAPSED:
		return export_collapsed(p, out);
	case EXPORT_SVG:
		return export_svg(p, out, title);
	case EXPORT_SPEEDSCOPE:
		return export_speedscope(p, out, title);
	case EXPORT_CHROMETRACE:
		return export_chrometrace(p, out, title);
	case EXPORT_PPROF:
		break;
	}
	errno = EINVAL;
	return -1;
}

int export_encode(const struct profile *p, enum export_format f, const char *title,
		  unsigned char **buf, size_t *len)
{
	if (!p || (unsigned)f >= NFORMATS) {
		errno = EINVAL;
		return -1;
	}
	if (f == EXPORT_PPROF)
		return export_pprof_buf(p, buf, len);
	char *mem = NULL;
	FILE *mf = open_memstream(&mem, len);
	if (!mf)
		return -1;
	int r = export_text(p, f, mf, title);
	int saved = errno;
	if (fclose(mf) && !r) {
		r = -1;
		saved = ENOMEM;
	}
	if (r) {
		free(mem);
		errno = saved;
		return -1;
	}
	*buf = (unsigned char *)mem;
	return 0;
}

int export_write_file(const struct profile *p, enum export_format fmt, const char *path,
		      const char *title)
{
	unsigned char *buf;
	size_t len;

	if (!path || !*path) {
		errno = EINVAL;
		return -1;
	}
	if (export_encode(p, fmt, title, &buf, &len))
		return -1;
	struct iovec iov = {buf, len};
	int r = output_write(path, 0644, &iov, 1);
	int saved = errno;
	free(buf);
	errno = saved;
	return r;
}
