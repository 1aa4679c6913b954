/* windows.h - per-service profile windows: each tick's on-CPU samples go to
 * the window of their process's service; when the window ends each
 * service's profile is encoded once (gzip'd pprof) and handed to the
 * exports (spool, push). */
#ifndef PYBPF_WINDOWS_H
#define PYBPF_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

struct svc_window {
	char name[128];
	struct profile *prof;
};

struct windows {
	struct svc_window *w;
	size_t n;
	uint32_t rate_hz;
	int native;			 /* enum prof_native: how windows show native frames */
	uint64_t start_real, start_mono; /* of the current window */
};

/* The service a pid belongs to (never NULL). */
typedef const char *(*windows_service_fn)(void *ctx, uint32_t pid);

/* One encoded window: service, [from_s, until_s) in unix seconds. */
struct window_out {
	const char *service;
	uint64_t from_s, until_s;
	uint32_t rate_hz;
	const unsigned char *pprof;
	size_t len;
};
typedef void (*windows_export_fn)(void *ctx, const struct window_out *w);

void windows_init(struct windows *ws, uint32_t rate_hz, uint64_t now_real, uint64_t now_mono);
/* Adds the on-CPU samples of tick to their services' windows.  Returns how
 * many samples could not be kept (out of memory). */
uint64_t windows_feed(struct windows *ws, const struct profile *tick, windows_service_fn service_of,
		      void *ctx);
/* Ends the window at now: every service with samples is encoded and given
 * to out; a new window starts at rate_hz.  Returns how many windows were
 * exported, and counts those that could not be encoded in *encode_errors. */
size_t windows_flush(struct windows *ws, uint64_t now_real, uint64_t now_mono, uint32_t rate_hz,
		     windows_export_fn out, void *ctx, uint64_t *encode_errors);
void windows_free(struct windows *ws);

#endif
