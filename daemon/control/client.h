/* control_client.h - pybpfctl's side of the control socket. */
#ifndef PYBPF_CONTROL_CLIENT_H
#define PYBPF_CONTROL_CLIENT_H

#include "control/proto.h"

/* The socket path: path if given, else $PYBPF_SOCKET, else the default. */
const char *ctl_socket_path(const char *path);

/* Connects to the daemon.  -1 with errno when none listens there (ENOENT,
 * ECONNREFUSED) or the caller may not use it (EACCES). */
int ctl_connect(const char *path);

/* Sends rq (version filled in).  0 or -1 with errno. */
int ctl_send(int fd, Pybpf__Control__Request *rq);

/* Sends a stop for the request running on fd. */
int ctl_send_stop(int fd);

#endif
