/* spool.c - window profiles as files in a bounded directory. */
#include "service/spool.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sys/clock.h"
#include "sys/log.h"

#define SUFFIX ".pb.gz"

static bool is_profile(const char *name, const struct stat *st, uint64_t *order)
{
	size_t n = strlen(name);
	if (n <= strlen(SUFFIX) || strcmp(name + n - strlen(SUFFIX), SUFFIX))
		return false;
	*order = (uint64_t)st->st_mtim.tv_sec * 1000000000ULL + (uint64_t)st->st_mtim.tv_nsec;
	return true;
}

static void failed(struct spool *s, const char *what, const char *path, int e)
{
	s->st.errors++;
	snprintf(s->st.last_error, sizeof(s->st.last_error), "%s %.160s: %.60s", what, path,
		 strerror(e));
	s->st.last_error_time = (uint64_t)time(NULL);
	log_err("%s", s->st.last_error);
}

static int try_open(struct spool *s)
{
	char err[512];
	if (capdir_open(&s->dir, s->path, 0750, s->max_bytes, is_profile, err, sizeof(err))) {
		failed(s, "spool directory", s->path, errno ? errno : EIO);
		return -1;
	}
	s->open = true;
	s->st.deleted += capdir_enforce(&s->dir, NULL, NULL);
	return 0;
}

int spool_open(struct spool *s, const char *dir, uint64_t max_bytes)
{
	spool_close(s);
	snprintf(s->path, sizeof(s->path), "%s", dir);
	s->max_bytes = max_bytes;
	return try_open(s);
}

void spool_close(struct spool *s)
{
	if (s->open)
		capdir_close(&s->dir);
	s->open = false;
	s->path[0] = 0;
}

int spool_write(struct spool *s, const char *service, uint64_t from_s, const void *buf, size_t len)
{
	char name[128 + 32], stamp[32];
	time_t t = (time_t)from_s;
	struct tm tm;
	uint64_t size;
	if (!s->open && (!s->path[0] || try_open(s)))
		return -1;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(name, sizeof(name), "%s-%s" SUFFIX, service, stamp);
	struct iovec iov = {(void *)buf, len};
	if (capdir_write(&s->dir, name, 0640, &iov, 1, &size)) {
		failed(s, "writing", name, errno);
		return -1;
	}
	if (capdir_add(&s->dir, name, size, realtime_ns()))
		log_warn("spool: out of memory indexing %s", name);
	s->st.written++;
	s->st.deleted += capdir_enforce(&s->dir, NULL, NULL);
	return 0;
}
