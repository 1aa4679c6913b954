/* pending.c - the schedule of looks at new processes (pending.h). */
#include "sampling/pending.h"

#include <stdlib.h>
#include <string.h>

#define MS 1000000ULL

static const uint64_t retry_after[] = {5 * MS, 25 * MS, 70 * MS, 150 * MS, 300 * MS, 500 * MS};

/* --- the schedule ---------------------------------------------------------------- */

uint64_t pending_next_try(unsigned tries, uint64_t now)
{
	size_t n = sizeof(retry_after) / sizeof(retry_after[0]);
	return now + retry_after[tries < n ? tries : n - 1];
}

int pending_add(struct pending_list *l, pid_t pid, uint64_t now)
{
	struct pending fresh = {pid, pending_next_try(0, now), now, 0};
	for (size_t i = 0; i < l->n; i++)
		if (l->p[i].pid == pid) {
			l->p[i] = fresh;
			return 0;
		}
	if (l->n == PENDING_MAX)
		return -1;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct pending *np = realloc(l->p, ncap * sizeof(*np));
		if (!np)
			return -1;
		l->p = np;
		l->cap = ncap;
	}
	l->p[l->n++] = fresh;
	return 0;
}

void pending_free(struct pending_list *l)
{
	free(l->p);
	memset(l, 0, sizeof(*l));
}

enum discovery_verdict discovery_verdict(enum pyprocess_result r, uint64_t age)
{
	switch (r) {
	case PYPROC_OK:
		return DISCOVERY_REGISTER;
	case PYPROC_NOT_PYTHON:
		return age < DISCOVERY_NOT_PYTHON_FOR ? DISCOVERY_RETRY : DISCOVERY_GIVE_UP;
	case PYPROC_NOT_READY:
		return age < DISCOVERY_NOT_READY_FOR ? DISCOVERY_RETRY : DISCOVERY_GIVE_UP;
	case PYPROC_UNSUPPORTED:
	case PYPROC_ERROR:
		break;
	}
	return DISCOVERY_GIVE_UP;
}

void pending_poll(struct pending_list *l, uint64_t now,
		  enum discovery_verdict (*look)(void *ctx, pid_t pid, uint64_t age), void *ctx)
{
	for (size_t i = 0; i < l->n;) {
		struct pending *p = &l->p[i];
		if (p->next_try > now) {
			i++;
			continue;
		}
		if (look(ctx, p->pid, now - p->first_seen) != DISCOVERY_RETRY) {
			*p = l->p[--l->n];
			continue;
		}
		p->tries++;
		p->next_try = l->every ? now + l->every : pending_next_try(p->tries, now);
		i++;
	}
}
