/* pending.h - processes that just started or exec'd, looked at on a
 * schedule of growing delays in their first seconds until they are an
 * initialised Python (their libpython may not be mapped yet, their
 * interpreter not initialised), and given up after a while: the daemon's
 * discovery and the followed trees of record --subprocesses.  Pure (the
 * look is the caller's), so tested on its own. */
#ifndef PYBPF_PENDING_H
#define PYBPF_PENDING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "python/pyprocess.h"

#define PENDING_MAX 4096

/* An exec'd process not yet known to be (an initialised) Python. */
struct pending {
	pid_t pid;
	uint64_t next_try;   /* monotonic ns */
	uint64_t first_seen; /* monotonic ns */
	unsigned tries;
};

struct pending_list {
	struct pending *p;
	size_t n, cap;
	uint64_t every; /* ns between looks; 0: the schedule of growing delays */
};

/* Adds pid (seen now) or restarts its schedule; -1 when the list is full. */
int pending_add(struct pending_list *l, pid_t pid, uint64_t now);
void pending_free(struct pending_list *l);
/* When the next look after `tries` looks is due, counted from now. */
uint64_t pending_next_try(unsigned tries, uint64_t now);

enum discovery_verdict {
	DISCOVERY_REGISTER, /* a Python to profile now */
	DISCOVERY_RETRY,    /* not (ready) yet: look again later */
	DISCOVERY_GIVE_UP,  /* not a Python, not one we can profile, or gone */
};

/* What to do after a look that gave r, age ns after the exec. */
enum discovery_verdict discovery_verdict(enum pyprocess_result r, uint64_t age);

/* For each entry due at now: look(ctx, pid, age) gives the verdict; entries
 * that registered or gave up leave the list, the others are rescheduled. */
void pending_poll(struct pending_list *l, uint64_t now,
		  enum discovery_verdict (*look)(void *ctx, pid_t pid, uint64_t age), void *ctx);

/* An exec'd program is retried for this long while it is not Python yet... */
#define DISCOVERY_NOT_PYTHON_FOR (1200ULL * 1000000ULL)
/* ... and this long while it is a Python whose interpreter is not ready. */
#define DISCOVERY_NOT_READY_FOR (10000ULL * 1000000ULL)

#endif
