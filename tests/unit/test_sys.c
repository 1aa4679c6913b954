/* daemon/sys: the one hash table, the strict number parser, output that
 * never replaces a device, FIFO or symlink, the bounded directory, and the
 * /proc readers (on this process). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/capdir.h"
#include "sys/fileio.h"
#include "sys/htab.h"
#include "sys/parse.h"
#include "sys/procfs.h"
#include "sys/textesc.h"

/* --- htab ----------------------------------------------------------------------- */

static const uint64_t *keys_of;

static bool key_eq(const void *ctx, uint32_t v)
{
	return keys_of[v] == *(const uint64_t *)ctx;
}

static void htab_put_get_del(void **state)
{
	(void)state;
	enum { N = 5000 };
	static uint64_t keys[N];
	struct htab t;
	keys_of = keys;
	assert_int_equal(htab_init(&t, 0), 0);
	for (uint32_t i = 0; i < N; i++) {
		/* many equal hashes: eq tells them apart */
		keys[i] = (uint64_t)i * 7919;
		assert_int_equal(htab_put(&t, i % 97, i), 0);
	}
	assert_int_equal(t.used, N);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(htab_get(&t, i % 97, key_eq, &keys[i]), i);
	/* delete every other one: the rest stay findable (backward shift) */
	for (uint32_t i = 0; i < N; i += 2)
		assert_int_equal(htab_del(&t, i % 97, i), 0);
	assert_int_equal(htab_del(&t, 0, 0), -1);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(htab_get(&t, i % 97, key_eq, &keys[i]), i % 2 ? (int64_t)i : -1);
	htab_clear(&t);
	assert_int_equal(htab_get(&t, 1, NULL, NULL), -1);
	htab_free(&t);
}

static void htab_random_against_array(void **state)
{
	(void)state;
	enum { N = 2000 };
	static uint64_t keys[N];
	static bool in[N];
	struct htab t;
	keys_of = keys;
	assert_int_equal(htab_init(&t, 8), 0);
	srandom(42);
	for (uint32_t i = 0; i < N; i++)
		keys[i] = (uint64_t)random() % 300; /* collisions on purpose */
	for (int round = 0; round < 20000; round++) {
		uint32_t i = (uint32_t)random() % N;
		if (in[i])
			assert_int_equal(htab_del(&t, keys[i], i), 0);
		else
			assert_int_equal(htab_put(&t, keys[i], i), 0);
		in[i] = !in[i];
	}
	for (uint32_t i = 0; i < N; i++) {
		bool found = false;
		for (size_t j = 0; j < t.cap; j++)
			found |= t.val[j] == i + 1;
		assert_int_equal(found, in[i]);
		if (in[i])
			assert_true(htab_get(&t, keys[i], NULL, NULL) >= 0);
	}
	htab_free(&t);
}

/* --- parse ---------------------------------------------------------------------- */

static void numbers(void **state)
{
	(void)state;
	uint64_t u;
	double d;
	bool b;
	assert_int_equal(parse_u64("42", 1, 100, &u), PARSE_OK);
	assert_int_equal(u, 42);
	assert_int_equal(parse_u64("0", 1, 100, &u), PARSE_RANGE);
	assert_int_equal(parse_u64("101", 1, 100, &u), PARSE_RANGE);
	assert_int_equal(parse_u64("-3", 0, 100, &u), PARSE_RANGE);
	assert_int_equal(parse_u64("99999999999999999999", 0, UINT64_MAX, &u), PARSE_RANGE);
	const char *bad[] = {"", " 5", "5 ", "+5", "5x", "0x10", "1e3", "-", "--1", NULL};
	for (int i = 0; bad[i]; i++)
		assert_int_equal(parse_u64(bad[i], 0, UINT64_MAX, &u), PARSE_SYNTAX);
	assert_int_equal(parse_u64(NULL, 0, 1, &u), PARSE_SYNTAX);

	assert_int_equal(parse_double("0.5", 0, 10, &d), PARSE_OK);
	assert_float_equal(d, 0.5, 0);
	assert_int_equal(parse_double("1e1", 0, 10, &d), PARSE_OK);
	assert_int_equal(parse_double("11", 0, 10, &d), PARSE_RANGE);
	assert_int_equal(parse_double("-1", 0, 10, &d), PARSE_RANGE);
	assert_int_equal(parse_double("1e999", 0, INFINITY, &d), PARSE_RANGE);
	const char *nan_like[] = {"nan", "NaN", "-nan", "inf", "+inf", "-Infinity",
				  " 1",	 "1 ",	"",	"1s",  ".",    NULL};
	for (int i = 0; nan_like[i]; i++)
		assert_int_equal(parse_double(nan_like[i], -1e9, 1e9, &d), PARSE_SYNTAX);

	assert_int_equal(parse_bool("Yes", &b), PARSE_OK);
	assert_true(b);
	assert_int_equal(parse_bool("off", &b), PARSE_OK);
	assert_false(b);
	assert_int_equal(parse_bool("2", &b), PARSE_SYNTAX);
}

/* --- fileio ----------------------------------------------------------------------- */

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pybpf-sys-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *path)
{
	size_t n;
	char *b = read_file_bounded(path, 1 << 20, 0, &n);
	assert_non_null(b);
	return b;
}

static int out(const char *path, const char *text)
{
	struct iovec iov = {(void *)text, strlen(text)};
	return output_write(path, 0644, &iov, 1);
}

static void output_rules(void **state)
{
	(void)state;
	char file[128], link[128], fifo[128], rel[128];
	struct stat st;
	make_dir();
	/* a new file, then replaced atomically (a new inode, no temporary left) */
	snprintf(file, sizeof(file), "%s/p.svg", dir);
	assert_int_equal(out(file, "one"), 0);
	assert_int_equal(stat(file, &st), 0);
	ino_t first = st.st_ino;
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(out(file, "two"), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_true(st.st_ino != first);
	char *b = slurp(file);
	assert_string_equal(b, "two");
	free(b);
	/* a symlink is followed: the target changes, the link stays a link */
	snprintf(link, sizeof(link), "%s/link.svg", dir);
	assert_int_equal(symlink("p.svg", link), 0);
	assert_int_equal(out(link, "three"), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	b = slurp(file);
	assert_string_equal(b, "three");
	free(b);
	/* a dangling relative symlink: its target is created */
	snprintf(rel, sizeof(rel), "%s/dangling", dir);
	assert_int_equal(symlink("made.txt", rel), 0);
	assert_int_equal(out(rel, "four"), 0);
	snprintf(rel, sizeof(rel), "%s/made.txt", dir);
	b = slurp(rel);
	assert_string_equal(b, "four");
	free(b);
	/* a character device is written in place, never replaced */
	assert_int_equal(out("/dev/null", "gone"), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(out("/dev/full", "x"), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(stat("/dev/full", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	/* a FIFO: a reader gets the bytes, the FIFO stays */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	pid_t child = fork();
	if (child == 0) {
		int fd = open(fifo, O_RDONLY);
		char buf[16] = "";
		ssize_t n = read_full(fd, buf, sizeof(buf) - 1);
		_exit(n == 4 && !strcmp(buf, "data") ? 0 : 1);
	}
	assert_int_equal(out(fifo, "data"), 0);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	/* a directory is refused */
	assert_int_equal(out(dir, "x"), -1);
	assert_int_equal(errno, EISDIR);
	remove_dir();
}

static void bounded_reads(void **state)
{
	(void)state;
	size_t n;
	/* a device that never ends is cut, or refused */
	char *b = read_file_bounded("/dev/zero", 4096, 1, &n);
	assert_non_null(b);
	assert_int_equal(n, 4096);
	free(b);
	assert_null(read_file_bounded("/dev/zero", 4096, 0, &n));
	assert_int_equal(errno, EFBIG);
	assert_null(read_file_bounded("/nonexistent/x", 10, 0, &n));
	assert_int_equal(errno, ENOENT);
}

/* --- capdir ------------------------------------------------------------------------ */

static bool take_all(const char *name, const struct stat *st, uint64_t *order)
{
	(void)st;
	*order = strtoull(name, NULL, 10);
	return name[0] >= '0' && name[0] <= '9';
}

static void capdir_bound(void **state)
{
	(void)state;
	struct capdir d;
	char err[256], name[128];
	uint64_t size;
	make_dir();
	assert_int_equal(capdir_open(&d, dir, 0750, 250, take_all, err, sizeof(err)), 0);
	char body[100];
	memset(body, 'x', sizeof(body));
	struct iovec iov = {body, sizeof(body)};
	for (int i = 1; i <= 4; i++) {
		snprintf(name, sizeof(name), "%d", i);
		assert_int_equal(capdir_write(&d, name, 0640, &iov, 1, &size), 0);
		assert_int_equal(size, 100);
		assert_int_equal(capdir_add(&d, name, size, (uint64_t)i), 0);
		capdir_enforce(&d, NULL, NULL);
	}
	/* 250 bytes hold two of 100: 3 and 4 are left */
	assert_int_equal(d.n, 2);
	assert_string_equal(d.ents[0].name, "3");
	assert_string_equal(d.ents[1].name, "4");
	assert_int_equal(d.bytes, 200);
	capdir_close(&d);
	/* reopened: indexed in age order, bound applied, foreign files alone */
	snprintf(name, sizeof(name), "%s/.tmp-abc", dir);
	close(open(name, O_CREAT | O_WRONLY, 0600));
	snprintf(name, sizeof(name), "%s/zzz", dir);
	close(open(name, O_CREAT | O_WRONLY, 0600));
	assert_int_equal(capdir_open(&d, dir, 0750, 100, take_all, err, sizeof(err)), 0);
	assert_int_equal(access(name, F_OK), 0);
	snprintf(name, sizeof(name), "%s/.tmp-abc", dir);
	assert_int_equal(access(name, F_OK), -1);
	assert_int_equal(d.n, 2);
	assert_int_equal(capdir_enforce(&d, NULL, NULL), 1);
	assert_string_equal(d.ents[0].name, "4"); /* the newest stays */
	capdir_close(&d);
	remove_dir();
}

/* --- procfs ------------------------------------------------------------------------- */

static void procfs_self(void **state)
{
	(void)state;
	char buf[256];
	size_t n;
	pid_t me = getpid();
	assert_true(procfs_alive(me));
	assert_int_equal(procfs_uid(me), getuid());
	uint32_t *tids = procfs_tasks(me, &n);
	assert_non_null(tids);
	assert_int_equal(n, 1);
	assert_int_equal(tids[0], (uint32_t)me);
	free(tids);
	assert_int_equal(procfs_count_tasks(me), 1);
	assert_int_equal(procfs_task_state(me, (uint32_t)me), 'R');
	assert_int_equal(procfs_ppid(me), (uint32_t)getppid());
	/* a child and its child, both below me */
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t kid = fork();
	if (kid == 0) {
		if (fork() == 0) {
			close(ready[0]);
			if (write(ready[1], "x", 1) != 1)
				_exit(1);
			pause();
		}
		pause();
	}
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	size_t nd;
	uint32_t *below = procfs_descendants(me, &nd);
	assert_non_null(below);
	assert_int_equal(nd, 3);
	assert_int_equal(below[0], (uint32_t)me);
	assert_int_equal(below[1], (uint32_t)kid);
	assert_int_equal(procfs_ppid((pid_t)below[2]), (uint32_t)kid);
	kill((pid_t)below[2], SIGKILL);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	free(below);
	close(ready[0]);
	close(ready[1]);
	/* a comm with ") " in it, and lines cut short */
	assert_int_equal(stat_ppid("12 (a) S 9) R 77 1 1"), 77);
	assert_int_equal(stat_ppid("12 (x) S 4242 0"), 4242);
	assert_int_equal(stat_ppid("12 (x) S"), 0);
	assert_int_equal(stat_ppid("12 (x) S x"), 0);
	assert_int_equal(stat_ppid("12 (x) S 99999999999"), 0);
	assert_int_equal(stat_ppid(NULL), 0);
	procfs_comm(me, 0, buf, sizeof(buf));
	assert_string_equal(buf, "test_sys");
	assert_int_equal(procfs_nspid(me, 0), (uint32_t)me);
	assert_int_equal(procfs_exe(me, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "test_sys"));
	procfs_cmdline_text(me, buf, sizeof(buf));
	assert_non_null(strstr(buf, "test_sys"));
	/* a pid that does not exist gives the "unknown" answers */
	pid_t gone = 0x3ffffffe;
	assert_false(procfs_alive(gone));
	assert_int_equal(procfs_uid(gone), (uid_t)-1);
	assert_null(procfs_tasks(gone, &n));
	assert_int_equal(procfs_task_state(gone, 1), '?');
	assert_int_equal(procfs_ppid(gone), 0);
	procfs_comm(gone, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_int_equal(procfs_nspid(gone, 0), (uint32_t)gone);
}

static void cgroup_rule(void **state)
{
	(void)state;
	char out[128];
	cgroup_primary_path("0::/system.slice/web.service\n", out, sizeof(out));
	assert_string_equal(out, "/system.slice/web.service");
	/* v1 only: the name=systemd hierarchy, else the first line */
	cgroup_primary_path("12:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc/init\n", out,
			    sizeof(out));
	assert_string_equal(out, "/docker/abc/init");
	cgroup_primary_path("4:memory:/m\n3:cpu:/c\n", out, sizeof(out));
	assert_string_equal(out, "/m");
	/* hybrid: v2 wins */
	cgroup_primary_path("1:name=systemd:/a\n0::/b\n", out, sizeof(out));
	assert_string_equal(out, "/b");
	cgroup_primary_path("garbage", out, sizeof(out));
	assert_string_equal(out, "");
	cgroup_primary_path(NULL, out, sizeof(out));
	assert_string_equal(out, "");
}

/* --- Prometheus label values ------------------------------------------------------ */

static void prom_label(const char *in, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	prom_write_label(f, in);
	fclose(f);
	assert_string_equal(buf, want);
	free(buf);
}

static void prom_labels(void **state)
{
	(void)state;
	prom_label("shop.views.checkout", "shop.views.checkout");
	prom_label("a\"b\\c\nd", "a\\\"b\\\\c\\nd");
	prom_label("x\ty\x7fz\x01", "x?y?z?");
	prom_label("caf\xc3\xa9", "caf\xc3\xa9");		  /* UTF-8 kept */
	prom_label("bad\xff\xc3", "bad\xef\xbf\xbd\xef\xbf\xbd"); /* invalid: U+FFFD each */
	prom_label(NULL, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(htab_put_get_del), cmocka_unit_test(htab_random_against_array),
		cmocka_unit_test(numbers),	    cmocka_unit_test(output_rules),
		cmocka_unit_test(bounded_reads),    cmocka_unit_test(capdir_bound),
		cmocka_unit_test(procfs_self),	    cmocka_unit_test(cgroup_rule),
		cmocka_unit_test(prom_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
