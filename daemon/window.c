/* window.c - per-service profile windows and their exports: each tick's
 * on-CPU samples go to the window of their process's service; when the
 * window is over each service's profile is encoded once (gzip'd pprof),
 * written to the spool directory and queued for the push backend. */
#define _GNU_SOURCE
#include "daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "log.h"
#include "push.h"

struct svc_filter {
	struct daemon *d;
	const char *service;
};

static bool keep_service_cpu(void *ctx, const struct prof_sample *s, const char **reason)
{
	struct svc_filter *f = ctx;
	if (!sample_on_cpu(s) || strcmp(daemon_service_of(f->d, s->pid), f->service) != 0)
		return false;
	*reason = "";
	return true;
}

static struct svc_window *window_of(struct daemon *d, const char *service)
{
	for (size_t i = 0; i < d->nwindows; i++)
		if (strcmp(d->windows[i].name, service) == 0)
			return &d->windows[i];
	struct svc_window *nw = realloc(d->windows, (d->nwindows + 1) * sizeof(*nw));
	if (!nw)
		return NULL;
	d->windows = nw;
	struct svc_window *w = &d->windows[d->nwindows];
	memset(w, 0, sizeof(*w));
	snprintf(w->name, sizeof(w->name), "%s", service);
	w->prof = calloc(1, sizeof(*w->prof));
	if (!w->prof || profile_init(w->prof, d->cfg.rate_hz)) {
		free(w->prof);
		return NULL;
	}
	w->prof->value_type = profile_str(w->prof, "cpu");
	d->nwindows++;
	return w;
}

void window_feed(struct daemon *d, const struct profile *tick)
{
	/* a window for every service with samples in this tick */
	for (size_t i = 0; i < tick->nsamples; i++) {
		const struct prof_sample *s = &tick->samples[i];
		if (sample_on_cpu(s) && !window_of(d, daemon_service_of(d, s->pid)))
			log_warn("out of memory: samples of %s lost", daemon_service_of(d, s->pid));
	}
	for (size_t k = 0; k < d->nwindows; k++) {
		struct svc_filter f = {d, d->windows[k].name};
		if (profile_merge(d->windows[k].prof, tick, keep_service_cpu, &f))
			log_warn("out of memory: samples of %s lost", f.service);
	}
}

/* --- the spool directory -------------------------------------------------- */

void spool_cleanup_temp(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	if (!dh)
		return;
	while ((e = readdir(dh)))
		if (strncmp(e->d_name, ".tmp-", 5) == 0)
			unlinkat(dirfd(dh), e->d_name, 0);
	closedir(dh);
}

struct spool_file {
	char name[256];
	off_t size;
	time_t mtime;
};

static int by_age(const void *a, const void *b)
{
	const struct spool_file *x = a, *y = b;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Deletes the oldest profiles until the directory holds at most max bytes. */
static void spool_enforce_cap(struct daemon *d, const char *dir, uint64_t max)
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	struct spool_file *files = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	if (!dh)
		return;
	while ((e = readdir(dh))) {
		struct stat st;
		size_t len = strlen(e->d_name);
		if (len < 7 || len >= sizeof(files->name) ||
		    strcmp(e->d_name + len - 6, ".pb.gz") ||
		    fstatat(dirfd(dh), e->d_name, &st, 0) || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct spool_file *nf = realloc(files, cap * sizeof(*nf));
			if (!nf)
				break;
			files = nf;
		}
		snprintf(files[n].name, sizeof(files[n].name), "%s", e->d_name);
		files[n].size = st.st_size;
		files[n].mtime = st.st_mtime;
		total += (uint64_t)st.st_size;
		n++;
	}
	if (n)
		qsort(files, n, sizeof(*files), by_age);
	for (size_t i = 0; i < n && total > max; i++) {
		if (unlinkat(dirfd(dh), files[i].name, 0) == 0) {
			total -= (uint64_t)files[i].size;
			d->ctr.spool_deleted++;
		}
	}
	free(files);
	closedir(dh);
}

static void spool_error(struct daemon *d, const char *what, const char *path, int e)
{
	d->ctr.spool_errors++;
	snprintf(d->ctr.spool_last_error, sizeof(d->ctr.spool_last_error), "%s %.160s: %.60s", what,
		 path, strerror(e));
	d->ctr.spool_last_error_time = (uint64_t)time(NULL);
	log_err("%s", d->ctr.spool_last_error);
}

int spool_write(struct daemon *d, const char *service, uint64_t from_s, const void *buf, size_t len)
{
	const char *dir = d->cfg.spool_dir;
	char tmp[512], path[512], stamp[32];
	time_t t = (time_t)from_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (mkdir(dir, 0750) && errno != EEXIST) {
		spool_error(d, "spool directory", dir, errno);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s-%s.pb.gz", dir, service, stamp);
	snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", dir);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		spool_error(d, "creating", tmp, errno);
		return -1;
	}
	const char *p = buf;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		left -= (size_t)w;
	}
	int e = left ? (errno ? errno : EIO) : 0;
	if (!e && fsync(fd))
		e = errno;
	if (!e && fchmod(fd, 0640))
		e = errno;
	close(fd);
	if (!e && rename(tmp, path))
		e = errno;
	if (e) {
		unlink(tmp);
		spool_error(d, "writing", path, e);
		return -1;
	}
	d->ctr.spool_written++;
	spool_enforce_cap(d, dir, d->cfg.spool_max_mb << 20);
	return 0;
}

/* --- the end of a window ---------------------------------------------------- */

static void export_window(struct daemon *d, struct svc_window *w, uint64_t now_real)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct profile *p = w->prof;
	p->start_ns = d->window_start_real;
	p->duration_ns = now_real > d->window_start_real ? now_real - d->window_start_real : 0;
	if (export_pprof_buf(p, &buf, &len)) {
		d->ctr.encode_errors++;
		log_err("service %s: encoding its window failed: %s", w->name, strerror(errno));
		return;
	}
	uint64_t from = d->window_start_real / 1000000000ULL;
	uint64_t until = (now_real + 999999999ULL) / 1000000000ULL;
	if (d->cfg.spool)
		spool_write(d, w->name, from, buf, len);
	if (d->pusher && push_enqueue(d->pusher, w->name, NULL, from, until, p->rate_hz, buf, len))
		log_err("service %s: queueing its window for push failed: %s", w->name,
			strerror(errno));
	d->ctr.windows++;
	free(buf);
}

void window_flush(struct daemon *d, uint64_t now_real)
{
	for (size_t i = 0; i < d->nwindows; i++) {
		struct svc_window *w = &d->windows[i];
		if (w->prof->nsamples)
			export_window(d, w, now_real);
		profile_free(w->prof);
		free(w->prof);
	}
	free(d->windows);
	d->windows = NULL;
	d->nwindows = 0;
	d->window_start_real = now_real;
	d->window_start_mono = monotonic_ns();
}
