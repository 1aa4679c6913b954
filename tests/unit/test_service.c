/* daemon/service.c: the rule check, the pure parsers (cgroup unit and
 * container id, cmdline, environ, sanitising) and one live lookup of a child
 * started with its own environment. */
#define _GNU_SOURCE /* pipe2 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "service/naming.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void rule_check(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(
		service_rule_check("env:PYBPF_SERVICE,unit,container,script", err, sizeof(err)), 0);
	assert_int_equal(service_rule_check("script", err, sizeof(err)), 0);
	assert_int_equal(service_rule_check(" env:A_1 , unit ", err, sizeof(err)), 0);
	assert_int_equal(service_rule_check("", err, sizeof(err)), -1);
	assert_int_equal(service_rule_check("unit,,script", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty part"));
	assert_int_equal(service_rule_check("unit,", err, sizeof(err)), -1);
	assert_int_equal(service_rule_check("env:", err, sizeof(err)), -1);
	assert_int_equal(service_rule_check("env:1X", err, sizeof(err)), -1);
	assert_int_equal(service_rule_check("env:A-B", err, sizeof(err)), -1);
	assert_int_equal(service_rule_check("unit,units", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown part 'units'"));
}

static void expect_unit(const char *cgroup, const char *want)
{
	char out[SERVICE_NAME_MAX] = "";
	int rc = service_from_cgroup_unit(cgroup, out, sizeof(out));

	if (!want) {
		if (rc == 0)
			fail_msg("'%s': unexpected unit '%s'", cgroup, out);
		return;
	}
	if (rc != 0)
		fail_msg("'%s': no unit, want '%s'", cgroup, want);
	assert_string_equal(out, want);
}

static void cgroup_unit(void **state)
{
	(void)state;
	expect_unit("0::/system.slice/web.service\n", "web");
	expect_unit("0::/system.slice/web.service", "web");
	expect_unit("0::/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service\n",
		    "foo");
	expect_unit("0::/system.slice/getty@tty1.service\n", "getty@tty1");
	expect_unit("0::/system.slice/my\\x2dapp.service\n", "my-app");
	/* a delegated subtree below the service */
	expect_unit("0::/system.slice/worker.service/sub/leaf\n", "worker");
	/* no unit */
	expect_unit("0::/\n", NULL);
	expect_unit("0::/user.slice/user-1000.slice/session-3.scope\n", NULL);
	expect_unit("0::/user.slice/user-1000.slice/user@1000.service/init.scope\n", NULL);
	expect_unit("0::/system.slice/docker-" ID64 ".scope\n", NULL);
	expect_unit("0::/system.slice/.service\n", NULL);
	expect_unit("", NULL);
	/* cgroup v1: the first path with a unit */
	expect_unit("12:pids:/\n"
		    "11:memory:/system.slice/api.service\n"
		    "1:name=systemd:/system.slice/api.service\n",
		    "api");
	/* hybrid: the v2 line first */
	expect_unit("5:cpu:/system.slice/old.service\n0::/system.slice/new.service\n", "new");
	expect_unit("5:cpu:/system.slice/old.service\n0::/\n", "old");
}

static void expect_container(const char *cgroup, const char *want)
{
	char out[SERVICE_NAME_MAX] = "";
	int rc = service_from_cgroup_container(cgroup, out, sizeof(out));

	if (!want) {
		if (rc == 0)
			fail_msg("'%s': unexpected container '%s'", cgroup, out);
		return;
	}
	if (rc != 0)
		fail_msg("'%s': no container, want '%s'", cgroup, want);
	assert_string_equal(out, want);
}

static void cgroup_container(void **state)
{
	(void)state;
	expect_container("0::/system.slice/docker-" ID64 ".scope\n", "0123456789ab");
	expect_container("0::/docker/" ID64 "\n", "0123456789ab");
	expect_container("0::/kubepods.slice/kubepods-besteffort.slice/"
			 "kubepods-besteffort-pod1234_5678.slice/cri-containerd-" ID64 ".scope\n",
			 "0123456789ab");
	expect_container("0::/machine.slice/libpod-" ID64 ".scope/container\n", "0123456789ab");
	expect_container("0::/machine.slice/crio-" ID64 ".scope\n", "0123456789ab");
	expect_container("0::/kubepods/besteffort/pod0a1b2c3d-0000-1111-2222-333344445555/" ID64
			 "\n",
			 "0123456789ab");
	/* cgroup v1 */
	expect_container("12:pids:/docker/" ID64 "\n11:memory:/docker/" ID64 "\n", "0123456789ab");
	/* not containers */
	expect_container("0::/\n", NULL);
	expect_container("0::/system.slice/web.service\n", NULL);
	expect_container("0::/machine.slice/libpod-conmon-" ID64 ".scope\n", NULL);
	expect_container("0::/system.slice/docker-notahexid.scope\n", NULL);
	expect_container("0::/system.slice/docker.service\n", NULL);
	expect_container("0::/docker/short\n", NULL);
	expect_container("", NULL);
}

/* argv given as "a\0b\0c\0" */
static void expect_cmdline(const char *argv, size_t n, const char *want)
{
	char out[SERVICE_NAME_MAX] = "";
	int rc = service_from_cmdline(argv, n, out, sizeof(out));

	if (!want) {
		if (rc == 0)
			fail_msg("unexpected name '%s'", out);
		return;
	}
	if (rc != 0)
		fail_msg("no name, want '%s'", want);
	service_sanitize(out);
	assert_string_equal(out, want);
}

#define CMD(lit, want) expect_cmdline(lit, sizeof(lit), want) /* sizeof counts the last NUL */

static void cmdline(void **state)
{
	(void)state;
	CMD("python3\0app.py", "app");
	CMD("/usr/bin/python3.11\0-u\0-X\0dev\0/srv/app/main.py", "main");
	CMD("python\0-m\0celery\0worker\0-A\0proj", "celery");
	CMD("python\0-mhttp.server\0"
	    "8000",
	    "http.server");
	CMD("python3\0-c\0import time; time.sleep(9)", "python-c");
	CMD("python3\0-uBc\0pass", "python-c");
	CMD("python3\0-uBm\0pkg.mod", "pkg.mod");
	CMD("python3\0-Xfrozen_modules=off\0-W\0ignore\0-Wd\0run.py\0-m\0nope", "run");
	CMD("python3\0-E\0-s\0-I\0-S\0-O\0-OO\0-b\0-q\0-v\0-d\0-i\0tool.py", "tool");
	CMD("python3\0--check-hash-based-pycs\0always\0x.py", "x");
	CMD("python3\0--\0y.py", "y");
	CMD("python3\0/srv/pkgdir/", "pkgdir");
	CMD("python3\0./script", "script");
	CMD("/usr/local/bin/python3.12\0/usr/bin/gunicorn\0app:app", "gunicorn");
	/* nothing to run: the interpreter */
	CMD("/usr/bin/python3", "python3");
	CMD("python3\0-u", "python3");
	CMD("python3\0-\0arg", "python3");
	CMD("python3\0-m", "python3");
	CMD("python3\0-X\0dev", "python3");
	/* other programs: the program */
	CMD("/usr/bin/gunicorn\0app:app", "gunicorn");
	CMD("uwsgi\0--ini\0x.ini", "uwsgi");
	/* a title rewritten by setproctitle */
	CMD("gunicorn: master [app]", "gunicorn__master__app_");
	CMD("/opt/bin/celery worker --dir=a/b", "celery_worker_--dir_a_b");
	/* nothing */
	expect_cmdline("", 0, NULL);
	CMD("/usr/bin/", NULL);
	/* sanitised, bounded */
	CMD("python3\0caf\xc3\xa9 app.py", "caf___app");
	char long_arg[400];
	memset(long_arg, 'a', sizeof(long_arg));
	memcpy(long_arg, "python\0", 7);
	long_arg[sizeof(long_arg) - 1] = '\0';
	char out[SERVICE_NAME_MAX];
	assert_int_equal(service_from_cmdline(long_arg, sizeof(long_arg), out, sizeof(out)), 0);
	assert_int_equal(strlen(out), SERVICE_NAME_MAX - 1);
	char small[4];
	assert_int_equal(service_from_cmdline("python3\0app.py", 15, small, sizeof(small)), 0);
	assert_string_equal(small, "app");
}

static void environ_lookup(void **state)
{
	static const char env[] = "HOME=/root\0PYBPF_SERVICE=billing\0EMPTY=\0PYBPF=x\0"
				  "PYBPF_SERVICE=second\0LAST=end";
	char out[SERVICE_NAME_MAX];

	(void)state;
	assert_int_equal(service_from_environ(env, sizeof(env), "PYBPF_SERVICE", out, sizeof(out)),
			 0);
	assert_string_equal(out, "billing");
	assert_int_equal(service_from_environ(env, sizeof(env), "PYBPF", out, sizeof(out)), 0);
	assert_string_equal(out, "x");
	/* the last entry, without its NUL */
	assert_int_equal(service_from_environ(env, sizeof(env) - 1, "LAST", out, sizeof(out)), 0);
	assert_string_equal(out, "end");
	assert_int_equal(service_from_environ(env, sizeof(env), "EMPTY", out, sizeof(out)), -1);
	assert_int_equal(service_from_environ(env, sizeof(env), "NOPE", out, sizeof(out)), -1);
	assert_int_equal(service_from_environ(env, sizeof(env), "PYBPF_SERV", out, sizeof(out)),
			 -1);
	assert_int_equal(service_from_environ(env, sizeof(env), "HOME=/root", out, sizeof(out)),
			 -1);
	assert_int_equal(service_from_environ("", 0, "HOME", out, sizeof(out)), -1);
}

static void sanitize(void **state)
{
	char s[64];

	(void)state;
	strcpy(s, "My-App_1.2");
	service_sanitize(s);
	assert_string_equal(s, "My-App_1.2");
	strcpy(s, "a b/c:d{e}=f,\"g\"\t\xff");
	service_sanitize(s);
	assert_string_equal(s, "a_b_c_d_e__f__g___");
	s[0] = '\0';
	service_sanitize(s);
	assert_string_equal(s, "");
}

/* A child running `sleep 5` with only PYBPF_TEST_SVC=my-svc in its
 * environment, returned once it has exec'd. */
static pid_t spawn_sleeper(const char *envvar)
{
	char *const argv[] = {"sleep", "5", NULL};
	char *const envp[] = {(char *)envvar, NULL};
	int pfd[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		execve("/bin/sleep", argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	/* EOF when the exec closed the write end */
	assert_int_equal(read(pfd[0], &c, 1), 0);
	close(pfd[0]);
	return pid;
}

static void live_child(void **state)
{
	char out[SERVICE_NAME_MAX];
	pid_t pid;
	int status;

	(void)state;
	pid = spawn_sleeper("PYBPF_TEST_SVC=my-svc");
	service_name(pid, "env:PYBPF_TEST_SVC,script", out, sizeof(out));
	assert_string_equal(out, "my-svc");
	service_name(pid, "env:PYBPF_NOT_SET,script", out, sizeof(out));
	assert_string_equal(out, "sleep");
	service_name(pid, "script", out, sizeof(out));
	assert_string_equal(out, "sleep");
	/* an env value is sanitised and bounded */
	char small[4];
	service_name(pid, "env:PYBPF_TEST_SVC", small, sizeof(small));
	assert_string_equal(small, "my-");
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);

	/* a process that is gone: every part fails, "python" */
	service_name(pid, "env:PYBPF_TEST_SVC,unit,container,script", out, sizeof(out));
	assert_string_equal(out, "python");

	pid = spawn_sleeper("PYBPF_TEST_SVC=a b/c");
	service_name(pid, "env:PYBPF_TEST_SVC", out, sizeof(out));
	assert_string_equal(out, "a_b_c");
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);

	/* this process: its own program name at worst, never empty */
	service_name(getpid(), "env:PYBPF_NOT_SET_EITHER,script", out, sizeof(out));
	assert_string_equal(out, "test_service");
	service_name(getpid(), "unit,container,script", out, sizeof(out));
	assert_true(out[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rule_check),	    cmocka_unit_test(cgroup_unit),
		cmocka_unit_test(cgroup_container), cmocka_unit_test(cmdline),
		cmocka_unit_test(environ_lookup),   cmocka_unit_test(sanitize),
		cmocka_unit_test(live_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
