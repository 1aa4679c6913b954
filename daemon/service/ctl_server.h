/* ctl_server.h - pybpfd's control socket, the transport: a Unix stream
 * socket (mode 0660, group socket_group) speaking proto/control.proto, a
 * thread per connection, the caller known by SO_PEERCRED.  What each
 * request does is in ctl_handlers.c; who may do it in authz.c. */
#ifndef PYBPF_CTL_SERVER_H
#define PYBPF_CTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "control/proto.h"

struct daemon;
struct ctl_server;

/* One connection, as the handlers see it. */
struct ctl_client {
	struct daemon *d;
	int fd;
	struct ucred cred; /* who is asking: from the kernel, not the request */
	int err_code;	   /* an error to answer with, once the handler returns */
	char err[512];
};

struct ctl_server *ctl_server_start(struct daemon *d, const char *path, const char *group,
				    char *err, size_t errlen);
void ctl_server_stop(struct ctl_server *s);
/* Clients refused so far because the slots (theirs or all) were taken. */
uint64_t ctl_server_busy(const struct ctl_server *s);

/* Replies, never with the daemon's lock held: a client that does not read
 * blocks only its own thread. */
void ctl_reply(struct ctl_client *c, Pybpf__Control__Response *r);
void ctl_reply_data(struct ctl_client *c, const void *data, size_t len);
/* Sets the error the request is answered with; sent when the handler has
 * returned (so it may be set with the lock held).  The first one wins. */
void ctl_reply_error(struct ctl_client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Serves one request (ctl_handlers.c). */
void ctl_handle(struct ctl_client *c, const Pybpf__Control__Request *rq);

#endif
