/* authz.h - who may profile what, through the control socket: root any
 * process; any other user only processes of their own uid.  The caller's
 * uid comes from the socket (SO_PEERCRED), never from the request. */
#ifndef PYBPF_AUTHZ_H
#define PYBPF_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* May a caller of uid see pid? */
bool authz_may_see(uid_t uid, pid_t pid);

/* 0 when the caller of uid may profile pid; else an errno-like code
 * (ESRCH: no such process, EPERM: another user's) and why says so. */
int authz_check(uid_t uid, pid_t pid, char *why, size_t len);

#endif
