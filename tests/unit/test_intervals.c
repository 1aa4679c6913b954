/* daemon/sampling/intervals.c: off-CPU time cut at drain boundaries.  A
 * simulated BPF side (intervals counted when they end, into the generation
 * of their end; generations flipped at each drain) runs threads that sleep
 * for random spans, some far longer than a drain, some shorter, some as long
 * as a drain, with events in the moment between a flip and its snapshot;
 * no drain may deliver more than the time off CPU so far, and the whole run
 * must deliver exactly the time each thread was off CPU within it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sampling/intervals.h"

#define NTHREADS 6
#define DRAIN	 1000

struct sim {
	uint64_t now;
	uint32_t gen;
	/* the BPF side */
	struct bpfs_offcpu open[NTHREADS]; /* tid 0: on CPU */
	struct {
		struct pybpf_count_key key;
		uint64_t ns, count;
	} counts[4096];
	size_t ncounts;
	/* what the run delivered, per drain span and per thread */
	uint64_t delivered[NTHREADS + 1];
	uint64_t span_total;
	/* the truth */
	uint64_t off_in_span[NTHREADS + 1];
};

static int deliver(void *ctx, const struct pybpf_count_key *key, const struct pybpf_count *val)
{
	struct sim *s = ctx;
	s->delivered[key->tid] += val->ns;
	s->span_total += val->ns;
	return 0;
}

static void switch_out(struct sim *s, int t, uint8_t reason)
{
	s->open[t] = (struct bpfs_offcpu){
		.tid = (uint32_t)t,
		.v = {.ts = s->now, .hash = 100 + (uint64_t)reason, .pid = 1, .reason = reason}};
}

static void switch_in(struct sim *s, int t)
{
	struct bpfs_offcpu *o = &s->open[t];
	struct pybpf_count_key key = {.hash = o->v.hash,
				      .pid = 1,
				      .tid = (uint32_t)t,
				      .gen = s->gen,
				      .kind = KIND_OFFCPU,
				      .reason = o->v.reason};
	/* the counts map sums equal keys */
	for (size_t i = 0; i < s->ncounts; i++)
		if (!memcmp(&s->counts[i].key, &key, sizeof(key))) {
			s->counts[i].ns += s->now - o->v.ts;
			s->counts[i].count++;
			o->tid = 0;
			return;
		}
	s->counts[s->ncounts].key = key;
	s->counts[s->ncounts].ns = s->now - o->v.ts;
	s->counts[s->ncounts++].count = 1;
	o->tid = 0;
}

static struct bpfs_offcpu *snapshot(struct sim *s, size_t *n)
{
	struct bpfs_offcpu *out = calloc(NTHREADS, sizeof(*out));
	*n = 0;
	for (int t = 1; t < NTHREADS; t++)
		if (s->open[t].tid)
			out[(*n)++] = s->open[t];
	return out;
}

/* Drains the generations before keep_from (all when final). */
static void drain_counts(struct sim *s, struct intervals *iv, uint32_t keep_from, bool final)
{
	size_t kept = 0;
	for (size_t i = 0; i < s->ncounts; i++) {
		if (!final && (int32_t)(s->counts[i].key.gen - keep_from) >= 0) {
			s->counts[kept++] = s->counts[i];
			continue;
		}
		struct pybpf_count v = {s->counts[i].count, s->counts[i].ns};
		intervals_count(iv, &s->counts[i].key, &v);
		deliver(s, &s->counts[i].key, &v);
	}
	s->ncounts = kept;
}

enum kind { TICK, FLUSH, FINAL }; /* as recorder.c drains */

/* between the flip and the snapshot, threads may come and go: events(s) */
static void drain(struct sim *s, struct intervals *iv, enum kind k, void (*events)(struct sim *))
{
	uint32_t filling = s->gen++;
	size_t n;
	if (events)
		events(s);
	struct bpfs_offcpu *snap = snapshot(s, &n);
	assert_int_equal(intervals_drain(iv, snap, n, s->now, s->gen, deliver, s), 0);
	drain_counts(s, iv, k == TICK ? filling : filling + 1, k == FINAL);
	if (k != TICK)
		assert_int_equal(intervals_flush(iv, s->now, deliver, s), 0);
}

/* Each thread goes off CPU and back at random: thread 1 for seconds, the
 * others for less than a drain up to a few; every event at a drain's
 * instant happens either before the flip or between flip and snapshot. */
static uint64_t next[NTHREADS];
static bool off[NTHREADS];

static void events(struct sim *s)
{
	for (int t = 1; t < NTHREADS; t++) {
		if (s->now < next[t])
			continue;
		uint64_t len = t == 1 ? 2500 + (uint64_t)(random() % 3000)
				      : 1 + (uint64_t)(random() % (t * 700));
		if (off[t])
			switch_in(s, t);
		else
			switch_out(s, t, (uint8_t)(1 + t % 4));
		off[t] = !off[t];
		/* sleeps of the same length as the drain hit its edge often */
		if (t == 2 && off[t])
			len = DRAIN;
		next[t] = s->now + (off[t] ? len : 1 + (uint64_t)(random() % 300));
	}
}

/* Drains every DRAIN ticks, and (when flushes) a flush at random moments
 * between them, as `top` does at the end of each interval. */
static void run(uint64_t seed, uint64_t length, bool flushes)
{
	struct sim s = {.gen = 1};
	struct intervals iv;
	uint64_t truth[NTHREADS] = {0};
	srandom((unsigned)seed);
	memset(off, 0, sizeof(off));
	assert_int_equal(intervals_init(&iv, 0), 0);
	for (int t = 1; t < NTHREADS; t++)
		next[t] = (uint64_t)(random() % 700);
	uint64_t last = 0;
	for (s.now = 1; s.now <= length; s.now++) {
		for (int t = 1; t < NTHREADS; t++)
			if (off[t])
				truth[t]++;
		bool flush = flushes && random() % 1500 == 0;
		bool at_drain = s.now - last >= DRAIN || flush, race = at_drain && random() % 2;
		if (!race)
			events(&s);
		if (!at_drain)
			continue;
		/* an event in the race moves its count to a later drain */
		drain(&s, &iv, flush ? FLUSH : TICK, race ? events : NULL);
		last = s.now;
		/* never more than the time off CPU so far */
		for (int t = 1; t < NTHREADS; t++)
			assert_true(s.delivered[t] <= truth[t]);
	}
	/* the end: the last drain takes everything, then those still off */
	s.now = length;
	drain(&s, &iv, FINAL, NULL);
	for (int t = 1; t < NTHREADS; t++)
		assert_int_equal(s.delivered[t], truth[t]);
	intervals_free(&iv);
}

static void exact_totals(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 200; seed++)
		run(seed, 20 * DRAIN + seed * 37, false);
}

static void exact_totals_with_flushes(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 200; seed++)
		run(seed, 20 * DRAIN + seed * 37, true);
}

/* A thread asleep since before stacks were wanted (hash 0): once it is
 * given a stack, its partials and its final count carry it, and its time
 * adds up exactly. */
static uint64_t by_hash[2]; /* delivered under hash 0, under the stack */

static int deliver_hash(void *ctx, const struct pybpf_count_key *key, const struct pybpf_count *val)
{
	(void)ctx;
	by_hash[key->hash == 999] += val->ns;
	return 0;
}

static int give(void *ctx, uint32_t pid, const uint32_t *tids, const uint64_t *ts, size_t n,
		uint64_t *hashes)
{
	(void)ctx;
	assert_int_equal(pid, 1);
	assert_int_equal(n, 1);
	assert_int_equal(tids[0], 3);
	assert_int_equal(ts[0], 100); /* the interval's start, for the caller's check */
	hashes[0] = 999;
	return 0;
}

static void stackless_gets_a_stack(void **state)
{
	(void)state;
	struct intervals iv;
	uint32_t gen = 1;
	memset(by_hash, 0, sizeof(by_hash));
	assert_int_equal(intervals_init(&iv, 0), 0);
	struct bpfs_offcpu asleep = {.tid = 3, .v = {.ts = 100, .hash = 0, .pid = 1, .reason = 4}};
	for (uint64_t t = 1000; t <= 5000; t += 1000) {
		struct bpfs_offcpu *snap = malloc(sizeof(*snap));
		*snap = asleep;
		gen++;
		assert_int_equal(intervals_drain(&iv, snap, 1, t, gen, deliver_hash, NULL), 0);
		if (t == 2000) /* stacks wanted from here */
			assert_int_equal(intervals_give_stacks(&iv, give, NULL), 0);
	}
	/* it wakes at 5500: its count, in the generation then filling */
	struct pybpf_count_key key = {
		.hash = 0, .pid = 1, .tid = 3, .gen = gen, .kind = KIND_OFFCPU, .reason = 4};
	struct pybpf_count val = {1, 5500 - 100};
	gen++;
	struct bpfs_offcpu *none = malloc(sizeof(*none));
	assert_int_equal(intervals_drain(&iv, none, 0, 6000, gen, deliver_hash, NULL), 0);
	intervals_count(&iv, &key, &val);
	assert_int_equal(key.hash, 999);
	deliver_hash(NULL, &key, &val);
	assert_int_equal(by_hash[0] + by_hash[1], 5400);
	/* before the stack: what the partials up to the drain at 1000 held */
	assert_int_equal(by_hash[0], 900);
	intervals_free(&iv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exact_totals),
		cmocka_unit_test(exact_totals_with_flushes),
		cmocka_unit_test(stackless_gets_a_stack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
