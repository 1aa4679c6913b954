/* pushqueue.c - the push queue's files. */
#define _GNU_SOURCE
#include "service/pushqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "sys/fileio.h"

#define SEQ_DIGITS 16
#define WIN_SUFFIX ".win"
#define LOCK_NAME  ".lock"

static void seq_name(uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%0*" PRIu64 WIN_SUFFIX, SEQ_DIGITS, seq);
}

static bool is_win_name(const char *name, const struct stat *st, uint64_t *seq)
{
	uint64_t v = 0;
	(void)st;
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

int pushq_open(struct pushqueue *q, const char *dir, uint64_t max_bytes, uint64_t *dropped,
	       char *err, size_t errlen)
{
	memset(q, 0, sizeof(*q));
	q->lockfd = -1;
	if (capdir_open(&q->dir, dir, 0750, max_bytes, is_win_name, err, errlen))
		return -1;
	q->lockfd =
		openat(q->dir.dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (q->lockfd < 0 || flock(q->lockfd, LOCK_EX | LOCK_NB)) {
		snprintf(err, errlen, "%s/%s: %s", dir, LOCK_NAME,
			 errno == EWOULDBLOCK ? "the queue is in use by another pusher"
					      : strerror(errno));
		pushq_close(q);
		return -1;
	}
	for (size_t i = 0; i < q->dir.n; i++)
		if (q->dir.ents[i].order >= q->next_seq)
			q->next_seq = q->dir.ents[i].order + 1;
	if (!q->next_seq)
		q->next_seq = 1;
	/* a file larger than the bound by itself can never be sent */
	for (size_t i = 0; i < q->dir.n;) {
		if (q->dir.ents[i].size <= max_bytes) {
			i++;
			continue;
		}
		capdir_remove(&q->dir, i);
		(*dropped)++;
	}
	*dropped += capdir_enforce(&q->dir, NULL, NULL);
	return 0;
}

void pushq_close(struct pushqueue *q)
{
	if (q->lockfd >= 0)
		close(q->lockfd); /* releases the flock */
	capdir_close(&q->dir);
	q->lockfd = -1;
}

int pushq_write(const struct pushqueue *q, uint64_t seq, const char *query, const void *body,
		size_t len, uint64_t *size)
{
	char name[32];
	seq_name(seq, name, sizeof(name));
	struct iovec iov[3] = {{(void *)query, strlen(query)}, {"\n", 1}, {(void *)body, len}};
	return capdir_write(&q->dir, name, 0640, iov, 3, size);
}

int pushq_add(struct pushqueue *q, uint64_t seq, uint64_t size)
{
	char name[32];
	seq_name(seq, name, sizeof(name));
	return capdir_add(&q->dir, name, size, seq);
}

bool pushq_oldest(const struct pushqueue *q, uint64_t *seq)
{
	if (!q->dir.n)
		return false;
	*seq = q->dir.ents[0].order;
	return true;
}

bool pushq_remove(struct pushqueue *q, uint64_t seq)
{
	for (size_t i = 0; i < q->dir.n; i++) {
		if (q->dir.ents[i].order != seq)
			continue;
		capdir_remove(&q->dir, i);
		return true;
	}
	char name[32];
	seq_name(seq, name, sizeof(name));
	unlinkat(q->dir.dirfd, name, 0); /* written but never indexed */
	return false;
}

struct drop_ctx {
	void (*fn)(void *, uint64_t);
	void *ctx;
};

static void on_capdir_drop(void *ctx, const struct capdir_ent *e)
{
	struct drop_ctx *d = ctx;
	if (d->fn)
		d->fn(d->ctx, e->order);
}

size_t pushq_enforce(struct pushqueue *q, void (*on_drop)(void *ctx, uint64_t seq), void *ctx)
{
	struct drop_ctx d = {on_drop, ctx};
	return capdir_enforce(&q->dir, on_capdir_drop, &d);
}

/* The first line must be a query string: "name=..." of printable bytes. */
static bool query_ok(const char *b, const char *nl)
{
	if (strncmp(b, "name=", 5))
		return false;
	for (const char *c = b; c < nl; c++)
		if (*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

enum pushq_read pushq_read(const struct pushqueue *q, uint64_t seq, char **buf, char **query,
			   char **body, size_t *body_len, char *msg, size_t msglen)
{
	char name[32];
	struct stat sb;
	size_t n;
	seq_name(seq, name, sizeof(name));
	int fd = openat(q->dir.dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return PUSHQ_GONE;
		snprintf(msg, msglen, "queue file %s: %s", name, strerror(errno));
		return PUSHQ_RETRY;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > q->dir.max_bytes) {
		snprintf(msg, msglen, "queue file %s: not a regular file within the queue bound",
			 name);
		close(fd);
		return PUSHQ_INVALID;
	}
	char *b = read_fd_bounded(fd, (size_t)sb.st_size, 0, &n);
	close(fd);
	if (!b) {
		snprintf(msg, msglen, "queue file %s: %s", name, strerror(errno));
		return PUSHQ_RETRY;
	}
	char *nl = memchr(b, '\n', n < PUSHQ_QUERY_MAX ? n : PUSHQ_QUERY_MAX);
	if (!nl || !query_ok(b, nl)) {
		snprintf(msg, msglen, "queue file %s: malformed", name);
		free(b);
		return PUSHQ_INVALID;
	}
	*nl = '\0';
	*buf = b;
	*query = b;
	*body = nl + 1;
	*body_len = n - (size_t)(nl + 1 - b);
	return PUSHQ_OK;
}
