/* procmaps.c - a process's memory mappings, from /proc/PID/maps. */
#define _GNU_SOURCE
#include "sys/procmaps.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PROCMAPS_MAX 65536

static int parse_line(char *line, struct mapping *m)
{
	char perms[8] = "";
	int pathpos = 0;
	unsigned long long start, end, off, inode;
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off,
		   &m->dev_major, &m->dev_minor, &inode, &pathpos) < 7)
		return -1;
	m->start = start;
	m->end = end;
	m->offset = off;
	m->inode = inode;
	m->exec = perms[2] == 'x';
	char *path = pathpos ? line + pathpos : line + strlen(line);
	path[strcspn(path, "\n")] = 0;
	m->path = strdup(path);
	return m->path ? 0 : -1;
}

int procmaps_parse(FILE *f, struct procmaps *out)
{
	char *line = NULL;
	size_t cap = 0, mcap = 0;
	int ret = -1;

	out->m = NULL;
	out->n = 0;
	while (getline(&line, &cap, f) > 0) {
		if (out->n == PROCMAPS_MAX) {
			errno = E2BIG;
			goto out;
		}
		if (out->n == mcap) {
			mcap = mcap ? mcap * 2 : 64;
			struct mapping *nm = realloc(out->m, mcap * sizeof(*nm));
			if (!nm)
				goto out;
			out->m = nm;
		}
		if (parse_line(line, &out->m[out->n]) == 0)
			out->n++;
	}
	ret = 0;
out:
	free(line);
	if (ret)
		procmaps_free(out);
	return ret;
}

int procmaps_read(pid_t pid, struct procmaps *out)
{
	char fn[64];

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	snprintf(fn, sizeof(fn), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(fn, "re");
	if (!f)
		return -1;
	int ret = procmaps_parse(f, out);
	fclose(f);
	return ret;
}

void procmaps_free(struct procmaps *pm)
{
	for (size_t i = 0; i < pm->n; i++)
		free(pm->m[i].path);
	free(pm->m);
	pm->m = NULL;
	pm->n = 0;
}

const struct mapping *procmaps_find(const struct procmaps *pm, uint64_t addr)
{
	size_t lo = 0, hi = pm->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < pm->m[mid].start)
			hi = mid;
		else if (addr >= pm->m[mid].end)
			lo = mid + 1;
		else
			return &pm->m[mid];
	}
	return NULL;
}

int procmaps_open(const struct procmaps *pm, const struct mapping *m)
{
	char fn[PATH_MAX + 64];
	struct stat st;
	snprintf(fn, sizeof(fn), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pm->pid, m->start,
		 m->end);
	int fd = open(fn, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || (errno != EPERM && errno != EACCES) || m->path[0] != '/')
		return fd;
	/* map_files wants CAP_SYS_ADMIN: the same file through the process's
	 * root, if it is still the one mapped */
	snprintf(fn, sizeof(fn), "/proc/%d/root%s", (int)pm->pid, m->path);
	fd = open(fn, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* same device, other inode: replaced since it was mapped (overlay
	 * filesystems show other device numbers in maps: trusted) */
	if (fstat(fd, &st) || (major(st.st_dev) == m->dev_major &&
			       minor(st.st_dev) == m->dev_minor && st.st_ino != m->inode)) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	return fd;
}

uint64_t procmaps_base(const struct procmaps *pm, const struct mapping *m)
{
	for (size_t i = 0; i < pm->n; i++) {
		const struct mapping *o = &pm->m[i];
		if (o->inode == m->inode && o->dev_major == m->dev_major &&
		    o->dev_minor == m->dev_minor && o->offset == 0)
			return o->start;
	}
	return 0;
}
