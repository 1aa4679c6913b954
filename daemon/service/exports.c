/* exports.c - the ends of windows: spool files and pushes. */
#include "service/exports.h"

#include <errno.h>
#include <string.h>

#include "service/push.h"
#include "sys/log.h"

int exports_open_spool(struct daemon *d)
{
	if (!d->cfg.spool) {
		spool_close(&d->spool);
		return 0;
	}
	/* a spool that cannot be opened yet is retried at each window (and
	 * shows in status): the other exports go on */
	spool_open(&d->spool, d->cfg.spool_dir, d->cfg.spool_max_mb << 20);
	log_info("writing a profile per service every %u s to %s", d->cfg.window_s,
		 d->cfg.spool_dir);
	return 0;
}

int exports_open_push(struct daemon *d)
{
	char err[512];
	if (!d->cfg.push)
		return 0;
	struct push_config pc = {
		.url = d->cfg.push_url,
		.labels = d->cfg.push_labels,
		.queue_dir = d->cfg.push_queue_dir,
		.queue_max_bytes = d->cfg.push_queue_max_mb << 20,
		.timeout_s = d->cfg.push_timeout_s,
		.backoff_max_s = d->cfg.push_backoff_max_s,
	};
	d->pusher = push_start(&pc, err, sizeof(err));
	if (!d->pusher) {
		log_err("push to %s: %s", d->cfg.push_url, err);
		return -1;
	}
	log_info("pushing windows to %s (queue %s)", d->cfg.push_url, d->cfg.push_queue_dir);
	return 0;
}

static void export_window(void *ctx, const struct window_out *w)
{
	struct daemon *d = ctx;
	if (d->cfg.spool)
		spool_write(&d->spool, w->service, w->from_s, w->pprof, w->len);
	if (d->pusher && push_enqueue(d->pusher, w->service, NULL, w->from_s, w->until_s,
				      w->rate_hz, w->pprof, w->len))
		log_err("service %s: queueing its window for push failed: %s", w->service,
			strerror(errno));
}

void daemon_flush_windows(struct daemon *d, uint64_t now_real)
{
	d->windows.native = d->cfg.native; /* windows_flush starts the next afresh */
	d->ctr.windows += windows_flush(&d->windows, now_real, monotonic_ns(), d->cfg.rate_hz,
					export_window, d, &d->ctr.encode_errors);
}
