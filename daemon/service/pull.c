/* http_pull.c - the pull endpoint: /debug/pprof/profile and /metrics over
 * libmicrohttpd, a thread per connection (a profile request waits its
 * seconds on a capture the sampler feeds).  Every connection has a
 * deadline (its headers within seconds, a request its length), kept by a
 * watchdog: a client that dribbles bytes holds a slot only that long. */
#define _GNU_SOURCE
#include "service/pull.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "export/export.h"
#include "profile/view.h"
#include "service/daemon.h"
#include "service/snapshot.h"
#include "sys/clock.h"
#include "sys/log.h"
#include "sys/parse.h"

#define MAX_SECONDS	600
#define DEFAULT_SECONDS 10
#define MAX_CONNECTIONS 512
#define HEADERS_S	5  /* a request's headers arrive within this */
#define REPLY_S		10 /* a reply but a profile's goes out within this */
#define IDLE_S		5  /* libmicrohttpd's own: no byte either way */

/* A connection and when it must be done. */
struct conn_track {
	int fd;
	uint64_t deadline;
	bool cut;
	struct conn_track *prev, *next;
};

struct http_pull {
	struct daemon *d;
	struct MHD_Daemon *mhd;
	char token[128];      /* "": none asked */
	pthread_mutex_t lock; /* the tracks */
	pthread_cond_t wake;
	bool stopping;
	pthread_t watchdog;
	struct conn_track *tracks;
	uint64_t cut; /* connections cut at their deadline */
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     void *body, size_t len, bool owned)
{
	struct MHD_Response *r =
		owned ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
		      : MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result error(struct http_pull *h, struct MHD_Connection *conn, unsigned status,
			     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result error(struct http_pull *h, struct MHD_Connection *conn, unsigned status,
			     const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	msg[n] = 0;
	pthread_mutex_lock(&h->d->lock);
	h->d->ctr.pull_errors++;
	pthread_mutex_unlock(&h->d->lock);
	return reply(conn, status, "text/plain; charset=utf-8", msg, (size_t)n, false);
}

static int parse_uint_arg(const char *s, unsigned long max, unsigned long *out)
{
	uint64_t v;
	if (parse_u64(s, 1, max, &v))
		return -1;
	*out = (unsigned long)v;
	return 0;
}

int pull_parse_args(const char *sec, const char *pid_s, const char *svc, struct pull_args *out,
		    char *err, size_t errlen)
{
	out->seconds = DEFAULT_SECONDS;
	out->pid = 0;
	out->service = svc;
	if (sec && parse_uint_arg(sec, MAX_SECONDS, &out->seconds)) {
		snprintf(err, errlen, "seconds: '%s' is not 1 to %d", sec, MAX_SECONDS);
		return -1;
	}
	if (pid_s && parse_uint_arg(pid_s, 0x3fffffff, &out->pid)) {
		snprintf(err, errlen, "pid: '%s' is not a pid", pid_s);
		return -1;
	}
	return 0;
}

static enum MHD_Result serve_profile(struct http_pull *h, struct MHD_Connection *conn)
{
	struct daemon *d = h->d;
	const char *sec = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "seconds");
	const char *pid_s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "pid");
	const char *svc = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "service");
	struct pull_args args;
	char why[512]; /* error() cuts at 510 bytes: the same message */
	if (pull_parse_args(sec, pid_s, svc, &args, why, sizeof(why)))
		return error(h, conn, MHD_HTTP_BAD_REQUEST, "%s", why);
	unsigned long seconds = args.seconds, pid = args.pid;
	uint32_t pid32 = (uint32_t)pid;
	pthread_mutex_lock(&d->lock);
	if (pid && !daemon_proc(d, (pid_t)pid)) {
		pthread_mutex_unlock(&d->lock);
		return error(h, conn, MHD_HTTP_NOT_FOUND,
			     "pid %lu is not a Python process pybpfd profiles (see pybpfctl ps)",
			     pid);
	}
	struct capture *c =
		d->closing ? NULL
			   : capture_new(CAPTURE_PROFILE, AGG_MODE_CPU, &pid32, pid ? 1 : 0, -1,
					 svc, (double)seconds, d->cfg.rate_hz);
	if (!c) {
		pthread_mutex_unlock(&d->lock);
		return error(h, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the daemon is stopping");
	}
	c->aligned = true;
	capture_start(d, c);
	d->ctr.pull_requests++;
	/* the sampler ticks about once a second: allow a few */
	capture_wait(d, c, c->end_mono + 5000000000ULL);
	capture_detach(d, c);
	struct prof_view view = {.native = (enum prof_native)d->cfg.native};
	pthread_mutex_unlock(&d->lock);
	unsigned char *buf = NULL;
	size_t len = 0;
	struct profile *shown = profile_view(c->prof, &view);
	int enc = shown ? export_pprof_buf(shown, &buf, &len) : -1;
	if (shown) {
		profile_free(shown);
		free(shown);
	}
	capture_free(NULL, c);
	if (enc)
		return error(h, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "encoding failed: %s",
			     strerror(errno));
	return reply(conn, MHD_HTTP_OK, "application/octet-stream", buf, len, true);
}

static enum MHD_Result serve_metrics(struct http_pull *h, struct MHD_Connection *conn)
{
	struct daemon_snapshot snap;
	char *buf = NULL;
	size_t len = 0;
	pthread_mutex_lock(&h->d->lock);
	int r = daemon_snapshot(h->d, &snap);
	pthread_mutex_unlock(&h->d->lock);
	FILE *f = r ? NULL : open_memstream(&buf, &len);
	if (!f) {
		daemon_snapshot_free(&snap);
		return error(h, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	metrics_write(&snap, f);
	daemon_snapshot_free(&snap);
	if (fclose(f)) {
		free(buf);
		return error(h, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf, len, true);
}

/* Its headers are in: the connection now has until its reply is out. */
static void extend(struct http_pull *h, struct MHD_Connection *conn, unsigned seconds)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_track *t = ci ? ci->socket_context : NULL;
	if (!t)
		return;
	pthread_mutex_lock(&h->lock);
	t->deadline = monotonic_ns() + (uint64_t)seconds * 1000000000ULL;
	pthread_mutex_unlock(&h->lock);
}

/* Equal, in a time that depends on the lengths only. */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;
	for (size_t i = 0; i < lb; i++)
		diff |= (unsigned char)(a[i % (la ? la : 1)] ^ b[i]);
	return diff == 0 && la == lb;
}

/* The request carries "Authorization: Bearer <pull_token>". */
static bool authorized(struct http_pull *h, struct MHD_Connection *conn)
{
	if (!h->token[0])
		return true;
	const char *v =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!v || strncmp(v, "Bearer ", 7) != 0)
		return false;
	return same_secret(v + 7, h->token);
}

static enum MHD_Result unauthorized(struct http_pull *h, struct MHD_Connection *conn)
{
	static const char msg[] = "this endpoint needs \"Authorization: Bearer <pull_token>\"\n";
	pthread_mutex_lock(&h->d->lock);
	h->d->ctr.pull_errors++;
	pthread_mutex_unlock(&h->d->lock);
	struct MHD_Response *r = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
								 MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_UNAUTHORIZED, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	struct http_pull *h = cls;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	bool profile = strcmp(url, "/debug/pprof/profile") == 0;
	unsigned secs = profile ? MAX_SECONDS + 30 : REPLY_S;
	extend(h, conn, secs);
	if (profile) /* the wait for the capture is no idleness of the client */
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, secs);
	if (!authorized(h, conn))
		return unauthorized(h, conn);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET");
	if (strcmp(url, "/debug/pprof/profile") == 0)
		return serve_profile(h, conn);
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(h, conn);
	if (strcmp(url, "/") == 0) {
		static const char index[] =
			"pybpfd\n"
			"/debug/pprof/profile?seconds=N[&pid=PID][&service=NAME]  CPU profile "
			"(gzip'd pprof) of the next N seconds\n"
			"/metrics  Prometheus metrics\n";
		return reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", (void *)index,
			     sizeof(index) - 1, false);
	}
	return error(h, conn, MHD_HTTP_NOT_FOUND, "no such page: %s (try / )", url);
}

/* "127.0.0.1:6171", "[::1]:6171", ":6171". */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(addr, ':');
	memset(ss, 0, sizeof(*ss));
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		goto bad;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || !colon[1] || port > 65535)
		goto bad;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = 0;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
			goto bad;
		return 0;
	}
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	if (!host[0]) {
		in4->sin_addr.s_addr = htonl(INADDR_ANY);
		return 0;
	}
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1)
		return 0;
bad:
	snprintf(err, errlen, "'%s' is not an address:port (e.g. 127.0.0.1:6171)", addr);
	return -1;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	log_warn("http: %s", msg);
}

static void notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		   enum MHD_ConnectionNotificationCode toe)
{
	struct http_pull *h = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct conn_track *t = ci ? calloc(1, sizeof(*t)) : NULL;
		*socket_context = t;
		if (!t)
			return;
		t->fd = ci->connect_fd;
		pthread_mutex_lock(&h->lock);
		t->deadline = monotonic_ns() + HEADERS_S * 1000000000ULL;
		t->next = h->tracks;
		if (h->tracks)
			h->tracks->prev = t;
		h->tracks = t;
		pthread_mutex_unlock(&h->lock);
		return;
	}
	/* closed: libmicrohttpd closes the socket after this */
	struct conn_track *t = *socket_context;
	if (!t)
		return;
	pthread_mutex_lock(&h->lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		h->tracks = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&h->lock);
	free(t);
	*socket_context = NULL;
}

/* Cuts connections past their deadline: their thread sees the end of the
 * stream and libmicrohttpd closes them. */
static void *watchdog_main(void *arg)
{
	struct http_pull *h = arg;
	pthread_mutex_lock(&h->lock);
	while (!h->stopping) {
		uint64_t now = monotonic_ns();
		for (struct conn_track *t = h->tracks; t; t = t->next)
			if (!t->cut && now >= t->deadline) {
				shutdown(t->fd, SHUT_RDWR);
				t->cut = true;
				h->cut++;
			}
		struct timespec ts = ns_to_timespec(now + 250000000ULL);
		pthread_cond_timedwait(&h->wake, &h->lock, &ts);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static bool loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static void free_pull(struct http_pull *h)
{
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

struct http_pull *http_pull_start(struct daemon *d, const char *addr, const char *token,
				  bool insecure, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	if (parse_addr(addr, &ss, err, errlen))
		return NULL;
	if (!loopback(&ss) && !token[0] && !insecure) {
		snprintf(err, errlen,
			 "%s is not a loopback address: set pull_token (clients then send "
			 "\"Authorization: Bearer <token>\"), or pull_insecure = true to serve "
			 "anyone who can reach it",
			 addr);
		return NULL;
	}
	if (strlen(token) >= sizeof(((struct http_pull *)0)->token)) {
		snprintf(err, errlen, "pull_token is longer than %zu characters",
			 sizeof(((struct http_pull *)0)->token) - 1);
		return NULL;
	}
	struct http_pull *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->d = d;
	snprintf(h->token, sizeof(h->token), "%s", token);
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &ca);
	pthread_condattr_destroy(&ca);
	unsigned flags =
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* SO_REUSEPORT: a reload opens the new endpoint before it closes the
	 * old one, on the same port */
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER,
				  mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_S,
				  MHD_OPTION_NOTIFY_CONNECTION, notify, h, MHD_OPTION_END);
	if (!h->mhd) {
		snprintf(err, errlen, "cannot listen on %s (in use, or not an address here)", addr);
		free_pull(h);
		return NULL;
	}
	if (pthread_create(&h->watchdog, NULL, watchdog_main, h)) {
		MHD_stop_daemon(h->mhd);
		free_pull(h);
		snprintf(err, errlen, "cannot start a thread");
		return NULL;
	}
	return h;
}

uint64_t http_pull_cut(struct http_pull *h)
{
	if (!h)
		return 0;
	pthread_mutex_lock(&h->lock);
	uint64_t n = h->cut;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void http_pull_stop(struct http_pull *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->watchdog, NULL);
	free_pull(h);
}
