/* clock.h - the two clocks: CLOCK_MONOTONIC (what bpf_ktime_get_ns() reads,
 * for intervals and deadlines) and CLOCK_REALTIME (for timestamps users see). */
#ifndef PYBPF_CLOCK_H
#define PYBPF_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_SEC 1000000000ULL
#define NS_PER_MS  1000000ULL

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline uint64_t monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static inline uint64_t realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* An absolute CLOCK_MONOTONIC deadline as a timespec (pthread_cond_timedwait
 * on a condition variable set to that clock). */
static inline struct timespec ns_to_timespec(uint64_t ns)
{
	return (struct timespec){(time_t)(ns / NS_PER_SEC), (long)(ns % NS_PER_SEC)};
}

#endif
