/* control_client.c - connecting to pybpfd and sending requests. */
#include "control/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

const char *ctl_socket_path(const char *path)
{
	if (path && path[0])
		return path;
	const char *env = getenv("PYBPF_SOCKET");
	return env && env[0] ? env : CTL_DEFAULT_SOCKET;
}

int ctl_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int ctl_send(int fd, Pybpf__Control__Request *rq)
{
	rq->version = CTL_PROTO_VERSION;
	return ctl_write_msg(fd, &rq->base);
}

int ctl_send_stop(int fd)
{
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	Pybpf__Control__StopRequest stop = PYBPF__CONTROL__STOP_REQUEST__INIT;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_STOP;
	rq.stop = &stop;
	return ctl_send(fd, &rq);
}
