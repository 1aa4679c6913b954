/* loopstats.c - the daemon's event loop metrics.  The kernel keeps each
 * loop thread's counters (include/pybpf_shared.h, "event loops") until the
 * thread exits; at every tick their growth since the last goes to the
 * thread's service, so a service's counters only grow, whatever its
 * threads do (a thread's last tick before its exit is lost with it). */
#include "service/daemon.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/loops.h"
#include "sys/htab.h"
#include "sys/log.h"

const double loop_le_s[LOOP_LE_N] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

struct loop_seen {
	uint32_t tid, pid;
	uint64_t iterations, stalls, busy_ns;
	uint32_t hist[GIL_HIST_BUCKETS];
};

struct tick_ctx {
	struct daemon *d;
	struct loop_seen *prev, *next;
	size_t nprev, nnext, cap;
	struct htab idx; /* tid -> index in prev */
	bool oom;
};

/* A stall: its time by stack to the windows (their "stall" type); what
 * has no stack (beyond the kernel's slots, or off CPU without one) is
 * counted.  Its count is in the loops map. */
static int stall_seen(void *ctx, const void *rec, size_t len)
{
	struct daemon *d = ctx;
	const struct pybpf_stall *st = rec;
	if (len < sizeof(*st))
		return 0;
	uint32_t n = st->nslots < LOOP_SLOTS ? st->nslots : LOOP_SLOTS;
	d->ctr.loop_stall_unattributed_ns += st->other_ns;
	for (uint32_t i = 0; i < n; i++) {
		const struct loop_slot *sl = &st->slots[i];
		uint64_t ns = loop_slot_ns(sl, d->rec.agg.rate_hz);
		if (!sl->hash) {
			d->ctr.loop_stall_unattributed_ns += ns;
			continue;
		}
		int r = agg_stall(&d->rec.agg, st->pid, st->tid, sl->hash, loop_slot_reason(sl),
				  ns);
		if (r > 0)
			d->ctr.loop_stall_unattributed_ns += ns;
		else if (r < 0)
			log_warn("out of memory: a stall's time lost from the windows");
	}
	return 0;
}

int loopstats_start(struct daemon *d)
{
	if (!d->cfg.event_loops)
		return 0;
	uint64_t ns = (uint64_t)d->cfg.event_loop_threshold_ms * 1000000ULL;
	if (bpfs_loops_start(d->rec.bpf, ns, stall_seen, d)) {
		log_err("event loops: attaching to their waits failed: %s", strerror(errno));
		return -1;
	}
	log_info("measuring event loops (stalls over %u ms, hooks: %s)",
		 d->cfg.event_loop_threshold_ms, bpfs_loop_hooks(d->rec.bpf));
	return 0;
}

/* The bucket of the histogram a log bucket's middle falls in. */
static unsigned le_of(unsigned b)
{
	double lo = ldexp(1.0 + (b % 4) / 4.0, (int)(b / 4));
	double hi = ldexp(1.0 + ((b + 1) % 4) / 4.0, (int)((b + 1) / 4));
	double mid = (lo + hi) / 2e9;
	unsigned k = 0;
	while (k < LOOP_LE_N && mid > loop_le_s[k])
		k++;
	return k;
}

static void account(struct daemon *d, const struct loop_seen *was, const struct loop_seen *now)
{
	struct svc_metrics *m = daemon_metrics_of(d, daemon_service_of(d, now->pid));
	/* a tid reused by another process, or counters that went back: new */
	bool same = was && was->pid == now->pid && now->iterations >= was->iterations;
	if (!m)
		return;
	m->loop_iterations += now->iterations - (same ? was->iterations : 0);
	m->loop_stalls += now->stalls - (same && now->stalls >= was->stalls ? was->stalls : 0);
	m->loop_busy_ns += now->busy_ns - (same && now->busy_ns >= was->busy_ns ? was->busy_ns : 0);
	for (unsigned b = 0; b < GIL_HIST_BUCKETS; b++) {
		uint32_t before = same && now->hist[b] >= was->hist[b] ? was->hist[b] : 0;
		if (now->hist[b] > before)
			m->loop_le[le_of(b)] += now->hist[b] - before;
	}
}

static int seen(void *ctx, uint32_t tid, const struct loop_thread *lt)
{
	struct tick_ctx *t = ctx;
	if (!daemon_proc(t->d, (pid_t)lt->pid))
		return 0; /* not (or no longer) one of ours */
	if (t->nnext == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct loop_seen *nn = realloc(t->next, ncap * sizeof(*nn));
		if (!nn) {
			t->oom = true;
			return 1;
		}
		t->next = nn;
		t->cap = ncap;
	}
	struct loop_seen *now = &t->next[t->nnext++];
	now->tid = tid;
	now->pid = lt->pid;
	now->iterations = lt->iterations;
	now->stalls = lt->stalls;
	now->busy_ns = lt->busy_ns;
	memcpy(now->hist, lt->hist, sizeof(now->hist));
	int64_t i = htab_get(&t->idx, tid, NULL, NULL);
	account(t->d, i >= 0 ? &t->prev[i] : NULL, now);
	return 0;
}

void loopstats_tick(struct daemon *d)
{
	if (!d->cfg.event_loops)
		return;
	struct tick_ctx t = {.d = d, .prev = d->loops_seen, .nprev = d->nloops_seen};
	if (htab_init(&t.idx, t.nprev))
		return;
	for (size_t i = 0; i < t.nprev; i++)
		if (htab_put(&t.idx, t.prev[i].tid, (uint32_t)i))
			t.oom = true;
	bpfs_loop_each(d->rec.bpf, seen, &t);
	htab_free(&t.idx);
	if (t.oom)
		log_warn("out of memory: event loop counters of a tick lost");
	free(d->loops_seen);
	d->loops_seen = t.next;
	d->nloops_seen = t.nnext;
}

void loopstats_free(struct daemon *d)
{
	free(d->loops_seen);
	d->loops_seen = NULL;
	d->nloops_seen = 0;
}
