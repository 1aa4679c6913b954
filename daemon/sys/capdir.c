/* capdir.c - a bounded directory of complete files. */
#define _GNU_SOURCE
#include "sys/capdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/fileio.h"

static int cmp_ent(const struct capdir_ent *a, const struct capdir_ent *b)
{
	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int cmp_ent_q(const void *a, const void *b)
{
	return cmp_ent(a, b);
}

long capdir_find(const struct capdir *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->ents[i].name, name))
			return (long)i;
	return -1;
}

static void unindex(struct capdir *d, size_t i)
{
	d->bytes -= d->ents[i].size;
	memmove(&d->ents[i], &d->ents[i + 1], (d->n - i - 1) * sizeof(*d->ents));
	d->n--;
}

int capdir_add(struct capdir *d, const char *name, uint64_t size, uint64_t order)
{
	struct capdir_ent e = {.size = size, .order = order};
	if (strlen(name) >= sizeof(e.name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	long old = capdir_find(d, name);
	if (old >= 0)
		unindex(d, (size_t)old); /* rewritten: its new size and age */
	snprintf(e.name, sizeof(e.name), "%s", name);
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 64;
		struct capdir_ent *ne = realloc(d->ents, ncap * sizeof(*ne));
		if (!ne)
			return -1;
		d->ents = ne;
		d->cap = ncap;
	}
	/* almost always the end: new files are the newest */
	size_t i = d->n;
	while (i > 0 && cmp_ent(&d->ents[i - 1], &e) > 0)
		i--;
	memmove(&d->ents[i + 1], &d->ents[i], (d->n - i) * sizeof(*d->ents));
	d->ents[i] = e;
	d->n++;
	d->bytes += size;
	return 0;
}

void capdir_remove(struct capdir *d, size_t i)
{
	if (i >= d->n)
		return;
	unlinkat(d->dirfd, d->ents[i].name, 0);
	unindex(d, i);
}

size_t capdir_enforce(struct capdir *d, void (*on_drop)(void *ctx, const struct capdir_ent *e),
		      void *ctx)
{
	size_t dropped = 0;
	while (d->bytes > d->max_bytes && d->n > 1) {
		if (on_drop)
			on_drop(ctx, &d->ents[0]);
		capdir_remove(d, 0);
		dropped++;
	}
	return dropped;
}

int capdir_write(const struct capdir *d, const char *name, mode_t mode, const struct iovec *iov,
		 int iovcnt, uint64_t *size)
{
	uint64_t n = 0;
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	if (atomic_write_at(d->dirfd, name, mode, iov, iovcnt))
		return -1;
	*size = n;
	return 0;
}

/* Removes temporary files and indexes the members. */
static int scan(struct capdir *d, char *err, size_t errlen)
{
	int fd = dup(d->dirfd);
	DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	if (!dh) {
		snprintf(err, errlen, "%s: %s", d->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(dh))) {
		struct stat st;
		uint64_t order;
		if (!strncmp(de->d_name, ATOMIC_TMP_PREFIX, strlen(ATOMIC_TMP_PREFIX))) {
			unlinkat(d->dirfd, de->d_name, 0);
			continue;
		}
		if (fstatat(d->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode) || !d->accept(de->d_name, &st, &order))
			continue;
		if (strlen(de->d_name) >= sizeof(d->ents->name))
			continue;
		if (capdir_add(d, de->d_name, (uint64_t)st.st_size, order)) {
			closedir(dh);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	closedir(dh);
	if (d->n)
		qsort(d->ents, d->n, sizeof(*d->ents), cmp_ent_q);
	return 0;
}

int capdir_open(struct capdir *d, const char *path, mode_t mode, uint64_t max_bytes,
		capdir_accept_fn accept, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->dirfd = -1;
	d->max_bytes = max_bytes;
	d->accept = accept;
	if (strlen(path) >= sizeof(d->path)) {
		snprintf(err, errlen, "%.64s...: path too long", path);
		return -1;
	}
	snprintf(d->path, sizeof(d->path), "%s", path);
	if (mkdir_p(path, mode)) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	d->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (scan(d, err, errlen)) {
		capdir_close(d);
		return -1;
	}
	return 0;
}

void capdir_close(struct capdir *d)
{
	if (d->dirfd >= 0)
		close(d->dirfd);
	free(d->ents);
	memset(d, 0, sizeof(*d));
	d->dirfd = -1;
}
