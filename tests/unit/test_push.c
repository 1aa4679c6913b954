/* daemon/push.c against a tiny HTTP server in this test (a thread on a
 * loopback port): retries keep windows until the server takes them, in
 * order and exactly once; the queue bound drops the oldest; what a stop
 * leaves on disk is sent by the next start; 4xx is rejected; a stop waits
 * out no backoff beyond its grace. */
#define _GNU_SOURCE /* strcasestr */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "service/push.h"

/* ---- the server -------------------------------------------------------------- */

#define MAX_REQS 256

struct req {
	char target[1024]; /* URL-decoded request target */
	char ctype[128];
	unsigned char *body;
	size_t len;
	int status; /* what it was answered */
};

struct server {
	int lfd;
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t mu;
	int status; /* to answer */
	int stop;
	struct req reqs[MAX_REQS];
	size_t nreq;
};

static void handle(struct server *s, int fd)
{
	char hdr[16384], line[1100], *end, *cl, *ct;
	size_t n = 0, len = 0, have;
	unsigned char *body;
	struct timeval tv = {.tv_sec = 5};
	int status;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t r = recv(fd, hdr + n, sizeof(hdr) - 1 - n, 0);
		if (r <= 0)
			return;
		n += (size_t)r;
		hdr[n] = '\0';
		if ((end = strstr(hdr, "\r\n\r\n")))
			break;
		if (n == sizeof(hdr) - 1)
			return;
	}
	*end = '\0';
	cl = strcasestr(hdr, "\r\nContent-Length:");
	if (cl)
		len = strtoul(cl + 17, NULL, 10);
	body = malloc(len + 1);
	assert_non_null(body);
	have = n - (size_t)(end + 4 - hdr);
	if (have > len)
		have = len;
	memcpy(body, end + 4, have);
	while (have < len) {
		ssize_t r = recv(fd, body + have, len - have, 0);
		if (r <= 0) {
			free(body);
			return;
		}
		have += (size_t)r;
	}

	pthread_mutex_lock(&s->mu);
	status = s->status;
	if (s->nreq < MAX_REQS) {
		struct req *q = &s->reqs[s->nreq++];
		char *sp1, *sp2, *dec;
		int dlen = 0;

		ct = strcasestr(hdr, "\r\nContent-Type:");
		if (ct) {
			char *v = ct + 15, *e = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			snprintf(q->ctype, sizeof(q->ctype), "%.*s",
				 (int)(e ? (size_t)(e - v) : strlen(v)), v);
		}
		sp1 = strchr(hdr, ' ');
		sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		if (sp1 && sp2) {
			*sp2 = '\0';
			dec = curl_easy_unescape(NULL, sp1 + 1, 0, &dlen);
			snprintf(q->target, sizeof(q->target), "%s", dec ? dec : "");
			curl_free(dec);
		}
		q->body = body;
		q->len = len;
		q->status = status;
		body = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	free(body);

	snprintf(line, sizeof(line),
		 "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
		 "Connection: close\r\n\r\nstatus %d\n",
		 status, status >= 100 && status < 1000 ? 11 : 0, status);
	send(fd, line, strlen(line), MSG_NOSIGNAL);
}

static void *server_main(void *arg)
{
	struct server *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
		int fd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		handle(s, fd);
		close(fd);
	}
	return NULL;
}

static struct server *server_start(int status)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);

	assert_non_null(s);
	s->status = status;
	pthread_mutex_init(&s->mu, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	return s;
}

static void server_set_status(struct server *s, int status)
{
	pthread_mutex_lock(&s->mu);
	s->status = status;
	pthread_mutex_unlock(&s->mu);
}

static size_t server_count(struct server *s, int status)
{
	size_t n = 0;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nreq; i++)
		if (s->reqs[i].status == status)
			n++;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* The i-th request answered status (the server's thread is stopped or idle). */
static const struct req *server_req(struct server *s, int status, size_t i)
{
	for (size_t k = 0; k < s->nreq; k++)
		if (s->reqs[k].status == status && i-- == 0)
			return &s->reqs[k];
	fail_msg("no request #%zu answered %d", i, status);
	return NULL;
}

static void server_stop(struct server *s)
{
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	for (size_t i = 0; i < s->nreq; i++)
		free(s->reqs[i].body);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* A loopback port nothing listens on. */
static uint16_t dead_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---- helpers ----------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define WAIT_FOR(p, st, cond, timeout_ms)                                                          \
	do {                                                                                       \
		uint64_t t0_ = now_ms();                                                           \
		for (;;) {                                                                         \
			push_get_stats(p, &st);                                                    \
			if (cond)                                                                  \
				break;                                                             \
			if (now_ms() - t0_ > (timeout_ms))                                         \
				fail_msg("timed out waiting for " #cond);                          \
			usleep(10000);                                                             \
		}                                                                                  \
	} while (0)

static void make_body(unsigned char *b, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)((i * 131 + seed * 17 + (i >> 3)) &
				       0xff); /* NULs, '\n' too */
}

static char *make_dir(void)
{
	char *d = strdup("/tmp/test_push.XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void remove_dir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
	free(dir);
}

/* The names in dir other than ".", ".." and ".lock", sorted, joined by ' '. */
static void list_dir(const char *dir, char *out, size_t len)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	size_t off = 0;

	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		if (strcmp(nm, ".") && strcmp(nm, "..") && strcmp(nm, ".lock"))
			off += (size_t)snprintf(out + off, len - off, "%s%s", off ? " " : "", nm);
		free(names[i]);
	}
	free(names);
}

static struct push_config config(char *url, size_t urllen, uint16_t port, const char *dir)
{
	struct push_config c = {
		.url = url,
		.labels = "env=test, host=h1",
		.queue_dir = dir,
		.queue_max_bytes = 1 << 20,
		.timeout_s = 5,
		.backoff_max_s = 1,
	};
	snprintf(url, urllen, "http://127.0.0.1:%u/", port);
	return c;
}

/* ---- tests ------------------------------------------------------------------- */

static void retry_then_deliver(void **state)
{
	struct server *s = server_start(503);
	char *dir = make_dir(), url[64], err[256], names[512];
	struct push_config cfg = config(url, sizeof(url), s->port, dir);
	unsigned char body[3][1500];
	struct push_stats st;
	struct pusher *p;

	(void)state;
	p = push_start(&cfg, err, sizeof(err));
	if (!p)
		fail_msg("push_start: %s", err);
	for (unsigned i = 0; i < 3; i++) {
		make_body(body[i], sizeof(body[i]), i);
		assert_int_equal(push_enqueue(p, "svc", i == 1 ? "pid=42, env=override" : NULL,
					      1000 + 15 * i, 1015 + 15 * i, 99, body[i],
					      sizeof(body[i])),
				 0);
	}
	WAIT_FOR(p, st, st.failed >= 2, 5000);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.queue_files, 3);
	assert_true(st.queue_bytes > 3 * sizeof(body[0]));
	assert_non_null(strstr(st.last_error, "HTTP 503"));
	assert_non_null(strstr(st.last_error, "POST http://127.0.0.1:"));
	assert_true(st.last_error_time > 0);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names,
			    "0000000000000001.win 0000000000000002.win 0000000000000003.win");

	server_set_status(s, 200);
	WAIT_FOR(p, st, st.sent == 3, 8000);
	assert_int_equal(st.queue_files, 0);
	assert_int_equal(st.queue_bytes, 0);
	assert_string_equal(st.last_error, "");
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.dropped_full, 0);
	push_stop(p, 1000);

	/* in order, once each, intact */
	assert_int_equal(server_count(s, 200), 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct req *q = server_req(s, 200, i);
		char want[512];
		snprintf(want, sizeof(want),
			 "/ingest?name=svc{%s}&from=%u&until=%u&format=pprof&sampleRate=99"
			 "&spyName=pybpf",
			 i == 1 ? "env=override,host=h1,pid=42" : "env=test,host=h1", 1000 + 15 * i,
			 1015 + 15 * i);
		assert_string_equal(q->target, want);
		assert_string_equal(q->ctype, "application/octet-stream");
		assert_int_equal(q->len, sizeof(body[i]));
		assert_memory_equal(q->body, body[i], sizeof(body[i]));
	}
	/* the 503s were all the oldest window */
	for (size_t i = 0; i < server_count(s, 503); i++)
		assert_int_equal(server_req(s, 503, i)->len, sizeof(body[0]));
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "");
	server_stop(s);
	remove_dir(dir);
}

static void queue_bound(void **state)
{
	char *dir = make_dir(), url[64], err[256], names[512];
	struct push_config cfg = config(url, sizeof(url), dead_port(), dir);
	unsigned char body[5000];
	struct push_stats st;
	struct pusher *p;

	(void)state;
	/* files are 1000 bytes of body + a query of ~130: two fit, three do not */
	cfg.queue_max_bytes = 2500;
	p = push_start(&cfg, err, sizeof(err));
	if (!p)
		fail_msg("push_start: %s", err);
	for (unsigned i = 0; i < 5; i++) {
		make_body(body, 1000, i);
		assert_int_equal(push_enqueue(p, "svc", NULL, 2000 + i, 2010 + i, 99, body, 1000),
				 0);
	}
	/* the oldest may have been in flight: counted once its attempt ends */
	WAIT_FOR(p, st, st.dropped_full == 3, 3000);
	assert_int_equal(st.queued, 5);
	assert_int_equal(st.queue_files, 2);
	assert_true(st.queue_bytes <= cfg.queue_max_bytes);
	assert_int_equal(st.sent, 0);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "0000000000000004.win 0000000000000005.win");

	/* a window larger than the bound by itself: dropped, the queue kept */
	make_body(body, sizeof(body), 9);
	assert_int_equal(push_enqueue(p, "svc", NULL, 3000, 3010, 99, body, sizeof(body)), -1);
	assert_int_equal(errno, EFBIG);
	WAIT_FOR(p, st, st.failed >= 1, 3000);
	assert_int_equal(st.dropped_full, 4);
	assert_int_equal(st.queue_files, 2);
	assert_non_null(strstr(st.last_error, "Couldn't connect to server"));
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "0000000000000004.win 0000000000000005.win");
	push_stop(p, 0);

	/* a new start numbers on from the largest */
	p = push_start(&cfg, err, sizeof(err));
	if (!p)
		fail_msg("push_start: %s", err);
	push_get_stats(p, &st);
	assert_int_equal(st.queue_files, 2);
	assert_int_equal(push_enqueue(p, "svc", NULL, 4000, 4010, 99, body, 500), 0);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "0000000000000005.win 0000000000000006.win");
	push_stop(p, 0);
	remove_dir(dir);
}

static void persistence(void **state)
{
	char *dir = make_dir(), url[64], err[256], names[512], path[512];
	struct push_config cfg = config(url, sizeof(url), dead_port(), dir);
	unsigned char body[3][777];
	struct pusher *p, *p2;
	struct push_stats st;
	struct server *s;
	uint64_t t0;
	int fd;

	(void)state;
	p = push_start(&cfg, err, sizeof(err));
	if (!p)
		fail_msg("push_start: %s", err);
	/* one pusher per directory */
	p2 = push_start(&cfg, err, sizeof(err));
	assert_null(p2);
	assert_non_null(strstr(err, "in use"));
	for (unsigned i = 0; i < 3; i++) {
		make_body(body[i], sizeof(body[i]), 40 + i);
		assert_int_equal(push_enqueue(p, "worker", "k=v", 10 * i, 10 * i + 10, 49, body[i],
					      sizeof(body[i])),
				 0);
	}
	WAIT_FOR(p, st, st.failed >= 1, 3000);
	t0 = now_ms();
	push_stop(p, 300);
	assert_true(now_ms() - t0 < 1500);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names,
			    "0000000000000001.win 0000000000000002.win 0000000000000003.win");

	/* what a crash leaves half-written is removed at start */
	snprintf(path, sizeof(path), "%s/.tmp-AbC123", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "name=junk", 9), 9);
	close(fd);

	s = server_start(200);
	cfg = config(url, sizeof(url), s->port, dir);
	p = push_start(&cfg, err, sizeof(err));
	if (!p)
		fail_msg("push_start: %s", err);
	assert_int_equal(access(path, F_OK), -1);
	WAIT_FOR(p, st, st.sent == 3, 5000);
	assert_int_equal(st.queue_files, 0);
	assert_int_equal(st.queued, 0); /* queued by the earlier run */
	push_stop(p, 1000);
	assert_int_equal(server_count(s, 200), 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct req *q = server_req(s, 200, i);
		char want[256];
		snprintf(want, sizeof(want),
			 "/ingest?name=worker{env=test,host=h1,k=v}&from=%u&until=%u"
			 "&format=pprof&sampleRate=49&spyName=pybpf",
			 10 * i, 10 * i + 10);
		assert_string_equal(q->target, want);
		assert_int_equal(q->len, sizeof(body[i]));
		assert_memory_equal(q->body, body[i], sizeof(body[i]));
	}
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "");
	server_stop(s);
	remove_dir(dir);
}

static void rejected_and_errors(void **state)
{
	struct server *s = server_start(400);
	char *dir = make_dir(), url[64], err[256], names[512];
	struct push_config cfg = config(url, sizeof(url), s->port, dir);
	unsigned char body[100];
	struct push_stats st;
	struct pusher *p;

	(void)state;
	make_body(body, sizeof(body), 1);
	p = push_start(&cfg, err, sizeof(err));
	if (!p)
		fail_msg("push_start: %s", err);
	assert_int_equal(push_enqueue(p, "svc", NULL, 1, 2, 99, body, sizeof(body)), 0);
	WAIT_FOR(p, st, st.rejected == 1, 3000);
	assert_int_equal(st.queue_files, 0);
	assert_int_equal(st.failed, 0);
	assert_non_null(strstr(st.last_error, "HTTP 400"));
	assert_non_null(strstr(st.last_error, "status 400"));
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "");

	/* 408 and 429 are retried */
	server_set_status(s, 429);
	assert_int_equal(push_enqueue(p, "svc", NULL, 1, 2, 99, body, sizeof(body)), 0);
	WAIT_FOR(p, st, st.failed >= 1, 3000);
	assert_int_equal(st.queue_files, 1);
	assert_int_equal(st.rejected, 1);
	server_set_status(s, 204);
	WAIT_FOR(p, st, st.sent == 1, 3000);
	assert_string_equal(st.last_error, "");

	/* bad labels */
	assert_int_equal(push_enqueue(p, "svc", "novalue", 1, 2, 99, body, sizeof(body)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(push_enqueue(p, "svc", "a=b}", 1, 2, 99, body, sizeof(body)), -1);
	assert_int_equal(push_enqueue(p, "", NULL, 1, 2, 99, body, sizeof(body)), -1);
	push_stop(p, 1000);

	cfg.labels = "env";
	assert_null(push_start(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "not key=value"));
	cfg.labels = "";
	cfg.url = "ftp://x";
	assert_null(push_start(&cfg, err, sizeof(err)));
	server_stop(s);
	remove_dir(dir);
}

static void stop_grace(void **state)
{
	struct server *s = server_start(503);
	char *dir = make_dir(), url[64], err[256], names[512];
	struct push_config cfg = config(url, sizeof(url), s->port, dir);
	unsigned char body[64];
	struct push_stats st;
	struct pusher *p;
	uint64_t t0;

	(void)state;
	cfg.backoff_max_s = 30;
	make_body(body, sizeof(body), 3);
	p = push_start(&cfg, err, sizeof(err));
	if (!p)
		fail_msg("push_start: %s", err);
	assert_int_equal(push_enqueue(p, "svc", NULL, 1, 2, 99, body, sizeof(body)), 0);
	/* after two failures the next attempt is 2 s off, then 4 s */
	WAIT_FOR(p, st, st.failed >= 2, 4000);
	t0 = now_ms();
	push_stop(p, 200);
	assert_true(now_ms() - t0 < 1000);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "0000000000000001.win");

	/* a stop with time to spare sends everything first */
	server_set_status(s, 200);
	p = push_start(&cfg, err, sizeof(err));
	if (!p)
		fail_msg("push_start: %s", err);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(push_enqueue(p, "svc", NULL, 1, 2, 99, body, sizeof(body)), 0);
	push_stop(p, 5000);
	assert_int_equal(server_count(s, 200), 5);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "");
	server_stop(s);
	remove_dir(dir);
}

struct producer {
	struct pusher *p;
	unsigned id;
};

static void *produce(void *arg)
{
	struct producer *pr = arg;
	unsigned char body[200];

	for (unsigned i = 0; i < 25; i++) {
		make_body(body, sizeof(body), pr->id * 100 + i);
		body[0] = (unsigned char)pr->id;
		body[1] = (unsigned char)i;
		if (push_enqueue(pr->p, "svc", NULL, i, i + 1, 99, body, sizeof(body)))
			return (void *)1;
	}
	return NULL;
}

static void concurrent_enqueue(void **state)
{
	struct server *s = server_start(200);
	char *dir = make_dir(), url[64], err[256];
	struct push_config cfg = config(url, sizeof(url), s->port, dir);
	struct producer pr[4];
	pthread_t th[4];
	struct push_stats st;
	struct pusher *p;
	unsigned next[4] = {0};

	(void)state;
	p = push_start(&cfg, err, sizeof(err));
	if (!p)
		fail_msg("push_start: %s", err);
	for (unsigned i = 0; i < 4; i++) {
		pr[i].p = p;
		pr[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, produce, &pr[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++) {
		void *rv;
		pthread_join(th[i], &rv);
		assert_null(rv);
	}
	WAIT_FOR(p, st, st.sent == 100, 10000);
	assert_int_equal(st.queued, 100);
	assert_int_equal(st.queue_files, 0);
	push_stop(p, 1000);
	/* every window once, each producer's in its order */
	assert_int_equal(server_count(s, 200), 100);
	for (size_t i = 0; i < 100; i++) {
		const struct req *q = server_req(s, 200, i);
		assert_int_equal(q->len, 200);
		assert_true(q->body[0] < 4);
		assert_int_equal(q->body[1], next[q->body[0]]);
		next[q->body[0]]++;
	}
	server_stop(s);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(retry_then_deliver), cmocka_unit_test(queue_bound),
		cmocka_unit_test(persistence),	      cmocka_unit_test(rejected_and_errors),
		cmocka_unit_test(stop_grace),	      cmocka_unit_test(concurrent_enqueue),
	};

	/* straight to 127.0.0.1, whatever the environment says */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
