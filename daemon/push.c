/* push.c - delivers windows to a Pyroscope-compatible /ingest from an
 * on-disk queue, on a thread of its own.
 *
 * The queue directory holds one file per window, named by its sequence
 * number, 16 decimal digits zero-padded, + ".win" ("0000000000000042.win");
 * the next number is one past the largest found at start.  A file is:
 *
 *     <query>\n<body>
 *
 * where <query> is the complete, URL-encoded query string of the request
 * (what follows "/ingest?": name=SERVICE%7Bk%3Dv%7D&from=..&until=..
 * &format=pprof&sampleRate=..&spyName=pybpf) and <body> the raw request body
 * (the gzip'd pprof), up to the end of the file.  Files are written to a
 * ".tmp-XXXXXX" file in the same directory, fsync'd and renamed, so a file
 * with a ".win" name is always complete; ".tmp-*" left by a crash are
 * removed at start.  A ".lock" file (flock) keeps two pushers off one
 * directory.
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
 * in-memory index of the queue, the stats and the thread's state.  The
 * thread holds neither while it reads a file or talks HTTP. */
#define _GNU_SOURCE /* mkostemp, pthread_setname_np */
#include "push.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SEQ_DIGITS 16
#define WIN_SUFFIX ".win"
#define TMP_PREFIX ".tmp-"
#define LOCK_NAME  ".lock"
#define QUERY_MAX  16384 /* longest first line accepted from a queue file */
#define MAX_LABELS 64
#define RESP_KEEP  160 /* bytes of a response body kept for last_error */
#define NS_PER_SEC 1000000000ull
#define NS_PER_MS  1000000ull

struct qent {
	uint64_t seq;
	uint64_t size;
};

struct pusher {
	char *url; /* base URL + "/ingest" */
	char *labels;
	char *dir;
	uint64_t max_bytes;
	uint32_t timeout_s, backoff_max_s;
	int dirfd, lockfd;

	pthread_mutex_t enq_mu;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	pthread_t thread;

	/* under mu */
	struct qent *q; /* ascending seq */
	size_t qn, qcap;
	uint64_t qbytes;
	uint64_t next_seq;
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

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void seq_path(const struct pusher *p, uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%0*" PRIu64 WIN_SUFFIX, p->dir, SEQ_DIGITS, seq);
}

/* ---- labels ----------------------------------------------------------------- */

struct label {
	const char *k, *v;
};

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	return s;
}

static bool label_key_ok(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '_' || *k == '.'))
			return false;
	return true;
}

static bool label_value_ok(const char *v)
{
	if (!*v)
		return false;
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f || *v == ',' || *v == '{' || *v == '}')
			return false;
	return true;
}

/* Adds "k=v,k=v" (modified in place) to l; a key already there gets the new value. */
static int labels_parse(char *s, struct label *l, size_t *n, char *err, size_t errlen)
{
	char *save = NULL;

	for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq, *k, *v;
		size_t i;

		tok = trim(tok);
		if (!*tok)
			continue;
		eq = strchr(tok, '=');
		if (!eq) {
			snprintf(err, errlen, "label '%.64s' is not key=value", tok);
			return -1;
		}
		*eq = '\0';
		k = trim(tok);
		v = trim(eq + 1);
		if (!label_key_ok(k)) {
			snprintf(err, errlen, "label key '%.64s' is not [A-Za-z0-9_.]+", k);
			return -1;
		}
		if (!label_value_ok(v)) {
			snprintf(err, errlen, "label %s: value '%.64s' is empty or has ',{}'", k,
				 v);
			return -1;
		}
		for (i = 0; i < *n && strcmp(l[i].k, k); i++)
			;
		if (i == *n) {
			if (*n == MAX_LABELS) {
				snprintf(err, errlen, "more than %d labels", MAX_LABELS);
				return -1;
			}
			l[(*n)++].k = k;
		}
		l[i].v = v;
	}
	return 0;
}

/* a's labels, then b's (b's value wins for a key in both), as "k=v,k=v"
 * in a malloc'd *out. */
static int labels_merge(const char *a, const char *b, char **out, char *err, size_t errlen)
{
	struct label l[MAX_LABELS];
	char *ca = strdup(a ? a : ""), *cb = strdup(b ? b : ""), *o = NULL;
	size_t n = 0, len = 1;
	int rc = -1;

	if (!ca || !cb) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (labels_parse(ca, l, &n, err, errlen) || labels_parse(cb, l, &n, err, errlen))
		goto done;
	for (size_t i = 0; i < n; i++)
		len += strlen(l[i].k) + strlen(l[i].v) + 2;
	o = malloc(len);
	if (!o) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	o[0] = '\0';
	for (size_t i = 0, off = 0; i < n; i++)
		off += (size_t)snprintf(o + off, len - off, "%s%s=%s", i ? "," : "", l[i].k,
					l[i].v);
	*out = o;
	rc = 0;
done:
	free(ca);
	free(cb);
	return rc;
}

/* ---- the queue index (under mu) ------------------------------------------------ */

static int q_push(struct pusher *p, uint64_t seq, uint64_t size)
{
	size_t i;

	if (p->qn == p->qcap) {
		size_t ncap = p->qcap ? p->qcap * 2 : 64;
		struct qent *nq = realloc(p->q, ncap * sizeof(*nq));
		if (!nq)
			return -1;
		p->q = nq;
		p->qcap = ncap;
	}
	/* almost always the end: new files get the largest number */
	for (i = p->qn; i > 0 && p->q[i - 1].seq > seq; i--)
		;
	memmove(&p->q[i + 1], &p->q[i], (p->qn - i) * sizeof(*p->q));
	p->q[i].seq = seq;
	p->q[i].size = size;
	p->qn++;
	p->qbytes += size;
	return 0;
}

static void q_remove_at(struct pusher *p, size_t i)
{
	p->qbytes -= p->q[i].size;
	memmove(&p->q[i], &p->q[i + 1], (p->qn - i - 1) * sizeof(*p->q));
	p->qn--;
}

static ssize_t q_find(const struct pusher *p, uint64_t seq)
{
	for (size_t i = 0; i < p->qn; i++)
		if (p->q[i].seq == seq)
			return (ssize_t)i;
	return -1;
}

static void unlink_seq(struct pusher *p, uint64_t seq)
{
	char path[PATH_MAX];

	seq_path(p, seq, path, sizeof(path));
	if (unlink(path) && errno != ENOENT)
		log_warn("push: cannot remove %s: %s", path, strerror(errno));
}

/* Deletes the oldest files while the queue exceeds its bound, never the
 * newest one. */
static void q_enforce_bound(struct pusher *p)
{
	while (p->qbytes > p->max_bytes && p->qn > 1) {
		uint64_t seq = p->q[0].seq;

		unlink_seq(p, seq);
		if (p->inflight && p->inflight_seq == seq)
			p->inflight_dropped = true; /* counted when the attempt ends */
		else
			p->st.dropped_full++;
		q_remove_at(p, 0);
	}
}

static void set_error(struct pusher *p, const char *msg)
{
	if (strcmp(p->st.last_error, msg))
		log_warn("push: %s", msg);
	snprintf(p->st.last_error, sizeof(p->st.last_error), "%s", msg);
	p->st.last_error_time = (uint64_t)time(NULL);
}

/* ---- start: the directory ------------------------------------------------------ */

static int mkdir_p(const char *dir, mode_t mode)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, n + 1);
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, mode) && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(path, mode) && errno != EEXIST)
		return -1;
	return 0;
}

static bool is_win_name(const char *name, uint64_t *seq)
{
	uint64_t v = 0;

	if (strlen(name) != SEQ_DIGITS + strlen(WIN_SUFFIX) ||
	    strcmp(name + SEQ_DIGITS, WIN_SUFFIX))
		return false;
	for (int i = 0; i < SEQ_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*seq = v;
	return true;
}

/* Indexes the windows already in the directory, removes stale temporary
 * files, and applies the bound (a file larger than the bound by itself is
 * dropped too). */
static int scan_dir(struct pusher *p, char *err, size_t errlen)
{
	int fd = dup(p->dirfd);
	struct dirent *de;
	uint64_t max_seq = 0;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		snprintf(err, errlen, "%s: %s", p->dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		struct stat sb;
		uint64_t seq;

		if (!strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX))) {
			if (unlinkat(p->dirfd, de->d_name, 0) && errno != ENOENT)
				log_warn("push: cannot remove %s/%s: %s", p->dir, de->d_name,
					 strerror(errno));
			continue;
		}
		if (!is_win_name(de->d_name, &seq))
			continue;
		if (fstatat(p->dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) || !S_ISREG(sb.st_mode))
			continue;
		if (seq > max_seq)
			max_seq = seq;
		if ((uint64_t)sb.st_size > p->max_bytes) {
			unlinkat(p->dirfd, de->d_name, 0);
			p->st.dropped_full++;
			continue;
		}
		if (q_push(p, seq, (uint64_t)sb.st_size)) {
			closedir(d);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	closedir(d);
	p->next_seq = max_seq + 1;
	q_enforce_bound(p);
	return 0;
}

/* ---- the thread ----------------------------------------------------------------- */

enum send_result {
	SEND_OK,
	SEND_RETRY,  /* failed++, backoff */
	SEND_REJECT, /* rejected++, removed */
	SEND_GONE,   /* the file is no longer there */
};

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
	    mono_ns() >= __atomic_load_n(&p->stop_deadline_ns, __ATOMIC_ACQUIRE))
		return 1; /* abort: push_stop's grace is over */
	return 0;
}

/* Reads a queue file: *buf (malloc'd) holds it, query its first line (NUL
 * terminated in place), body the rest. */
static enum send_result read_win(struct pusher *p, uint64_t seq, char **buf, char **query,
				 char **body, size_t *body_len, char *msg, size_t msglen)
{
	char path[PATH_MAX], name[32];
	struct stat sb;
	size_t n = 0, size;
	char *b, *nl;
	int fd;

	seq_path(p, seq, path, sizeof(path));
	snprintf(name, sizeof(name), "%0*" PRIu64 WIN_SUFFIX, SEQ_DIGITS, seq);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return SEND_GONE;
		snprintf(msg, msglen, "queue file %s: %s", name, strerror(errno));
		return SEND_RETRY;
	}
	if (fstat(fd, &sb)) {
		snprintf(msg, msglen, "queue file %s: %s", name, strerror(errno));
		close(fd);
		return SEND_RETRY;
	}
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > p->max_bytes) {
		snprintf(msg, msglen, "queue file %s: not a regular file within the queue bound",
			 name);
		close(fd);
		return SEND_REJECT;
	}
	size = (size_t)sb.st_size;
	b = malloc(size + 1);
	if (!b) {
		snprintf(msg, msglen, "queue file %s: out of memory", name);
		close(fd);
		return SEND_RETRY;
	}
	while (n < size) {
		ssize_t r = read(fd, b + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n != size) {
		snprintf(msg, msglen, "queue file %s: short read", name);
		free(b);
		return SEND_RETRY;
	}
	b[n] = '\0';
	nl = memchr(b, '\n', n < QUERY_MAX ? n : QUERY_MAX);
	if (!nl || strncmp(b, "name=", 5)) {
		snprintf(msg, msglen, "queue file %s: malformed", name);
		free(b);
		return SEND_REJECT;
	}
	for (const char *c = b; c < nl; c++) {
		if (*c <= ' ' || *c == 0x7f) {
			snprintf(msg, msglen, "queue file %s: malformed", name);
			free(b);
			return SEND_REJECT;
		}
	}
	*nl = '\0';
	*buf = b;
	*query = b;
	*body = nl + 1;
	*body_len = n - (size_t)(nl + 1 - b);
	return SEND_OK;
}

static enum send_result send_one(struct pusher *p, uint64_t seq, char *msg, size_t msglen)
{
	char *buf = NULL, *query, *body, *url;
	enum send_result r;
	size_t body_len, ul;
	long code = 0;
	long timeout_ms = (long)p->timeout_s * 1000;
	CURLcode cc;

	r = read_win(p, seq, &buf, &query, &body, &body_len, msg, msglen);
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
		uint64_t now = mono_ns(),
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
	struct timespec ts = {
		.tv_sec = (time_t)(until_ns / NS_PER_SEC),
		.tv_nsec = (long)(until_ns % NS_PER_SEC),
	};
	pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

static void *push_thread(void *arg)
{
	struct pusher *p = arg;
	char msg[sizeof(p->st.last_error)];

	pthread_mutex_lock(&p->mu);
	for (;;) {
		uint64_t now = mono_ns(), seq;
		enum send_result r;
		ssize_t i;

		if (p->stopping && (!p->qn || now >= p->stop_deadline_ns))
			break;
		if (!p->qn) {
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
		seq = p->q[0].seq;
		p->inflight = true;
		p->inflight_dropped = false;
		p->inflight_seq = seq;
		pthread_mutex_unlock(&p->mu);

		msg[0] = '\0';
		r = send_one(p, seq, msg, sizeof(msg));

		pthread_mutex_lock(&p->mu);
		i = q_find(p, seq);
		switch (r) {
		case SEND_OK:
			p->st.sent++;
			if (i >= 0) {
				unlink_seq(p, seq);
				q_remove_at(p, (size_t)i);
			}
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
			p->retry_at_ns = mono_ns() + (uint64_t)p->backoff_s * NS_PER_SEC;
			p->backoff_s = p->backoff_s > p->backoff_max_s / 2 ? p->backoff_max_s
									   : p->backoff_s * 2;
			break;
		case SEND_REJECT:
			p->st.rejected++;
			if (i >= 0) {
				unlink_seq(p, seq);
				q_remove_at(p, (size_t)i);
			}
			set_error(p, msg);
			p->backoff_s = 1; /* the server is there */
			p->retry_at_ns = 0;
			break;
		case SEND_GONE:
			if (p->inflight_dropped)
				p->st.dropped_full++;
			else if (i >= 0)
				q_remove_at(p, (size_t)i); /* removed by someone else */
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
	if (p->dirfd >= 0)
		close(p->dirfd);
	if (p->lockfd >= 0)
		close(p->lockfd); /* releases the flock */
	free(p->q);
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
	p->dirfd = p->lockfd = -1;
	p->max_bytes = cfg->queue_max_bytes;
	p->timeout_s = cfg->timeout_s ? cfg->timeout_s : 10;
	p->backoff_max_s = cfg->backoff_max_s ? cfg->backoff_max_s : 1;
	p->backoff_s = 1;
	if (labels_merge(cfg->labels, NULL, &p->labels, err, errlen))
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

	if (mkdir_p(p->dir, 0750)) {
		snprintf(err, errlen, "push: cannot create %s: %s", p->dir, strerror(errno));
		goto fail;
	}
	p->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		snprintf(err, errlen, "push: %s: %s", p->dir, strerror(errno));
		goto fail;
	}
	p->lockfd = openat(p->dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (p->lockfd < 0 || flock(p->lockfd, LOCK_EX | LOCK_NB)) {
		snprintf(err, errlen, "push: %s/%s: %s", p->dir, LOCK_NAME,
			 errno == EWOULDBLOCK ? "the queue is in use by another pusher"
					      : strerror(errno));
		goto fail;
	}
	if (scan_dir(p, err, errlen))
		goto fail;
	if (setup_curl(p, err, errlen))
		goto fail;

	pthread_mutex_init(&p->enq_mu, NULL);
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);

	if (p->qn)
		log_info("push: %zu window(s) (%" PRIu64 " bytes) queued in %s from an earlier run",
			 p->qn, p->qbytes, p->dir);
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

static int write_all(int fd, const void *buf, size_t len)
{
	const char *b = buf;

	while (len) {
		ssize_t w = write(fd, b, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		b += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The query string of a window, malloc'd. */
static char *build_query(struct pusher *p, const char *service, const char *labels, uint64_t from_s,
			 uint64_t until_s, uint32_t rate_hz)
{
	char err[200], *merged = NULL, *name, *esc, *q = NULL;
	size_t nl, ql;

	if (labels_merge(p->labels, labels, &merged, err, sizeof(err))) {
		log_warn("push: window of %s: %s", service, err);
		errno = EINVAL;
		return NULL;
	}
	nl = strlen(service) + strlen(merged) + 3;
	name = malloc(nl);
	if (!name) {
		free(merged);
		return NULL;
	}
	if (*merged)
		snprintf(name, nl, "%s{%s}", service, merged);
	else
		snprintf(name, nl, "%s", service);
	free(merged);
#if LIBCURL_VERSION_NUM >= 0x075200
	esc = curl_easy_escape(NULL, name, 0); /* the handle is unused since 7.82 */
#else
	esc = curl_escape(name, 0);
#endif
	free(name);
	if (!esc) {
		errno = ENOMEM;
		return NULL;
	}
	ql = strlen(esc) + 160;
	q = malloc(ql);
	if (q)
		snprintf(q, ql,
			 "name=%s&from=%" PRIu64 "&until=%" PRIu64
			 "&format=pprof&sampleRate=%" PRIu32 "&spyName=pybpf",
			 esc, from_s, until_s, rate_hz);
	curl_free(esc);
	return q;
}

int push_enqueue(struct pusher *p, const char *service, const char *labels, uint64_t from_s,
		 uint64_t until_s, uint32_t rate_hz, const void *pprof, size_t len)
{
	char tmp[PATH_MAX], path[PATH_MAX], *query;
	uint64_t seq, size;
	size_t qlen;
	int fd, saved;

	if (!p || !service || !*service || (!pprof && len)) {
		errno = EINVAL;
		return -1;
	}
	query = build_query(p, service, labels, from_s, until_s, rate_hz);
	if (!query)
		return -1;
	qlen = strlen(query);
	size = (uint64_t)qlen + 1 + len;

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
	snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "XXXXXX", p->dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		goto fail_nofile;
	query[qlen] = '\n'; /* written with its newline; no longer a C string */
	if (write_all(fd, query, qlen + 1) || write_all(fd, pprof, len) || fsync(fd)) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		goto fail_nofile;
	}
	if (close(fd)) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		goto fail_nofile;
	}
	pthread_mutex_lock(&p->mu);
	seq = p->next_seq++;
	pthread_mutex_unlock(&p->mu);
	seq_path(p, seq, path, sizeof(path));
	if (rename(tmp, path)) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		goto fail_nofile;
	}
	fsync(p->dirfd); /* the rename itself, durable */

	pthread_mutex_lock(&p->mu);
	if (q_push(p, seq, size)) {
		pthread_mutex_unlock(&p->mu);
		unlink(path);
		errno = ENOMEM;
		goto fail_nofile;
	}
	p->st.queued++;
	q_enforce_bound(p);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->enq_mu);
	free(query);
	return 0;

fail_nofile:
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
	out->queue_files = p->qn;
	out->queue_bytes = p->qbytes;
	pthread_mutex_unlock(&p->mu);
}

void push_stop(struct pusher *p, int grace_ms)
{
	uint64_t deadline;

	if (!p)
		return;
	deadline = mono_ns() + (grace_ms > 0 ? (uint64_t)grace_ms * NS_PER_MS : 0);
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	__atomic_store_n(&p->stop_deadline_ns, deadline, __ATOMIC_RELEASE);
	__atomic_store_n(&p->stop_flag, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	if (p->qn)
		log_info("push: %zu window(s) left in %s for the next start", p->qn, p->dir);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->enq_mu);
	pusher_free(p);
}
