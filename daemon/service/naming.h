/* naming.h - the service name of a process, by a configurable rule: the
 * first of "env:VAR" (its environment), "unit" (its systemd unit), "container"
 * (its container id, else its root directory) and "script" (the script or
 * module it runs, else the program) that gives one. */
#ifndef PYBPF_NAMING_H
#define PYBPF_NAMING_H

#include <stddef.h>
#include <sys/types.h>

#define SERVICE_NAME_MAX 128

/* Checks a rule ("env:PYBPF_SERVICE,unit,container,script"); -1 and err
 * when a part is unknown. */
int service_rule_check(const char *rule, char *err, size_t errlen);

/* The service name of pid by rule, sanitised to [A-Za-z0-9._-] (other bytes
 * become '_'), never empty ("python" at worst). */
void service_name(pid_t pid, const char *rule, char *out, size_t len);

/* The pure parts, for tests. */
/* "0::/system.slice/web.service" -> "web"; 0 when found. */
int service_from_cgroup_unit(const char *cgroup, char *out, size_t len);
/* docker-<id>.scope, /docker/<id>, cri-containerd-<id>, libpod-<id>, crio-<id>:
 * the first 12 characters of id; 0 when found. */
int service_from_cgroup_container(const char *cgroup, char *out, size_t len);
/* From argv (NUL-separated, n bytes, as /proc/PID/cmdline): "app.py" ->
 * "app", "-m pkg.mod" -> "pkg.mod", "-c ..." -> program name; 0 when found. */
int service_from_cmdline(const char *cmdline, size_t n, char *out, size_t len);
/* VAR's value in an environment block (NUL-separated, n bytes); 0 when set
 * and non-empty. */
int service_from_environ(const char *env, size_t n, const char *var, char *out, size_t len);
/* Replaces bytes outside [A-Za-z0-9._-] with '_'. */
void service_sanitize(char *s);

#endif
