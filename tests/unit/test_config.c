/* daemon/config.c: defaults, the file syntax (comments, whitespace, quotes,
 * booleans), errors naming the line, overrides with config_set, config_get,
 * and config_print read back by config_load. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "service/config.h"
#include "sys/log.h"

/* A temporary file holding text; the caller unlinks path. */
static void write_tmp(char *path, size_t len, const char *text)
{
	int fd;

	snprintf(path, len, "/tmp/test_config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int load_text(struct config *c, const char *text, char *err, size_t errlen)
{
	char path[64];
	int rc;

	write_tmp(path, sizeof(path), text);
	rc = config_load(c, path, false, err, errlen);
	unlink(path);
	return rc;
}

static void defaults(void **state)
{
	struct config c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(c.rate_hz, 99);
	assert_int_equal(c.window_s, 15);
	assert_true(c.offcpu);
	assert_string_equal(c.service_rule, "env:PYBPF_SERVICE,unit,container,script");
	assert_string_equal(c.socket, "/run/pybpf/pybpfd.sock");
	assert_string_equal(c.socket_group, "pybpf");
	assert_true(c.spool);
	assert_string_equal(c.spool_dir, "/var/lib/pybpf/spool");
	assert_int_equal(c.spool_max_mb, 256);
	assert_false(c.push);
	assert_string_equal(c.push_url, "http://127.0.0.1:4040");
	assert_string_equal(c.push_labels, "");
	assert_string_equal(c.push_queue_dir, "/var/lib/pybpf/queue");
	assert_int_equal(c.push_queue_max_mb, 64);
	assert_int_equal(c.push_timeout_s, 10);
	assert_int_equal(c.push_backoff_max_s, 60);
	assert_true(c.pull);
	assert_string_equal(c.pull_listen, "127.0.0.1:6171");
	assert_int_equal(c.log_level, LOG_LVL_INFO);
}

static void parse_file(void **state)
{
	struct config c;
	char err[256] = "";

	(void)state;
	config_defaults(&c);
	assert_int_equal(
		load_text(&c,
			  "# pybpfd.conf\n"
			  "\n"
			  "   rate_hz=   250   \n"
			  "\twindow_s =\t60\t# a minute\n"
			  "offcpu = off\n"
			  "spool = No\n"
			  "push = YES\n"
			  "pull = 0\n"
			  "service_rule = env:SVC , script   # two parts\n"
			  "push_url = http://pyro.example:4040/#frag   # '#' inside a word stays\n"
			  "push_labels = env=prod,dc=fra1\n"
			  "socket_group =\n"
			  "spool_dir = \"/var/spool/with # hash\"  # quoted\n"
			  "push_queue_max_mb = 8\n"
			  "push_timeout_s = 3\n"
			  "push_backoff_max_s = 1\n"
			  "log_level = debug\n"
			  "rate_hz = 300\n" /* a later line wins */
			  "spool_max_mb = 1   ",
			  err, sizeof(err)),
		0);
	assert_string_equal(err, "");
	assert_int_equal(c.rate_hz, 300);
	assert_int_equal(c.window_s, 60);
	assert_false(c.offcpu);
	assert_false(c.spool);
	assert_true(c.push);
	assert_false(c.pull);
	assert_string_equal(c.service_rule, "env:SVC , script");
	assert_string_equal(c.push_url, "http://pyro.example:4040/#frag");
	assert_string_equal(c.push_labels, "env=prod,dc=fra1");
	assert_string_equal(c.socket_group, "");
	assert_string_equal(c.spool_dir, "/var/spool/with # hash");
	assert_int_equal(c.push_queue_max_mb, 8);
	assert_int_equal(c.push_timeout_s, 3);
	assert_int_equal(c.push_backoff_max_s, 1);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.spool_max_mb, 1);
	/* untouched keys keep their defaults */
	assert_string_equal(c.socket, "/run/pybpf/pybpfd.sock");
	assert_string_equal(c.pull_listen, "127.0.0.1:6171");

	/* every spelling of a boolean */
	const char *yes[] = {"true", "yes", "on", "1", "TRUE", "On"};
	const char *no[] = {"false", "no", "off", "0", "False", "NO"};
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(config_set(&c, "pull", yes[i], err, sizeof(err)), 0);
		assert_true(c.pull);
		assert_int_equal(config_set(&c, "pull", no[i], err, sizeof(err)), 0);
		assert_false(c.pull);
	}
	/* a quoted empty string and escapes */
	assert_int_equal(load_text(&c, "push_labels = \"\"\nsocket_group = \"a\\\"b\\\\c\"\n", err,
				   sizeof(err)),
			 0);
	assert_string_equal(c.push_labels, "");
	assert_string_equal(c.socket_group, "a\"b\\c");
}

static void expect_load_error(const char *text, const char *want)
{
	struct config c, before;
	char err[256] = "";

	config_defaults(&c);
	before = c;
	assert_int_equal(load_text(&c, text, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	/* nothing of a bad file is taken, not even its good lines */
	assert_memory_equal(&c, &before, sizeof(c));
}

static void load_errors(void **state)
{
	struct config c;
	char err[256] = "";

	(void)state;
	expect_load_error("rate_hz = 50\n# ok\n\nwindow_s = 10\n\n\nrat_hz = 5\n",
			  "line 7: unknown key 'rat_hz'");
	expect_load_error("rate_hz = 0\n", "line 1: rate_hz: '0' is out of range (1-10000)");
	expect_load_error("\nrate_hz = 10001\n",
			  "line 2: rate_hz: '10001' is out of range (1-10000)");
	expect_load_error("window_s = 3601\n", "line 1: window_s: '3601' is out of range (1-3600)");
	expect_load_error("window_s = abc\n", "line 1: window_s: 'abc' is not a number");
	expect_load_error("window_s = 10s\n", "window_s: '10s' is not a number");
	expect_load_error("window_s = -5\n", "window_s: '-5' is out of range");
	expect_load_error("window_s =\n", "window_s: '' is not a number");
	expect_load_error("push_timeout_s = 0\n", "push_timeout_s: '0' is out of range (>= 1)");
	expect_load_error("spool_max_mb = 0\n", "spool_max_mb: '0' is out of range (>= 1)");
	expect_load_error("offcpu = maybe\n", "line 1: offcpu: 'maybe' is not a boolean");
	expect_load_error("log_level = verbose\n", "log_level: 'verbose' is not a log level");
	expect_load_error("\n\nservice_rule = env:X,unitt\n",
			  "line 3: service_rule: unknown part 'unitt'");
	expect_load_error("service_rule = env:\n", "line 1: service_rule:");
	expect_load_error("rate_hz 99\n", "line 1: expected 'key = value'");
	expect_load_error("= 5\n", "line 1: missing key");
	expect_load_error("socket_group = \"unterminated\n", "line 1: socket_group: unterminated");
	expect_load_error("socket_group = \"a\" b\n", "unexpected text after the quoted value");
	/* 108 bytes do not fit socket's 108-byte buffer */
	char line[200];
	snprintf(line, sizeof(line), "socket = /%0107d\n", 0);
	expect_load_error(line, "socket: value is too long (108 bytes, at most 107)");

	/* the file's name is in the message */
	char path[64];
	write_tmp(path, sizeof(path), "\nbogus = 1\n");
	config_defaults(&c);
	assert_int_equal(config_load(&c, path, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ": line 2: unknown key 'bogus'"));
	unlink(path);

	/* a missing file: an error unless missing_ok */
	assert_int_equal(config_load(&c, "/nonexistent/pybpfd.conf", false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/pybpfd.conf"));
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(config_load(&c, "/nonexistent/pybpfd.conf", true, err, sizeof(err)), 0);
}

static void overrides(void **state)
{
	struct config c, before;
	char err[256] = "", buf[600];

	(void)state;
	config_defaults(&c);
	assert_int_equal(load_text(&c, "rate_hz = 250\nwindow_s = 30\n", err, sizeof(err)), 0);
	/* flags on top of the file */
	assert_int_equal(config_set(&c, "rate_hz", "1000", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, " push_url ", "  http://h:1  ", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "log_level", "warning", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "push_labels", "", err, sizeof(err)), 0);
	assert_int_equal(c.rate_hz, 1000);
	assert_int_equal(c.window_s, 30);
	assert_string_equal(c.push_url, "http://h:1");
	assert_int_equal(c.log_level, LOG_LVL_WARNING);
	/* limits are inclusive */
	assert_int_equal(config_set(&c, "rate_hz", "1", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "rate_hz", "10000", err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "window_s", "3600", err, sizeof(err)), 0);

	/* a failed set changes nothing */
	before = c;
	assert_int_equal(config_set(&c, "rate_hz", "0", err, sizeof(err)), -1);
	assert_string_equal(err, "rate_hz: '0' is out of range (1-10000)");
	assert_int_equal(config_set(&c, "rate_hz", "99999999999999999999999", err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "is out of range"));
	assert_int_equal(config_set(&c, "rate_hz", "12abc", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not a number"));
	assert_int_equal(config_set(&c, "rat_hz", "5", err, sizeof(err)), -1);
	assert_string_equal(err, "unknown key 'rat_hz'");
	assert_int_equal(config_set(&c, "service_rule", "env:A,nope", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "service_rule: unknown part 'nope'"));
	assert_int_equal(config_set(&c, "socket_group", "a\nb", err, sizeof(err)), -1);
	assert_memory_equal(&c, &before, sizeof(c));

	/* config_get */
	assert_string_equal(config_get(&c, "rate_hz", buf, sizeof(buf)), "10000");
	assert_string_equal(config_get(&c, "offcpu", buf, sizeof(buf)), "true");
	assert_string_equal(config_get(&c, "log_level", buf, sizeof(buf)), "warning");
	assert_string_equal(config_get(&c, "push_url", buf, sizeof(buf)), "http://h:1");
	assert_string_equal(config_get(&c, "push_queue_max_mb", buf, sizeof(buf)), "64");
	assert_null(config_get(&c, "nope", buf, sizeof(buf)));
}

static void print_round_trip(void **state)
{
	struct config a, b;
	char err[256] = "", path[64], *text = NULL;
	size_t textlen = 0;
	FILE *f;

	(void)state;
	config_defaults(&a);
	assert_int_equal(config_set(&a, "rate_hz", "4321", err, sizeof(err)), 0);
	assert_int_equal(config_set(&a, "window_s", "7", err, sizeof(err)), 0);
	assert_int_equal(config_set(&a, "offcpu", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(&a, "push", "on", err, sizeof(err)), 0);
	assert_int_equal(
		config_set(&a, "service_rule", "container,env:X_Y,script", err, sizeof(err)), 0);
	assert_int_equal(config_set(&a, "socket_group", "", err, sizeof(err)), 0);
	assert_int_equal(config_set(&a, "spool_dir", "/srv/a #b/\"q\"\\", err, sizeof(err)), 0);
	assert_int_equal(config_set(&a, "push_labels", "env=prod,team=#ops", err, sizeof(err)), 0);
	assert_int_equal(config_set(&a, "push_url", "https://x.example/p#q", err, sizeof(err)), 0);
	assert_int_equal(config_set(&a, "push_queue_max_mb", "17592186044415", err, sizeof(err)),
			 0);
	assert_int_equal(config_set(&a, "log_level", "error", err, sizeof(err)), 0);

	f = open_memstream(&text, &textlen);
	assert_non_null(f);
	config_print(&a, f);
	fclose(f);
	/* every key, in "key = value" lines */
	const char *keys[] = {"rate_hz",
			      "window_s",
			      "offcpu",
			      "stack_idle_s",
			      "service_rule",
			      "socket",
			      "socket_group",
			      "spool",
			      "spool_dir",
			      "spool_max_mb",
			      "push",
			      "push_url",
			      "push_labels",
			      "push_queue_dir",
			      "push_queue_max_mb",
			      "push_timeout_s",
			      "push_backoff_max_s",
			      "pull",
			      "pull_listen",
			      "log_level"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "%s%s = ", i ? "\n" : "", keys[i]);
		if (i ? !strstr(text, want) : strncmp(text, want, strlen(want)))
			fail_msg("no '%s' line in:\n%s", keys[i], text);
	}
	assert_non_null(strstr(text, "rate_hz = 4321\n"));
	assert_non_null(strstr(text, "offcpu = false\n"));
	assert_non_null(strstr(text, "log_level = error\n"));

	/* read back over different values: the same struct */
	config_defaults(&b);
	assert_int_equal(config_set(&b, "socket_group", "other", err, sizeof(err)), 0);
	assert_int_equal(config_set(&b, "rate_hz", "5", err, sizeof(err)), 0);
	write_tmp(path, sizeof(path), text);
	if (config_load(&b, path, false, err, sizeof(err)))
		fail_msg("%s in:\n%s", err, text);
	unlink(path);
	assert_memory_equal(&a, &b, sizeof(a));

	/* and the defaults, too */
	free(text);
	text = NULL;
	config_defaults(&a);
	f = open_memstream(&text, &textlen);
	config_print(&a, f);
	fclose(f);
	memset(&b, 0, sizeof(b));
	config_defaults(&b);
	b.rate_hz = 1;
	write_tmp(path, sizeof(path), text);
	assert_int_equal(config_load(&b, path, false, err, sizeof(err)), 0);
	unlink(path);
	assert_memory_equal(&a, &b, sizeof(a));
	free(text);
}

static void log_levels(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("error"), LOG_LVL_ERR);
	assert_int_equal(log_level_parse("warning"), LOG_LVL_WARNING);
	assert_int_equal(log_level_parse("info"), LOG_LVL_INFO);
	assert_int_equal(log_level_parse("debug"), LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("loud"), -1);
	assert_string_equal(log_level_name(LOG_LVL_ERR), "error");
	assert_string_equal(log_level_name(LOG_LVL_WARNING), "warning");
	assert_string_equal(log_level_name(LOG_LVL_INFO), "info");
	assert_string_equal(log_level_name(LOG_LVL_DEBUG), "debug");

	/* lines on stderr with their priority, those above the level left out */
	char buf[8192];
	int fds[2], saved = dup(2);
	ssize_t n;
	assert_int_equal(pipe(fds), 0);
	dup2(fds[1], 2);
	log_set_level(LOG_LVL_INFO);
	log_err("error %d", 1);
	log_debug("not written");
	log_warn("two\nlines");
	log_info("%s", "info");
	log_set_level(LOG_LVL_DEBUG);
	log_debug("now written");
	char big[6000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big); /* cut to one bounded line */
	log_set_level(LOG_LVL_INFO);
	dup2(saved, 2);
	close(saved);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	const char *want = "<3>error 1\n<4>two lines\n<6>info\n<7>now written\n<6>xxx";
	assert_memory_equal(buf, want, strlen(want));
	assert_int_equal(n, strlen(want) - 6 + 4095); /* the line: 4095 bytes */
	assert_memory_equal(buf + n - 4, "...\n", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),	    cmocka_unit_test(parse_file),
		cmocka_unit_test(load_errors),	    cmocka_unit_test(overrides),
		cmocka_unit_test(print_round_trip), cmocka_unit_test(log_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
