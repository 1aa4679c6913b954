/* naming.c - the service name of a process, by the configured rule.
 *
 * The rule is a comma-separated list tried in order; the first part that
 * yields a non-empty name wins:
 *   env:VAR    VAR in /proc/PID/environ (the environment the process was
 *              started with; later setenv() calls are not seen there)
 *   unit       the innermost systemd service in /proc/PID/cgroup
 *              ("system.slice/web.service" -> "web"; user@UID.service, the
 *              user's manager, is not taken as the service)
 *   container  a container id from /proc/PID/cgroup (its first 12 characters),
 *              else the basename of /proc/PID/root's target when that is not
 *              "/" (a chroot such as /var/lib/machines/foo -> "foo")
 *   script     from /proc/PID/cmdline: for a python* interpreter the script
 *              (app.py -> "app"), the module (-m pkg -> "pkg"), "python-c"
 *              for -c, else the program; for other programs the basename of
 *              argv[0]; with no cmdline, /proc/PID/comm
 * Every /proc read is bounded (sys/procfs.h) and any failure simply moves on
 * to the next part.  The result is sanitised to [A-Za-z0-9._-] and never empty:
 * "python" when no part gave a name. */
#include "service/naming.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/procfs.h"

#define CONTAINER_ID_LEN 12

/* ---- helpers -------------------------------------------------------------- */

static void copy_out(char *out, size_t len, const char *s, size_t n)
{
	if (!len)
		return;
	if (n > len - 1)
		n = len - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);
	return n >= pl && !memcmp(s, prefix, pl);
}

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);
	return n >= sl && !memcmp(s + n - sl, suffix, sl);
}

void service_sanitize(char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!(isascii(c) && isalnum(c)) && c != '.' && c != '_' && c != '-')
			*s = '_';
	}
}

/* ---- rule ----------------------------------------------------------------- */

static bool env_name_ok(const char *s, size_t n)
{
	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* The next part of a rule: [*start, *start + *n) trimmed; returns false at the end. */
static bool rule_next(const char **pos, const char **start, size_t *n)
{
	const char *p = *pos, *e;

	if (!p)
		return false;
	e = strchr(p, ',');
	*pos = e ? e + 1 : NULL;
	if (!e)
		e = p + strlen(p);
	while (p < e && isspace((unsigned char)*p))
		p++;
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	*start = p;
	*n = (size_t)(e - p);
	return true;
}

int service_rule_check(const char *rule, char *err, size_t errlen)
{
	const char *pos = rule, *s;
	size_t n;

	if (!rule || !*rule) {
		snprintf(err, errlen, "empty rule (parts: env:VAR, unit, container, script)");
		return -1;
	}
	while (rule_next(&pos, &s, &n)) {
		if (!n) {
			snprintf(err, errlen, "empty part in '%s'", rule);
			return -1;
		}
		if (has_prefix(s, n, "env:")) {
			if (!env_name_ok(s + 4, n - 4)) {
				snprintf(err, errlen, "'%.*s': not a variable name after 'env:'",
					 (int)n, s);
				return -1;
			}
			continue;
		}
		if ((n == 4 && !memcmp(s, "unit", 4)) || (n == 9 && !memcmp(s, "container", 9)) ||
		    (n == 6 && !memcmp(s, "script", 6)))
			continue;
		snprintf(err, errlen,
			 "unknown part '%.*s' (parts: env:VAR, unit, container, script)", (int)n,
			 s);
		return -1;
	}
	return 0;
}

/* ---- environ ---------------------------------------------------------------- */

int service_from_environ(const char *env, size_t n, const char *var, char *out, size_t len)
{
	size_t vl = strlen(var);

	if (!env || !vl)
		return -1;
	for (size_t i = 0; i < n;) {
		const char *e = env + i;
		const char *z = memchr(e, '\0', n - i);
		size_t el = z ? (size_t)(z - e) : n - i;

		if (el > vl && e[vl] == '=' && !memcmp(e, var, vl)) {
			if (el == vl + 1)
				return -1; /* set but empty */
			copy_out(out, len, e + vl + 1, el - vl - 1);
			return 0;
		}
		i += el + 1;
	}
	return -1;
}

/* ---- cgroup ----------------------------------------------------------------- */

/* Calls fn on each cgroup path of a /proc/PID/cgroup text: the v2 ("0::")
 * line first, then the v1 lines in order; stops at the first fn() == 0. */
static int cgroup_paths(const char *cgroup,
			int (*fn)(const char *path, size_t n, char *out, size_t len), char *out,
			size_t len)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *line = cgroup;
		while (line && *line) {
			const char *nl = strchr(line, '\n');
			const char *end = nl ? nl : line + strlen(line);
			const char *c1 = memchr(line, ':', (size_t)(end - line));
			const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;

			if (c2) {
				bool v2 = c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;
				if (v2 == (pass == 0) &&
				    !fn(c2 + 1, (size_t)(end - c2 - 1), out, len))
					return 0;
			}
			line = nl ? nl + 1 : NULL;
		}
	}
	return -1;
}

/* A unit name with systemd's \xNN escapes undone ("foo\x2dbar" -> "foo-bar"). */
static void unit_unescape(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	if (!len)
		return;
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && is_hex(s + i + 2, 2)) {
			char hex[3] = {s[i + 2], s[i + 3], 0};
			out[o++] = (char)strtoul(hex, NULL, 16);
			i += 3;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

/* The innermost "*.service" component of a cgroup path. */
static int unit_in_path(const char *path, size_t n, char *out, size_t len)
{
	const char *end = path + n;

	while (end > path) {
		const char *c = end;
		size_t cl;

		while (c > path && c[-1] != '/')
			c--;
		cl = (size_t)(end - c);
		if (cl > 8 && has_suffix(c, cl, ".service") && !has_prefix(c, cl, "user@")) {
			unit_unescape(c, cl - 8, out, len);
			return 0;
		}
		end = c > path ? c - 1 : path;
	}
	return -1;
}

int service_from_cgroup_unit(const char *cgroup, char *out, size_t len)
{
	if (!cgroup)
		return -1;
	return cgroup_paths(cgroup, unit_in_path, out, len);
}

/* A container id: hex, at least 12 characters; out gets the first 12. */
static int take_id(const char *s, size_t n, char *out, size_t len)
{
	if (n < CONTAINER_ID_LEN || !is_hex(s, n))
		return -1;
	copy_out(out, len, s, CONTAINER_ID_LEN);
	return 0;
}

/* The container id in one component ("docker-<id>.scope" ...), prev being the
 * component before it ("docker" for cgroupfs-driver paths "/docker/<id>"). */
static int id_in_component(const char *c, size_t n, const char *prev, size_t pn, char *out,
			   size_t len)
{
	static const char *const prefixes[] = {"docker-", "cri-containerd-", "libpod-", "crio-",
					       "containerd-"};

	if (has_suffix(c, n, ".scope")) {
		size_t sn = n - 6;
		for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			size_t pl = strlen(prefixes[i]);
			if (has_prefix(c, sn, prefixes[i]) && !take_id(c + pl, sn - pl, out, len))
				return 0;
		}
	}
	/* crio-<id> without .scope (cgroupfs driver), /docker/<id>, /libpod/<id>,
	 * kubepods' /pod<uid>/<id> */
	if (has_prefix(c, n, "crio-") && !take_id(c + 5, n - 5, out, len))
		return 0;
	if (prev && ((pn == 6 && !memcmp(prev, "docker", 6)) ||
		     (pn == 6 && !memcmp(prev, "libpod", 6)) || has_prefix(prev, pn, "pod")))
		return take_id(c, n, out, len);
	return -1;
}

static int container_in_path(const char *path, size_t n, char *out, size_t len)
{
	const char *p = path, *end = path + n, *prev = NULL;
	size_t pn = 0;

	while (p < end) {
		const char *s = memchr(p, '/', (size_t)(end - p));
		size_t cl = s ? (size_t)(s - p) : (size_t)(end - p);

		if (cl && !id_in_component(p, cl, prev, pn, out, len))
			return 0;
		if (cl) {
			prev = p;
			pn = cl;
		}
		p += cl + 1;
	}
	return -1;
}

int service_from_cgroup_container(const char *cgroup, char *out, size_t len)
{
	if (!cgroup)
		return -1;
	return cgroup_paths(cgroup, container_in_path, out, len);
}

/* ---- cmdline ---------------------------------------------------------------- */

struct argv_view {
	const char *arg[64];
	size_t n;
};

static void split_argv(const char *cmdline, size_t n, struct argv_view *av)
{
	av->n = 0;
	for (size_t i = 0; i < n && av->n < sizeof(av->arg) / sizeof(av->arg[0]);) {
		const char *z = memchr(cmdline + i, '\0', n - i);
		if (!z)
			break; /* unterminated last argument: callers copy only terminated ones */
		av->arg[av->n++] = cmdline + i;
		i = (size_t)(z - cmdline) + 1;
	}
}

static const char *base_name(const char *s)
{
	const char *b = strrchr(s, '/');
	return b ? b + 1 : s;
}

/* The basename of a program: of its first word only, for a title rewritten
 * with spaces ("/usr/bin/foo --dir=a/b" -> "foo --dir=a/b"). */
static const char *prog_name(const char *s)
{
	const char *b = s;

	for (const char *p = s; *p && *p != ' '; p++)
		if (*p == '/')
			b = p + 1;
	return b;
}

/* Interpreter options that take an argument: -X opt, -W arg, and
 * --check-hash-based-pycs mode. */
static bool opt_takes_arg(char c)
{
	return c == 'X' || c == 'W';
}

/* "dir/app.py" -> "app"; "pkgdir/" (a directory with __main__.py) -> "pkgdir". */
static int script_name(const char *script, char *out, size_t len)
{
	size_t n = strlen(script);
	const char *b;

	while (n > 1 && script[n - 1] == '/')
		n--;
	b = script + n;
	while (b > script && b[-1] != '/')
		b--;
	n -= (size_t)(b - script);
	if (has_suffix(b, n, ".py") && n > 3)
		n -= 3;
	if (!n || (n == 1 && *b == '/'))
		return -1;
	copy_out(out, len, b, n);
	return 0;
}

int service_from_cmdline(const char *cmdline, size_t n, char *out, size_t len)
{
	struct argv_view av;
	const char *prog;

	if (!cmdline || !n)
		return -1;
	split_argv(cmdline, n, &av);
	if (!av.n)
		return -1;
	prog = prog_name(av.arg[0]);
	if (strncmp(prog, "python", 6)) {
		if (!*prog)
			return -1;
		copy_out(out, len, prog, strlen(prog));
		return 0;
	}
	for (size_t i = 1; i < av.n; i++) {
		const char *a = av.arg[i];

		if (!strcmp(a, "--")) {
			if (i + 1 < av.n && !script_name(av.arg[i + 1], out, len))
				return 0;
			break;
		}
		if (a[0] != '-' || !a[1]) {
			/* the script ("-" is stdin: the program then) */
			if (a[0] != '-' && !script_name(a, out, len))
				return 0;
			break;
		}
		if (a[1] == '-') {
			if (!strcmp(a, "--check-hash-based-pycs"))
				i++;
			continue;
		}
		for (const char *f = a + 1; *f; f++) {
			if (*f == 'm') {
				const char *mod =
					f[1] ? f + 1 : (i + 1 < av.n ? av.arg[i + 1] : "");
				if (!*mod)
					goto program;
				copy_out(out, len, mod, strlen(mod));
				return 0;
			}
			if (*f == 'c') {
				copy_out(out, len, "python-c", 8);
				return 0;
			}
			if (opt_takes_arg(*f)) {
				if (!f[1])
					i++; /* "-X dev": the next argument is its value */
				break;	     /* "-Xdev": the rest of this one */
			}
		}
	}
program:
	copy_out(out, len, prog, strlen(prog));
	return 0;
}

/* ---- the live lookup ------------------------------------------------------- */

struct proc_files {
	pid_t pid;
	char *environ, *cgroup;
	size_t environ_n, cgroup_n;
	bool environ_tried, cgroup_tried;
};

static char *proc_read(pid_t pid, const char *what, size_t *n)
{
	return procfs_read(pid, 0, what, n);
}

static int rule_env(struct proc_files *pf, const char *var, char *out, size_t len)
{
	if (!pf->environ_tried) {
		pf->environ_tried = true;
		pf->environ = proc_read(pf->pid, "environ", &pf->environ_n);
	}
	if (!pf->environ)
		return -1;
	return service_from_environ(pf->environ, pf->environ_n, var, out, len);
}

static const char *proc_cgroup(struct proc_files *pf)
{
	if (!pf->cgroup_tried) {
		pf->cgroup_tried = true;
		pf->cgroup = proc_read(pf->pid, "cgroup", &pf->cgroup_n);
	}
	return pf->cgroup;
}

static int rule_container(struct proc_files *pf, char *out, size_t len)
{
	char target[4096];
	const char *cg = proc_cgroup(pf), *b;
	size_t tn;

	if (cg && !service_from_cgroup_container(cg, out, len))
		return 0;
	procfs_root(pf->pid, target, sizeof(target));
	tn = strlen(target);
	if (!tn)
		return -1; /* the host's root */
	if (has_suffix(target, tn, " (deleted)"))
		target[tn -= 10] = '\0';
	while (tn > 1 && target[tn - 1] == '/')
		target[--tn] = '\0';
	if (!strcmp(target, "/") || target[0] != '/')
		return -1; /* the host's root (or not a path) */
	b = base_name(target);
	if (!*b)
		return -1;
	copy_out(out, len, b, strlen(b));
	return 0;
}

static int rule_script(struct proc_files *pf, char *out, size_t len)
{
	size_t n;
	char *buf = proc_read(pf->pid, "cmdline", &n);
	int rc = -1;

	if (buf && n) {
		/* a rewritten cmdline may lack its final NUL */
		if (buf[n - 1] != '\0')
			buf[n++] = '\0'; /* procfs_read left room for it */
		rc = service_from_cmdline(buf, n, out, len);
	}
	free(buf);
	if (!rc && *out)
		return 0;
	buf = proc_read(pf->pid, "comm", &n);
	rc = -1;
	if (buf) {
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
			n--;
		if (n) {
			copy_out(out, len, buf, n);
			rc = 0;
		}
	}
	free(buf);
	return rc;
}

void service_name(pid_t pid, const char *rule, char *out, size_t len)
{
	struct proc_files pf = {.pid = pid};
	char name[SERVICE_NAME_MAX];
	const char *pos = rule, *s;
	bool found = false;
	size_t n;

	if (!out || !len)
		return;
	while (!found && rule_next(&pos, &s, &n)) {
		int rc = -1;

		name[0] = '\0';
		if (has_prefix(s, n, "env:") && n > 4 && n - 4 < 256) {
			char var[256];
			memcpy(var, s + 4, n - 4);
			var[n - 4] = '\0';
			rc = rule_env(&pf, var, name, sizeof(name));
		} else if (n == 4 && !memcmp(s, "unit", 4)) {
			const char *cg = proc_cgroup(&pf);
			rc = cg ? service_from_cgroup_unit(cg, name, sizeof(name)) : -1;
		} else if (n == 9 && !memcmp(s, "container", 9)) {
			rc = rule_container(&pf, name, sizeof(name));
		} else if (n == 6 && !memcmp(s, "script", 6)) {
			rc = rule_script(&pf, name, sizeof(name));
		}
		found = !rc && name[0];
	}
	free(pf.environ);
	free(pf.cgroup);
	if (!found)
		strcpy(name, "python");
	service_sanitize(name);
	copy_out(out, len, name, strlen(name));
}
