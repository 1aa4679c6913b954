/* fileio.c - whole reads and writes, and atomic output. */
#define _GNU_SOURCE
#include "sys/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int writev_all(int fd, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++)
		if (write_all(fd, iov[i].iov_base, iov[i].iov_len))
			return -1;
	return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

char *read_fd_bounded(int fd, size_t max, int truncate_ok, size_t *n_out)
{
	size_t n = 0, cap = max < 4096 ? max : 4096;
	char *buf = malloc(cap + 1);
	if (!buf)
		return NULL;
	for (;;) {
		if (n == cap) {
			if (cap == max) {
				char extra;
				ssize_t r = read_full(fd, &extra, 1);
				if (r == 0 || truncate_ok)
					break;
				free(buf);
				errno = r < 0 ? errno : EFBIG;
				return NULL;
			}
			size_t ncap = cap * 2 < max ? cap * 2 : max;
			char *nb = realloc(buf, ncap + 1);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	*n_out = n;
	return buf;
}

char *read_file_bounded(const char *path, size_t max, int truncate_ok, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	char *buf = read_fd_bounded(fd, max, truncate_ok, n);
	int e = errno;
	close(fd);
	errno = e;
	return buf;
}

int mkdir_p(const char *dir, mode_t mode)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, n + 1);
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, mode) && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(path, mode) && errno != EEXIST)
		return -1;
	return 0;
}

int atomic_write_at(int dirfd, const char *name, mode_t mode, const struct iovec *iov, int iovcnt)
{
	char tmp[64];
	int saved;

	/* mkostemp needs a path; the directory is open: make the name there */
	for (int tries = 0; tries < 100; tries++) {
		unsigned r = (unsigned)random() ^ (unsigned)getpid() ^ (unsigned)(tries * 7919);
		snprintf(tmp, sizeof(tmp), ATOMIC_TMP_PREFIX "%08x%02d", r, tries);
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return -1;
		if (fchmod(fd, mode) || writev_all(fd, iov, iovcnt) || fsync(fd))
			goto fail_fd;
		if (close(fd)) {
			fd = -1;
			goto fail_fd;
		}
		if (renameat(dirfd, tmp, dirfd, name))
			goto fail_name;
		fsync(dirfd); /* the rename itself, durable; a failure loses nothing */
		return 0;
	fail_fd:
		saved = errno;
		if (fd >= 0)
			close(fd);
		errno = saved;
	fail_name:
		saved = errno;
		unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	errno = EEXIST;
	return -1;
}

/* Where a path's symlinks lead (the last component may not exist yet). */
static int resolve(const char *path, char *out, size_t len)
{
	char cur[PATH_MAX];
	snprintf(cur, sizeof(cur), "%s", path);
	for (int hops = 0; hops < 40; hops++) {
		char target[PATH_MAX];
		ssize_t n = readlink(cur, target, sizeof(target) - 1);
		if (n < 0) {
			if (errno != EINVAL && errno != ENOENT)
				return -1;
			snprintf(out, len, "%s", cur); /* not a symlink: here */
			return 0;
		}
		target[n] = 0;
		if (target[0] == '/') {
			snprintf(cur, sizeof(cur), "%s", target);
			continue;
		}
		char *slash = strrchr(cur, '/');
		char dir[PATH_MAX] = ".";
		if (slash)
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - cur), cur);
		if (snprintf(cur, sizeof(cur), "%s/%s", slash && slash == cur ? "" : dir, target) >=
		    (int)sizeof(cur)) {
			errno = ENAMETOOLONG;
			return -1;
		}
	}
	errno = ELOOP;
	return -1;
}

static int write_in_place(const char *path, const struct iovec *iov, int iovcnt)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	int r = writev_all(fd, iov, iovcnt);
	int e = errno;
	if (close(fd) && !r)
		return -1;
	errno = e;
	return r;
}

int output_write(const char *path, mode_t mode, const struct iovec *iov, int iovcnt)
{
	char real[PATH_MAX];
	struct stat st;

	if (!path || !*path) {
		errno = EINVAL;
		return -1;
	}
	if (!strcmp(path, "-"))
		return writev_all(STDOUT_FILENO, iov, iovcnt);
	if (resolve(path, real, sizeof(real)))
		return -1;
	if (stat(real, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return -1;
		}
		return write_in_place(real, iov, iovcnt);
	}
	char dir[PATH_MAX] = ".";
	const char *slash = strrchr(real, '/'), *name = slash ? slash + 1 : real;
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", slash == real ? 1 : (int)(slash - real), real);
	if (!*name) {
		errno = EISDIR;
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	int r = atomic_write_at(dfd, name, mode, iov, iovcnt);
	int e = errno;
	close(dfd);
	errno = e;
	return r;
}
