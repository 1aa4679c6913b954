/* intervals.c - off-CPU time cut at drain boundaries (intervals.h). */
#include "sampling/intervals.h"

#include <stdlib.h>
#include <string.h>

/* An ended interval's count arrives within two drains; one not matched by
 * then was lost (counts map full) or cut short (its thread exited). */
#define EXPIRE_DRAINS 4

int intervals_init(struct intervals *iv, uint64_t start_ns)
{
	memset(iv, 0, sizeof(*iv));
	iv->d1 = start_ns;
	return htab_init(&iv->by_tid, 64);
}

void intervals_free(struct intervals *iv)
{
	free(iv->v);
	free(iv->prev);
	htab_free(&iv->by_tid);
	memset(iv, 0, sizeof(*iv));
}

static struct pybpf_count_key key_of(const struct bpfs_offcpu *o)
{
	return (struct pybpf_count_key){.hash = o->v.hash,
					.pid = o->v.pid,
					.tid = o->tid,
					.kind = KIND_OFFCPU,
					.reason = o->v.reason,
					.holds_gil = o->v.holds_gil,
					.waiters = o->v.waiters,
					.sql = o->v.sql};
}

struct find {
	const struct intervals *iv;
	uint32_t tid;
	uint64_t ts;
};

static bool same_interval(const void *ctx, uint32_t i)
{
	const struct find *f = ctx;
	const struct open_ivl *o = &f->iv->v[i];
	return !o->dead && o->tid == f->tid && o->ts == f->ts;
}

static struct open_ivl *find(struct intervals *iv, uint32_t tid, uint64_t ts)
{
	struct find f = {iv, tid, ts};
	int64_t i = htab_get(&iv->by_tid, tid, same_interval, &f);
	return i >= 0 ? &iv->v[i] : NULL;
}

static int add(struct intervals *iv, const struct bpfs_offcpu *o, uint32_t gen)
{
	if (iv->n == iv->cap) {
		size_t ncap = iv->cap ? iv->cap * 2 : 64;
		struct open_ivl *nv = realloc(iv->v, ncap * sizeof(*nv));
		if (!nv)
			return -1;
		iv->v = nv;
		iv->cap = ncap;
	}
	if (htab_put(&iv->by_tid, o->tid, (uint32_t)iv->n))
		return -1;
	iv->v[iv->n++] = (struct open_ivl){.tid = o->tid,
					   .ts = o->v.ts,
					   .key = key_of(o),
					   .until = o->v.ts,
					   .last_gen = gen,
					   .last_seen = iv->drains};
	return 0;
}

/* Drops the dead and the long ended, and rebuilds the index. */
static void compact(struct intervals *iv)
{
	size_t kept = 0;
	htab_clear(&iv->by_tid);
	for (size_t i = 0; i < iv->n; i++) {
		struct open_ivl *o = &iv->v[i];
		if (o->dead || o->last_seen + EXPIRE_DRAINS < iv->drains)
			continue;
		if (htab_put(&iv->by_tid, o->tid, (uint32_t)kept))
			continue; /* cannot fail: the table only shrinks */
		iv->v[kept++] = *o;
	}
	iv->n = kept;
}

/* The partials up to upto of the threads off CPU in the last snapshot. */
static int partials(struct intervals *iv, uint64_t upto, bpfs_count_fn emit, void *ctx)
{
	int ret = 0;
	for (size_t i = 0; i < iv->nprev; i++) {
		const struct bpfs_offcpu *o = &iv->prev[i];
		struct open_ivl *rec = find(iv, o->tid, o->v.ts);
		if (!rec || upto <= rec->until)
			continue;
		struct pybpf_count_key key = key_of(o);
		if (!key.hash)
			key.hash = rec->stack;
		struct pybpf_count val = {0, upto - rec->until};
		rec->accounted += val.ns;
		rec->until = upto;
		if (emit(ctx, &key, &val))
			ret = -1;
	}
	return ret;
}

int intervals_drain(struct intervals *iv, struct bpfs_offcpu *now, size_t n, uint64_t drain_ns,
		    uint32_t gen, bpfs_count_fn emit, void *ctx)
{
	int ret = partials(iv, iv->d1, emit, ctx);
	iv->drains++;
	for (size_t i = 0; i < n; i++) {
		struct open_ivl *rec = find(iv, now[i].tid, now[i].v.ts);
		if (rec) {
			rec->last_seen = iv->drains;
			rec->last_gen = gen;
		} else if (add(iv, &now[i], gen)) {
			ret = -1;
		}
	}
	compact(iv);
	free(iv->prev);
	iv->prev = now;
	iv->nprev = n;
	iv->d1 = drain_ns;
	return ret;
}

struct match {
	const struct intervals *iv;
	const struct pybpf_count_key *key;
};

/* An interval of this count: same thread, same key, ended in its
 * generation (last_gen, or last_gen + 1 at the race of a flip: counts are
 * drained in ascending generations, so one whose count was in last_gen is
 * gone by then). */
static bool its_count(const void *ctx, uint32_t i)
{
	const struct match *m = ctx;
	const struct open_ivl *o = &m->iv->v[i];
	const struct pybpf_count_key *k = m->key;
	return !o->dead && o->tid == k->tid &&
	       (o->last_gen == k->gen || o->last_gen + 1 == k->gen) && o->key.hash == k->hash &&
	       o->key.pid == k->pid && o->key.reason == k->reason &&
	       o->key.holds_gil == k->holds_gil && o->key.waiters == k->waiters &&
	       o->key.sql == k->sql;
}

void intervals_count(struct intervals *iv, struct pybpf_count_key *key, struct pybpf_count *val)
{
	struct match m = {iv, key};
	uint64_t stack = 0;
	int64_t i;
	if (key->kind != KIND_OFFCPU)
		return;
	/* a count sums the intervals of one key that ended in its generation */
	while ((i = htab_get(&iv->by_tid, key->tid, its_count, &m)) >= 0) {
		struct open_ivl *o = &iv->v[i];
		val->ns -= o->accounted < val->ns ? o->accounted : val->ns;
		o->dead = true;
		if (o->stack)
			stack = o->stack;
	}
	/* the others it sums (stackless too, of the same thread) went before
	 * stacks were wanted, in the same generation: filed with it */
	if (!key->hash && stack)
		key->hash = stack;
}

int intervals_give_stacks(struct intervals *iv, intervals_stacks_fn fn, void *ctx)
{
	uint32_t tids[256];
	uint64_t hashes[256], ts[256];
	size_t idx[256];
	int ret = 0;
	/* one call per process, for all its stackless intervals */
	for (size_t i = 0; i < iv->n; i++) {
		struct open_ivl *o = &iv->v[i];
		if (o->dead || o->asked || o->key.hash)
			continue;
		uint32_t pid = o->key.pid;
		size_t n = 0;
		for (size_t j = i; j < iv->n && n < 256; j++) {
			struct open_ivl *q = &iv->v[j];
			if (q->dead || q->asked || q->key.hash || q->key.pid != pid)
				continue;
			q->asked = true;
			idx[n] = j;
			ts[n] = q->ts;
			tids[n++] = q->tid;
		}
		memset(hashes, 0, n * sizeof(*hashes));
		if (fn(ctx, pid, tids, ts, n, hashes))
			ret = -1;
		for (size_t k = 0; k < n; k++)
			iv->v[idx[k]].stack = hashes[k];
	}
	return ret;
}

int intervals_flush(struct intervals *iv, uint64_t end_ns, bpfs_count_fn emit, void *ctx)
{
	return partials(iv, end_ns, emit, ctx);
}
