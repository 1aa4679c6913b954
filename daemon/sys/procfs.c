/* procfs.c - bounded reads of /proc. */
#define _GNU_SOURCE
#include "sys/procfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/fileio.h"

static void path_of(char *buf, size_t len, pid_t pid, uint32_t tid, const char *what)
{
	if (tid)
		snprintf(buf, len, "/proc/%d/task/%u/%s", (int)pid, tid, what);
	else
		snprintf(buf, len, "/proc/%d/%s", (int)pid, what);
}

char *procfs_read(pid_t pid, uint32_t tid, const char *what, size_t *n)
{
	char path[96];
	path_of(path, sizeof(path), pid, tid, what);
	return read_file_bounded(path, PROCFS_READ_MAX, 1, n);
}

bool procfs_alive(pid_t pid)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}

uid_t procfs_uid(pid_t pid)
{
	char path[32];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
}

/* The numeric entries of a /proc directory. */
static uint32_t *numeric_entries(const char *path, size_t *n)
{
	uint32_t *tids = NULL;
	size_t cap = 0;
	struct dirent *e;
	DIR *dir = opendir(path);
	*n = 0;
	if (!dir)
		return NULL;
	while ((e = readdir(dir))) {
		char *end;
		unsigned long tid = strtoul(e->d_name, &end, 10);
		if (!tid || *end || tid > UINT32_MAX)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			uint32_t *nt = realloc(tids, cap * sizeof(*nt));
			if (!nt) {
				free(tids);
				closedir(dir);
				errno = ENOMEM;
				return NULL;
			}
			tids = nt;
		}
		tids[(*n)++] = (uint32_t)tid;
	}
	closedir(dir);
	if (!tids)
		tids = malloc(sizeof(*tids)); /* none: still not an error */
	return tids;
}

uint32_t *procfs_pids(size_t *n)
{
	return numeric_entries("/proc", n);
}

uint32_t *procfs_tasks(pid_t pid, size_t *n)
{
	char path[48];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	return numeric_entries(path, n);
}

uint32_t procfs_count_tasks(pid_t pid)
{
	size_t n;
	free(procfs_tasks(pid, &n));
	return (uint32_t)n;
}

char stat_task_state(const char *text)
{
	/* "pid (comm) S ...": comm may hold ')' and spaces; the last ')' ends it */
	const char *rp = text ? strrchr(text, ')') : NULL;
	if (rp && rp[1] == ' ' && rp[2])
		return rp[2];
	return '?';
}

uint32_t stat_ppid(const char *text)
{
	/* "pid (comm) S ppid ..." */
	const char *rp = text ? strrchr(text, ')') : NULL;
	unsigned long v;
	char *end;
	if (!rp || rp[1] != ' ' || !rp[2] || rp[3] != ' ')
		return 0;
	v = strtoul(rp + 4, &end, 10);
	return end != rp + 4 && v <= UINT32_MAX ? (uint32_t)v : 0;
}

uint32_t procfs_ppid(pid_t pid)
{
	size_t n;
	char *buf = procfs_read(pid, 0, "stat", &n);
	uint32_t ppid = stat_ppid(buf);
	free(buf);
	return ppid;
}

static bool in(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

uint32_t *procfs_descendants(pid_t root, size_t *n)
{
	size_t all;
	uint32_t *pids = procfs_pids(&all), *ppids = NULL, *out = NULL;
	*n = 0;
	if (!pids)
		return NULL;
	ppids = calloc(all ? all : 1, sizeof(*ppids));
	out = calloc(all + 1, sizeof(*out));
	if (!ppids || !out) {
		free(out);
		out = NULL;
		goto done;
	}
	for (size_t i = 0; i < all; i++)
		ppids[i] = procfs_ppid((pid_t)pids[i]);
	out[(*n)++] = (uint32_t)root;
	/* breadth first: out grows as children of its entries are met */
	for (size_t at = 0; at < *n; at++)
		for (size_t i = 0; i < all; i++)
			if (ppids[i] == out[at] && !in(out, *n, pids[i]))
				out[(*n)++] = pids[i];
done:
	free(ppids);
	free(pids);
	return out;
}

char procfs_task_state(pid_t pid, uint32_t tid)
{
	size_t n;
	char *buf = procfs_read(pid, tid, "stat", &n);
	char state = stat_task_state(buf);
	free(buf);
	return state;
}

void procfs_comm(pid_t pid, uint32_t tid, char *out, size_t len)
{
	size_t n;
	char *buf = procfs_read(pid, tid, "comm", &n);
	out[0] = 0;
	if (!buf)
		return;
	buf[strcspn(buf, "\n")] = 0;
	snprintf(out, len, "%s", buf);
	free(buf);
}

uint32_t status_nspid(char *text, uint32_t id)
{
	char *line = text ? strstr(text, "\nNSpid:") : NULL;
	if (line) {
		char *end = strchr(line + 1, '\n');
		if (end)
			*end = 0;
		char *last = strrchr(line + 1, '\t');
		unsigned long v = last ? strtoul(last + 1, NULL, 10) : 0;
		if (v && v <= UINT32_MAX)
			id = (uint32_t)v;
	}
	return id;
}

uint32_t procfs_nspid(pid_t pid, uint32_t tid)
{
	size_t n;
	char *buf = procfs_read(pid, tid, "status", &n);
	uint32_t id = status_nspid(buf, tid ? tid : (uint32_t)pid);
	free(buf);
	return id;
}

/* The path of a "hierarchy:controllers:path" line, if its controllers
 * match want ("" for the v2 line). */
static bool cgroup_line(const char *line, const char *end, bool v2, const char *controllers,
			char *out, size_t len)
{
	const char *c1 = memchr(line, ':', (size_t)(end - line));
	const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
	if (!c2)
		return false;
	bool is_v2 = c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;
	if (is_v2 != v2)
		return false;
	if (controllers && (size_t)(c2 - c1 - 1) != strlen(controllers))
		return false;
	if (controllers && memcmp(c1 + 1, controllers, strlen(controllers)))
		return false;
	snprintf(out, len, "%.*s", (int)(end - c2 - 1), c2 + 1);
	return true;
}

static bool cgroup_find(const char *text, bool v2, const char *controllers, char *out, size_t len)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);
		if (cgroup_line(line, end, v2, controllers, out, len))
			return true;
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

void cgroup_primary_path(const char *text, char *out, size_t len)
{
	out[0] = 0;
	if (!text)
		return;
	if (!cgroup_find(text, true, NULL, out, len) &&
	    !cgroup_find(text, false, "name=systemd", out, len))
		cgroup_find(text, false, NULL, out, len);
}

void procfs_cgroup(pid_t pid, char *out, size_t len)
{
	size_t n;
	char *buf = procfs_read(pid, 0, "cgroup", &n);
	cgroup_primary_path(buf, out, len);
	free(buf);
}

void procfs_root(pid_t pid, char *out, size_t len)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	ssize_t n = readlink(path, out, len - 1);
	out[n > 0 ? n : 0] = 0;
	if (!strcmp(out, "/"))
		out[0] = 0;
}

int procfs_exe(pid_t pid, char *out, size_t len)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, out, len - 1);
	if (n < 0)
		return -1;
	out[n] = 0;
	return 0;
}

void procfs_cmdline_text(pid_t pid, char *out, size_t len)
{
	size_t n;
	char *buf = procfs_read(pid, 0, "cmdline", &n);
	out[0] = 0;
	if (!buf)
		return;
	while (n > 0 && buf[n - 1] == 0)
		n--;
	if (n > len - 1)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = buf[i] && isprint((unsigned char)buf[i]) ? buf[i] : ' ';
	out[n] = 0;
	free(buf);
}

int syscall_parse(const char *text, long *nr, uint64_t args[2])
{
	unsigned long long a0 = 0, a1 = 0;
	int got = text ? sscanf(text, "%ld %llx %llx", nr, &a0, &a1) : 0;
	if (got < 1 || *nr < 0)
		return -1; /* "running", or not in a syscall */
	args[0] = a0;
	args[1] = a1;
	return 0;
}

int procfs_syscall(pid_t pid, uint32_t tid, long *nr, uint64_t args[2])
{
	size_t n;
	char *buf = procfs_read(pid, tid, "syscall", &n);
	int ret = syscall_parse(buf, nr, args);
	free(buf);
	return ret;
}

enum procfs_fd_kind procfs_fd_kind(pid_t pid, long fd)
{
	char path[64], target[256];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", (int)pid, fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return FD_KIND_OTHER;
	target[n] = 0;
	if (!strncmp(target, "socket:", 7))
		return FD_KIND_SOCKET;
	if (stat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return FD_KIND_FILE;
	return FD_KIND_OTHER;
}

void procfs_self_usage(double *cpu_s, uint64_t *rss_bytes)
{
	size_t n;
	char *stat = read_file_bounded("/proc/self/stat", 4096, 1, &n);
	char *statm = read_file_bounded("/proc/self/statm", 4096, 1, &n);
	unsigned long ut = 0, st = 0, size = 0, rss = 0;
	const char *p = stat ? strrchr(stat, ')') : NULL;
	*cpu_s = 0;
	*rss_bytes = 0;
	/* after ") ": state(3) ... utime(14) stime(15) */
	if (p &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
		*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	if (statm && sscanf(statm, "%lu %lu", &size, &rss) == 2)
		*rss_bytes = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
	free(stat);
	free(statm);
}
