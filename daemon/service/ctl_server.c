/* ctl_server.c - the control socket's transport: listening, accepting,
 * credentials, a thread per connection, framing of replies. */
#define _GNU_SOURCE
#include "service/ctl_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys/log.h"

#define MAX_CLIENTS  64
#define ROOT_RESERVE 8 /* slots only root takes: its status always gets in */
#define PER_UID_MAX  8 /* one user's connections at once (root: any) */

struct slot {
	struct ctl_server *srv;
	struct ctl_client cl;
	pthread_t thread;
	bool used, finished;
};

struct ctl_server {
	struct daemon *d;
	char path[108];
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	pthread_mutex_t lock; /* the slots */
	struct slot slots[MAX_CLIENTS];
	uint64_t busy; /* clients refused for want of a slot */
};

void ctl_reply(struct ctl_client *c, Pybpf__Control__Response *r)
{
	if (ctl_write_msg(c->fd, &r->base))
		log_debug("control: reply to pid %d lost: %s", (int)c->cred.pid, strerror(errno));
}

void ctl_reply_error(struct ctl_client *c, int code, const char *fmt, ...)
{
	va_list ap;
	if (c->err_code)
		return;
	c->err_code = code ? code : EIO;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

static void send_error(struct ctl_client *c)
{
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.code = c->err_code;
	r.error = c->err;
	ctl_reply(c, &r);
}

void ctl_reply_data(struct ctl_client *c, const void *data, size_t len)
{
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.data.data = (uint8_t *)data;
	r.data.len = len;
	ctl_reply(c, &r);
}

static void serve(struct ctl_client *cl)
{
	Pybpf__Control__Request *rq = ctl_read_request(cl->fd, CTL_REQUEST_MS);
	if (!rq) {
		if (errno != ECONNRESET)
			log_debug("control: bad request from pid %d: %s", (int)cl->cred.pid,
				  strerror(errno));
		return;
	}
	if (rq->version != CTL_PROTO_VERSION)
		ctl_reply_error(cl, EPROTO, "protocol version %u; this pybpfd speaks %u",
				rq->version, CTL_PROTO_VERSION);
	else
		ctl_handle(cl, rq);
	if (cl->err_code)
		send_error(cl);
	pybpf__control__request__free_unpacked(rq, NULL);
}

static void *client_main(void *arg)
{
	struct slot *sl = arg;
	serve(&sl->cl);
	pthread_mutex_lock(&sl->srv->lock);
	close(sl->cl.fd);
	sl->cl.fd = -1;
	sl->finished = true;
	pthread_mutex_unlock(&sl->srv->lock);
	return NULL;
}

/* Joins the threads of finished clients; returns a free slot uid may take,
 * or NULL with why (a user holds at most PER_UID_MAX, and the last
 * ROOT_RESERVE are root's). */
static struct slot *free_slot(struct ctl_server *s, uid_t uid, const char **why)
{
	struct slot *slot = NULL;
	int used = 0, mine = 0;
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct slot *c = &s->slots[i];
		if (c->used && c->finished) {
			pthread_join(c->thread, NULL);
			c->used = false;
		}
		if (!c->used && !slot)
			slot = c;
		used += c->used;
		mine += c->used && c->cl.cred.uid == uid;
	}
	if (slot && uid != 0 && mine >= PER_UID_MAX) {
		*why = "this user has too many connections to pybpfd open";
		slot = NULL;
	} else if (slot && uid != 0 && used >= MAX_CLIENTS - ROOT_RESERVE) {
		*why = "pybpfd is busy: too many clients";
		slot = NULL;
	} else if (!slot) {
		*why = "pybpfd is busy: too many clients";
	}
	if (slot)
		slot->used = true; /* taken before the lock is let go */
	pthread_mutex_unlock(&s->lock);
	return slot;
}

/* Tells a client it is refused and why, without waiting on it. */
static void refuse(int fd, const char *why)
{
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.code = EAGAIN;
	r.error = (char *)why;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ctl_write_msg(fd, &r.base); /* a few bytes: the socket's buffer takes them */
	/* its request unread would make the close a reset, the reply lost */
	char sink[512];
	for (int i = 0; i < 16 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	shutdown(fd, SHUT_WR);
	close(fd);
}

static void accept_one(struct ctl_server *s)
{
	int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		close(fd);
		return;
	}
	const char *why = NULL;
	struct slot *sl = free_slot(s, cred.uid, &why);
	if (!sl) {
		log_warn("control: pid %d (uid %u) refused: %s", (int)cred.pid, (unsigned)cred.uid,
			 why);
		__atomic_fetch_add(&s->busy, 1, __ATOMIC_RELAXED);
		refuse(fd, why);
		return;
	}
	pthread_mutex_lock(&s->lock);
	*sl = (struct slot){.srv = s, .cl = {.d = s->d, .fd = fd, .cred = cred}, .used = true};
	pthread_mutex_unlock(&s->lock);
	/* tests shrink the send buffer to show that a client that never reads
	 * a large reply holds up only itself */
	const char *sndbuf = getenv("PYBPFD_TEST_CTL_SNDBUF");
	if (sndbuf) {
		int v = atoi(sndbuf);
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	}
	if (pthread_create(&sl->thread, NULL, client_main, sl)) {
		close(fd);
		pthread_mutex_lock(&s->lock);
		sl->used = false;
		pthread_mutex_unlock(&s->lock);
	}
}

uint64_t ctl_server_busy(const struct ctl_server *s)
{
	return s ? __atomic_load_n(&s->busy, __ATOMIC_RELAXED) : 0;
}

static void *accept_main(void *arg)
{
	struct ctl_server *s = arg;
	for (;;) {
		struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
				      {.fd = s->stop_pipe[0], .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN)
			accept_one(s);
	}
	return NULL;
}

static int make_socket(struct ctl_server *s, const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(s->path)];
	snprintf(dir, sizeof(dir), "%s", s->path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		goto fail;
	unlink(s->path); /* a stale socket of an earlier run */
	mode_t old = umask(0117);
	int r = bind(s->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r || listen(s->fd, 16))
		goto fail;
	if (group && group[0]) {
		struct group *g = getgrnam(group);
		if (!g)
			log_warn("control socket: no group '%s': only root may use %s (create it: "
				 "addgroup --system %s)",
				 group, s->path, group);
		else if (chown(s->path, 0, g->gr_gid))
			log_warn("control socket: chown to group %s: %s", group, strerror(errno));
	}
	if (chmod(s->path, 0660))
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return -1;
}

struct ctl_server *ctl_server_start(struct daemon *d, const char *path, const char *group,
				    char *err, size_t errlen)
{
	struct ctl_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->d = d;
	s->fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	pthread_mutex_init(&s->lock, NULL);
	if (make_socket(s, group, err, errlen))
		goto fail;
	if (pipe2(s->stop_pipe, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (pthread_create(&s->thread, NULL, accept_main, s)) {
		snprintf(err, errlen, "cannot start a thread");
		goto fail;
	}
	return s;
fail:
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->path);
	}
	free(s);
	return NULL;
}

void ctl_server_stop(struct ctl_server *s)
{
	if (!s)
		return;
	if (write(s->stop_pipe[1], "x", 1) != 1)
		log_warn("control: cannot wake the accept thread");
	pthread_join(s->thread, NULL);
	/* clients still reading a request or blocked in a reply: wake them */
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->slots[i].used && !s->slots[i].finished && s->slots[i].cl.fd >= 0)
			shutdown(s->slots[i].cl.fd, SHUT_RDWR);
	pthread_mutex_unlock(&s->lock);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (s->slots[i].used)
			pthread_join(s->slots[i].thread, NULL);
	close(s->fd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	unlink(s->path);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
