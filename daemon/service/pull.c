/* http_pull.c - the pull endpoint: /debug/pprof/profile and /metrics over
 * libmicrohttpd, a thread per connection (a profile request waits its
 * seconds on a capture the sampler feeds). */
#define _GNU_SOURCE
#include "service/pull.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "service/daemon.h"
#include "service/snapshot.h"
#include "sys/log.h"
#include "sys/parse.h"

#define MAX_SECONDS	600
#define DEFAULT_SECONDS 10

struct http_pull {
	struct daemon *d;
	struct MHD_Daemon *mhd;
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

static enum MHD_Result serve_profile(struct http_pull *h, struct MHD_Connection *conn)
{
	struct daemon *d = h->d;
	const char *sec = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "seconds");
	const char *pid_s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "pid");
	const char *svc = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "service");
	unsigned long seconds = DEFAULT_SECONDS, pid = 0;
	if (sec && parse_uint_arg(sec, MAX_SECONDS, &seconds))
		return error(h, conn, MHD_HTTP_BAD_REQUEST, "seconds: '%s' is not 1 to %d", sec,
			     MAX_SECONDS);
	if (pid_s && parse_uint_arg(pid_s, 0x3fffffff, &pid))
		return error(h, conn, MHD_HTTP_BAD_REQUEST, "pid: '%s' is not a pid", pid_s);
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
	pthread_mutex_unlock(&d->lock);
	unsigned char *buf = NULL;
	size_t len = 0;
	int enc = export_pprof_buf(c->prof, &buf, &len);
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	struct http_pull *h = cls;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
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

struct http_pull *http_pull_start(struct daemon *d, const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	if (parse_addr(addr, &ss, err, errlen))
		return NULL;
	struct http_pull *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->d = d;
	unsigned flags =
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER,
				  mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned)(MAX_SECONDS + 30), MHD_OPTION_END);
	if (!h->mhd) {
		snprintf(err, errlen, "cannot listen on %s (in use, or not an address here)", addr);
		free(h);
		return NULL;
	}
	return h;
}

void http_pull_stop(struct http_pull *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}
