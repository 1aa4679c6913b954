/* control_server.h - pybpfd's control socket: a Unix stream socket (mode
 * 0660, group socket_group) speaking proto/control.proto; every request is
 * checked against the caller's credentials (SO_PEERCRED): root may profile
 * any process, another user only processes of their own uid. */
#ifndef PYBPF_CONTROL_SERVER_H
#define PYBPF_CONTROL_SERVER_H

#include <stddef.h>

struct daemon;
struct ctl_server;

struct ctl_server *ctl_server_start(struct daemon *d, const char *path, const char *group,
				    char *err, size_t errlen);
void ctl_server_stop(struct ctl_server *s);

#endif
