/* daemon/service/windows.c and spool.c: each tick's on-CPU samples go to
 * their service's window (off-CPU ones do not); a window ends encoded once
 * per service; the spool writes each atomically, names it by service and
 * start, and deletes the oldest beyond its cap (never the newest). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "service/spool.h"
#include "service/windows.h"

static const char *service_of(void *ctx, uint32_t pid)
{
	(void)ctx;
	return pid < 100 ? "web" : "worker";
}

/* A tick: one sample of leaf "name" for pid, count n, on CPU or not. */
static void add(struct profile *p, uint32_t pid, const char *name, uint64_t n, const char *reason)
{
	struct prof_frame f = {.kind = PROF_FRAME_PYTHON, .name = name, .file = "a.py", .line = 1};
	int64_t fi = profile_frame(p, &f);
	assert_true(fi >= 0);
	uint32_t idx = (uint32_t)fi;
	assert_int_equal(profile_add(p, &idx, 1, n, n * 10101010, pid, pid, "t", reason), 0);
}

struct exported {
	char service[8][32];
	uint64_t from[8], until[8];
	size_t len[8];
	size_t n;
};

static void on_export(void *ctx, const struct window_out *w)
{
	struct exported *e = ctx;
	assert_true(e->n < 8);
	snprintf(e->service[e->n], sizeof(e->service[0]), "%s", w->service);
	e->from[e->n] = w->from_s;
	e->until[e->n] = w->until_s;
	e->len[e->n] = w->len;
	/* gzip'd: the magic bytes */
	assert_true(w->len > 2 && w->pprof[0] == 0x1f && w->pprof[1] == 0x8b);
	e->n++;
}

static uint64_t service_total(const struct windows *ws, const char *name)
{
	for (size_t i = 0; i < ws->n; i++)
		if (!strcmp(ws->w[i].name, name))
			return ws->w[i].prof->total_count;
	return 0;
}

static void windows_by_service(void **state)
{
	(void)state;
	struct windows ws;
	struct profile tick;
	const uint64_t t0 = 1700000000ULL * 1000000000ULL;
	windows_init(&ws, 99, t0, 5);
	assert_int_equal(profile_init(&tick, 99), 0);
	add(&tick, 10, "handler", 30, "");
	add(&tick, 11, "handler", 5, "cpu");
	add(&tick, 200, "task", 7, "");
	add(&tick, 10, "recv", 99, "socket"); /* off CPU: not in the windows */
	assert_int_equal(windows_feed(&ws, &tick, service_of, NULL), 0);
	assert_int_equal(windows_feed(&ws, &tick, service_of, NULL), 0);
	assert_int_equal(ws.n, 2);
	assert_int_equal(service_total(&ws, "web"), 2 * 35);
	assert_int_equal(service_total(&ws, "worker"), 2 * 7);

	struct exported e = {0};
	uint64_t encode_errors = 0;
	size_t n = windows_flush(&ws, t0 + 15500000000ULL, 6, 99, on_export, &e, &encode_errors);
	assert_int_equal(n, 2);
	assert_int_equal(e.n, 2);
	assert_int_equal(encode_errors, 0);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(e.from[i], 1700000000ULL);
		assert_int_equal(e.until[i], 1700000016ULL); /* rounded up */
	}
	/* a new window, empty, starting at the flush */
	assert_int_equal(ws.n, 0);
	assert_int_equal(ws.start_real, t0 + 15500000000ULL);
	e.n = 0;
	assert_int_equal(
		windows_flush(&ws, t0 + 31000000000ULL, 7, 99, on_export, &e, &encode_errors), 0);
	assert_int_equal(e.n, 0); /* nothing sampled: nothing exported */
	windows_free(&ws);
	profile_free(&tick);
}

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/pybpf-spool-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static size_t count_files(const char *dir, const char *prefix)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	assert_non_null(dh);
	while ((de = readdir(dh)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(dh);
	return n;
}

static void rm_rf(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void spool_files_and_cap(void **state)
{
	(void)state;
	char *dir = tmpdir(), path[512];
	static char body[40000];
	memset(body, 'p', sizeof(body));
	/* a temporary file a crash left, and a foreign file the cap ignores */
	snprintf(path, sizeof(path), "%s/.tmp-deadbeef", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));

	struct spool s = {0};
	assert_int_equal(spool_open(&s, dir, 100000), 0);
	assert_int_equal(count_files(dir, ".tmp-"), 0);
	/* 1700000000 is 2023-11-14T22:13:20Z */
	assert_int_equal(spool_write(&s, "web", 1700000000, body, sizeof(body)), 0);
	snprintf(path, sizeof(path), "%s/web-20231114T221320Z.pb.gz", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(body));
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(spool_write(&s, "web", 1700000015, body, sizeof(body)), 0);
	assert_int_equal(s.st.deleted, 0);
	/* a third file passes the cap: the oldest goes */
	assert_int_equal(spool_write(&s, "worker", 1700000030, body, sizeof(body)), 0);
	assert_int_equal(s.st.deleted, 1);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(count_files(dir, "web-"), 1);
	assert_int_equal(count_files(dir, "worker-"), 1);
	assert_int_equal(count_files(dir, "notes"), 1);
	assert_int_equal(s.st.written, 3);
	spool_close(&s);

	/* reopened with a cap below one file: the newest stays alone */
	assert_int_equal(spool_open(&s, dir, 1000), 0);
	assert_int_equal(count_files(dir, "web-") + count_files(dir, "worker-"), 1);
	assert_int_equal(count_files(dir, "worker-"), 1);
	spool_close(&s);
	rm_rf(dir);
	free(dir);
}

static void spool_unwritable(void **state)
{
	(void)state;
	struct spool s = {0};
	/* a path under a regular file cannot be a directory */
	assert_int_equal(spool_open(&s, "/dev/null/spool", 1000), -1);
	assert_int_equal(s.st.errors, 1);
	assert_non_null(strstr(s.st.last_error, "/dev/null/spool"));
	/* each window tries again, and counts */
	assert_int_equal(spool_write(&s, "web", 1, "x", 1), -1);
	assert_int_equal(s.st.errors, 2);
	spool_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(windows_by_service),
		cmocka_unit_test(spool_files_and_cap),
		cmocka_unit_test(spool_unwritable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
