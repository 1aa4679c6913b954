/* export.c - format names and atomic export to a file. */
#define _GNU_SOURCE /* asprintf, mkostemp */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const format_names[] = {
	[EXPORT_PPROF] = "pprof",
	[EXPORT_COLLAPSED] = "collapsed",
	[EXPORT_SVG] = "svg",
	[EXPORT_SPEEDSCOPE] = "speedscope",
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

static int export_to(const struct profile *p, enum export_format f, FILE *out, const char *title)
{
	switch (f) {
	case EXPORT_PPROF:
		return export_pprof(p, out);
	case EXPORT_COLLAPSED:
		return export_collapsed(p, out);
	case EXPORT_SVG:
		return export_svg(p, out, title);
	case EXPORT_SPEEDSCOPE:
		return export_speedscope(p, out, title);
	}
	errno = EINVAL;
	return -1;
}

static int export_stdout(const struct profile *p, enum export_format f, const char *title)
{
	if (export_to(p, f, stdout, title))
		return -1;
	errno = 0;
	if (fflush(stdout) || ferror(stdout)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

/* Makes the rename durable; best effort, a failure here loses nothing. */
static void sync_parent_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* Writes, flushes, syncs and closes f; closes it even on error. */
static int write_and_close(const struct profile *p, enum export_format fmt, FILE *f,
			   const char *title)
{
	int ret = -1, saved;

	if (export_to(p, fmt, f, title))
		goto out;
	errno = 0;
	if (fflush(f) || ferror(f)) {
		if (!errno)
			errno = EIO;
		goto out;
	}
	if (fsync(fileno(f)))
		goto out;
	ret = 0;
out:
	saved = errno;
	if (fclose(f) && ret == 0) {
		ret = -1;
		saved = errno;
	}
	errno = saved;
	return ret;
}

int export_write_file(const struct profile *p, enum export_format fmt, const char *path,
		      const char *title)
{
	char *tmp = NULL;
	FILE *f = NULL;
	int fd = -1, ret = -1, saved;

	if (!p || !path || !*path || (unsigned)fmt >= NFORMATS) {
		errno = EINVAL;
		return -1;
	}
	if (strcmp(path, "-") == 0)
		return export_stdout(p, fmt, title);

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		tmp = NULL;
		errno = ENOMEM;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		goto out_free;
	/* mkstemp makes it 0600; profiles are meant to be read by their user. */
	if (fchmod(fd, 0644))
		goto out_unlink;
	f = fdopen(fd, "w");
	if (!f)
		goto out_unlink;
	fd = -1; /* owned by f now */
	if (write_and_close(p, fmt, f, title))
		goto out_unlink;
	if (rename(tmp, path))
		goto out_unlink;
	sync_parent_dir(path);
	ret = 0;
	goto out_free;

out_unlink:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
out_free:
	saved = errno;
	free(tmp);
	errno = saved;
	return ret;
}
