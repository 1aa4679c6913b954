/* push.c - delivers windows to a Pyroscope-compatible /ingest from the
 * on-disk queue (service/pushqueue.h), on a thread of its own.
 *
 * The thread sends the oldest file first.  2xx: the file is removed (sent).
 * A connection error, timeout, 5xx, 408 or 429: the attempt counts as failed,
 * and the next one waits 1 s, 2 s, 4 s ... up to backoff_max_s (back to 1 s
 * after a success).  Any other 4xx: the server refuses the window for good;
 * it is removed (rejected).  3xx and the like are retried as failures.
 *
 * The queue is bounded in bytes: after each new file the oldest are deleted
 * (dropped_full) until the total fits, the new one excepted - unless it alone
 * exceeds the bound, when it is not queued at all (and counted dropped).  A
 * file being sent when dropped is counted sent if that attempt succeeds,
 * dropped otherwise.
 *
 * Locking: enq_mu serialises push_enqueue() (file writes); mu guards the
 * queue's index, the stats and the thread's state.  The thread holds neither
 * while it reads a file or talks HTTP. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "service/push.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/pushqueue.h"
#include "service/pyroscope.h"
#include "sys/clock.h"
#include "sys/log.h"

#define RESP_KEEP 160 /* bytes of a response body kept for last_error */

struct pusher {
	char *url; /* base URL + "/ingest" */
	char *labels;
	char *dir;
	uint64_t max_bytes;
	uint32_t timeout_s, backoff_max_s;

	pthread_mutex_t enq_mu;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	pthread_t thread;

	/* under mu */
	struct pushqueue q;
	bool queue_open;
	bool inflight;	       /* the thread is sending inflight_seq */
	bool inflight_dropped; /* ... and the bound deleted it meanwhile */
	uint64_t inflight_seq;
	bool stopping;
	uint64_t retry_at_ns; /* no attempt before this (backoff) */
	uint32_t backoff_s;
	struct push_stats st;

	/* read without mu by the progress callback */
	int stop_flag;
	uint64_t stop_deadline_ns;

	/* the thread's own */
	CURL *curl;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	char resp[RESP_KEEP + 1];
	size_t resp_n;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void set_error(struct pusher *p, const char *msg)
{
	if (strcmp(p->st.last_error, msg))
		log_warn("push: %s", msg);
	snprintf(p->st.last_error, sizeof(p->st.last_error), "%s", msg);
	p->st.last_error_time = (uint64_t)time(NULL);
}

/* ---- the thread ----------------------------------------------------------------- */

enum send_result {
	SEND_OK,
	SEND_RETRY,  /* failed++, backoff */
	SEND_REJECT, /* rejected++, removed */
	SEND_GONE,   /* the file is no longer there */
};

static enum send_result read_result(enum pushq_read r)
{
	switch (r) {
	case PUSHQ_OK:
		return SEND_OK;
	case PUSHQ_RETRY:
		return SEND_RETRY;
	case PUSHQ_INVALID:
		return SEND_REJECT;
	case PUSHQ_GONE:
		break;
	}
	return SEND_GONE;
}

static size_t resp_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct pusher *p = arg;
	size_t n = size * nmemb, room = RESP_KEEP - p->resp_n;

	if (room) {
		size_t c = n < room ? n : room;
		memcpy(p->resp + p->resp_n, data, c);
		p->resp_n += c;
		p->resp[p->resp_n] = '\0';
	}
	return n;
}

static int progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		    curl_off_t ulnow)
{
	struct pusher *p = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (__atomic_load_n(&p->stop_flag, __ATOMIC_ACQUIRE) &&
	    monotonic_ns() >= __atomic_load_n(&p->stop_deadline_ns, __ATOMIC_ACQUIRE))
		return 1; /* abort: push_stop's grace is over */
	return 0;
}

static enum send_result send_one(struct pusher *p, uint64_t seq, char *msg, size_t msglen)
{
	char *buf = NULL, *query, *body, *url;
	enum send_result r;
	size_t body_len, ul;
	long code = 0;
	long timeout_ms = (long)p->timeout_s * 1000;
	CURLcode cc;

	r = read_result(pushq_read(&p->q, seq, &buf, &query, &body, &body_len, msg, msglen));
	if (r != SEND_OK)
		return r;
	ul = strlen(p->url) + strlen(query) + 2;
	url = malloc(ul);
	if (!url) {
		free(buf);
		snprintf(msg, msglen, "out of memory");
		return SEND_RETRY;
	}
	snprintf(url, ul, "%s?%s", p->url, query);

	if (__atomic_load_n(&p->stop_flag, __ATOMIC_ACQUIRE)) {
		uint64_t now = monotonic_ns(),
			 dl = __atomic_load_n(&p->stop_deadline_ns, __ATOMIC_ACQUIRE);
		long left = dl > now ? (long)((dl - now) / NS_PER_MS) : 1;
		if (left < 1)
			left = 1;
		if (left < timeout_ms)
			timeout_ms = left;
	}
	p->errbuf[0] = '\0';
	p->resp_n = 0;
	p->resp[0] = '\0';
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	curl_easy_setopt(p->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	cc = curl_easy_perform(p->curl);
	if (cc != CURLE_OK) {
		/* the stable text, so that a lasting failure is logged once */
		snprintf(msg, msglen, "POST %s: %s", p->url, curl_easy_strerror(cc));
		if (p->errbuf[0])
			log_debug("push: POST %s: %s", p->url, p->errbuf);
		r = SEND_RETRY;
	} else {
		curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && code < 300) {
			r = SEND_OK;
		} else {
			/* the start of the server's explanation, on one line */
			for (size_t i = 0; i < p->resp_n; i++)
				if ((unsigned char)p->resp[i] < 0x20 || p->resp[i] == 0x7f)
					p->resp[i] = ' ';
			while (p->resp_n && p->resp[p->resp_n - 1] == ' ')
				p->resp[--p->resp_n] = '\0';
			snprintf(msg, msglen, "POST %s: HTTP %ld%s%.100s", p->url, code,
				 p->resp_n ? ": " : "", p->resp);
			if (code >= 400 && code < 500 && code != 408 && code != 429)
				r = SEND_REJECT;
			else
				r = SEND_RETRY;
		}
	}
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, NULL);
	free(url);
	free(buf);
	return r;
}

static void wait_until(struct pusher *p, uint64_t until_ns)
{
	struct timespec ts = ns_to_timespec(until_ns);
	pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

static void *push_thread(void *arg)
{
	struct pusher *p = arg;
	char msg[sizeof(p->st.last_error)];

	pthread_mutex_lock(&p->mu);
	for (;;) {
		uint64_t now = monotonic_ns(), seq;
		enum send_result r;

		bool have = pushq_oldest(&p->q, &seq);
		if (p->stopping && (!have || now >= p->stop_deadline_ns))
			break;
		if (!have) {
			pthread_cond_wait(&p->cv, &p->mu);
			continue;
		}
		if (now < p->retry_at_ns) {
			uint64_t until = p->retry_at_ns;
			if (p->stopping && p->stop_deadline_ns < until)
				until = p->stop_deadline_ns;
			wait_until(p, until);
			continue;
		}
		p->inflight = true;
		p->inflight_dropped = false;
		p->inflight_seq = seq;
		pthread_mutex_unlock(&p->mu);

		msg[0] = '\0';
		r = send_one(p, seq, msg, sizeof(msg));

		pthread_mutex_lock(&p->mu);
		switch (r) {
		case SEND_OK:
			p->st.sent++;
			pushq_remove(&p->q, seq);
			if (p->st.last_error[0])
				log_info("push: delivering again");
			p->st.last_error[0] = '\0';
			p->backoff_s = 1;
			p->retry_at_ns = 0;
			break;
		case SEND_RETRY:
			p->st.failed++;
			if (p->inflight_dropped)
				p->st.dropped_full++; /* it will not be retried */
			set_error(p, msg);
			p->retry_at_ns = monotonic_ns() + (uint64_t)p->backoff_s * NS_PER_SEC;
			p->backoff_s = p->backoff_s > p->backoff_max_s / 2 ? p->backoff_max_s
									   : p->backoff_s * 2;
			break;
		case SEND_REJECT:
			p->st.rejected++;
			pushq_remove(&p->q, seq);
			set_error(p, msg);
			p->backoff_s = 1; /* the server is there */
			p->retry_at_ns = 0;
			break;
		case SEND_GONE:
			if (p->inflight_dropped)
				p->st.dropped_full++;
			else
				pushq_remove(&p->q, seq); /* removed by someone else */
			break;
		}
		p->inflight = false;
		p->inflight_dropped = false;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- API ------------------------------------------------------------------------ */

static void pusher_free(struct pusher *p)
{
	if (!p)
		return;
	if (p->curl)
		curl_easy_cleanup(p->curl);
	curl_slist_free_all(p->headers);
	if (p->queue_open)
		pushq_close(&p->q);
	free(p->url);
	free(p->labels);
	free(p->dir);
	free(p);
}

static int setup_curl(struct pusher *p, char *err, size_t errlen)
{
	struct curl_slist *h;

	p->curl = curl_easy_init();
	if (!p->curl) {
		snprintf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	if (h)
		p->headers = h;
	h = h ? curl_slist_append(h, "Expect:") : NULL; /* no 100-continue round trip */
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, p->headers);
	curl_easy_setopt(p->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, resp_write);
	curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(p->curl, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(p->curl, CURLOPT_XFERINFODATA, p);
	curl_easy_setopt(p->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(p->curl, CURLOPT_USERAGENT, "pybpf/" PYBPF_VERSION);
	curl_easy_setopt(p->curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	return 0;
}

struct pusher *push_start(const struct push_config *cfg, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	struct pusher *p;
	size_t ul;
	int rc;

	if (!cfg || !cfg->url || !cfg->queue_dir || !*cfg->queue_dir) {
		snprintf(err, errlen, "push: url and queue_dir are required");
		return NULL;
	}
	if (strncmp(cfg->url, "http://", 7) && strncmp(cfg->url, "https://", 8)) {
		snprintf(err, errlen, "push: url '%s' is not http:// or https://", cfg->url);
		return NULL;
	}
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->max_bytes = cfg->queue_max_bytes;
	p->timeout_s = cfg->timeout_s ? cfg->timeout_s : 10;
	p->backoff_max_s = cfg->backoff_max_s ? cfg->backoff_max_s : 1;
	p->backoff_s = 1;
	if (pyro_labels_merge(cfg->labels, NULL, &p->labels, err, errlen))
		goto fail;
	ul = strlen(cfg->url);
	while (ul > 0 && cfg->url[ul - 1] == '/')
		ul--;
	p->url = malloc(ul + sizeof("/ingest"));
	p->dir = strdup(cfg->queue_dir);
	if (!p->url || !p->dir) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(p->url, cfg->url, ul);
	memcpy(p->url + ul, "/ingest", sizeof("/ingest"));

	char qerr[400];
	if (pushq_open(&p->q, p->dir, p->max_bytes, &p->st.dropped_full, qerr, sizeof(qerr))) {
		snprintf(err, errlen, "push: %s", qerr);
		goto fail;
	}
	p->queue_open = true;
	if (setup_curl(p, err, errlen))
		goto fail;

	pthread_mutex_init(&p->enq_mu, NULL);
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);

	if (p->q.dir.n)
		log_info("push: %zu window(s) (%" PRIu64 " bytes) queued in %s from an earlier run",
			 p->q.dir.n, p->q.dir.bytes, p->dir);
	/* the thread takes no signals: they are the daemon's main loop's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->thread, NULL, push_thread, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, errlen, "push: pthread_create: %s", strerror(rc));
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		pthread_mutex_destroy(&p->enq_mu);
		goto fail;
	}
	pthread_setname_np(p->thread, "pybpf-push");
	return p;
fail:
	pusher_free(p);
	return NULL;
}

static void dropped_for_bound(void *ctx, uint64_t seq)
{
	struct pusher *p = ctx;
	if (p->inflight && p->inflight_seq == seq)
		p->inflight_dropped = true; /* counted when the attempt ends */
	else
		p->st.dropped_full++;
}

int push_enqueue(struct pusher *p, const char *service, const char *labels, uint64_t from_s,
		 uint64_t until_s, uint32_t rate_hz, const void *pprof, size_t len)
{
	char err[200], *query;
	uint64_t seq, size;
	int saved;

	if (!p || !service || !*service || (!pprof && len)) {
		errno = EINVAL;
		return -1;
	}
	query = pyro_query(p->labels, service, labels, from_s, until_s, rate_hz, err, sizeof(err));
	if (!query) {
		saved = errno;
		log_warn("push: window of %s: %s", service, err);
		errno = saved;
		return -1;
	}
	size = (uint64_t)strlen(query) + 1 + len;

	pthread_mutex_lock(&p->enq_mu);
	if (size > p->max_bytes) {
		pthread_mutex_lock(&p->mu);
		p->st.queued++;
		p->st.dropped_full++;
		pthread_mutex_unlock(&p->mu);
		pthread_mutex_unlock(&p->enq_mu);
		log_warn("push: window of %s (%" PRIu64 " bytes) exceeds the queue bound, dropped",
			 service, size);
		free(query);
		errno = EFBIG;
		return -1;
	}
	pthread_mutex_lock(&p->mu);
	seq = p->q.next_seq++;
	pthread_mutex_unlock(&p->mu);
	if (pushq_write(&p->q, seq, query, pprof, len, &size))
		goto fail;
	pthread_mutex_lock(&p->mu);
	if (pushq_add(&p->q, seq, size)) {
		pthread_mutex_unlock(&p->mu);
		pushq_remove(&p->q, seq);
		errno = ENOMEM;
		goto fail;
	}
	p->st.queued++;
	pushq_enforce(&p->q, dropped_for_bound, p);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->enq_mu);
	free(query);
	return 0;

fail:
	saved = errno;
	pthread_mutex_unlock(&p->enq_mu);
	log_warn("push: cannot queue a window of %s in %s: %s", service, p->dir, strerror(saved));
	free(query);
	errno = saved;
	return -1;
}

void push_get_stats(struct pusher *p, struct push_stats *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->st;
	out->queue_files = p->q.dir.n;
	out->queue_bytes = p->q.dir.bytes;
	pthread_mutex_unlock(&p->mu);
}

void push_stop(struct pusher *p, int grace_ms)
{
	uint64_t deadline;

	if (!p)
		return;
	deadline = monotonic_ns() + (grace_ms > 0 ? (uint64_t)grace_ms * NS_PER_MS : 0);
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	__atomic_store_n(&p->stop_deadline_ns, deadline, __ATOMIC_RELEASE);
	__atomic_store_n(&p->stop_flag, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	if (p->q.dir.n)
		log_info("push: %zu window(s) left in %s for the next start", p->q.dir.n, p->dir);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->enq_mu);
	pusher_free(p);
}
