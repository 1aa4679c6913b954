/* daemon/aggregate.c on long runs: agg_sweep() forgets the stacks no longer
 * counted (after keep sweeps the kernel is told, one sweep later they are
 * freed), keeps those counted, touched or sent again, and rebuilds the frame
 * table so that the stacks left still name their frames. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sampling/aggregate.h"

struct forgotten {
	uint64_t hash[16];
	size_t n;
};

static void on_forget(void *ctx, uint64_t hash)
{
	struct forgotten *f = ctx;
	if (f->n < 16)
		f->hash[f->n++] = hash;
}

static bool was_forgotten(const struct forgotten *f, uint64_t hash)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->hash[i] == hash)
			return true;
	return false;
}

/* A process to count for: this test itself (its maps are read). */
static void add_self(struct aggregator *a)
{
	struct pyprocess pp;
	memset(&pp, 0, sizeof(pp));
	pp.pid = getpid();
	pp.ns_pid = pp.pid;
	pp.minor = 11;
	assert_int_equal(agg_add_process(a, &pp), 0);
}

/* A stack of Python frames named names[0] (leaf) ... built in userspace. */
static uint64_t user_stack(struct aggregator *a, const char *const *names, size_t n)
{
	struct prof_frame f[8];
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		f[i] = (struct prof_frame){.kind = PROF_FRAME_PYTHON,
					   .name = names[i],
					   .file = "app.py",
					   .start_line = 1,
					   .line = (int64_t)(10 + i)};
	uint64_t h = 0;
	assert_int_equal(agg_add_stack(a, (uint32_t)getpid(), f, n, &h), 0);
	return h;
}

/* A stack as the kernel sends it: kernel frames only. */
static uint64_t kernel_stack(struct aggregator *a, uint64_t hash, uint64_t ip)
{
	static struct pybpf_stack rec;
	memset(&rec, 0, sizeof(rec));
	rec.hash = hash;
	rec.pid = (uint32_t)getpid();
	rec.nkern = 1;
	rec.kern[0] = ip;
	assert_int_equal(agg_stack(a, &rec, offsetof(struct pybpf_stack, py)), 0);
	return hash;
}

static void count(struct aggregator *a, uint64_t hash)
{
	struct pybpf_count_key key = {.hash = hash,
				      .pid = (uint32_t)getpid(),
				      .tid = (uint32_t)getpid(),
				      .kind = KIND_CPU};
	struct pybpf_count val = {1, 0};
	uint64_t lost = a->stats.unknown_stack;
	assert_int_equal(agg_count(a, &key, &val), 0);
	assert_int_equal(a->stats.unknown_stack, lost); /* the stack was known */
}

static bool known(struct aggregator *a, uint64_t hash)
{
	const uint32_t *fr;
	uint32_t n;
	return agg_stack_frames(a, hash, &fr, &n) == 0;
}

static const char *leaf_name(struct aggregator *a, uint64_t hash)
{
	const uint32_t *fr;
	uint32_t n;
	assert_int_equal(agg_stack_frames(a, hash, &fr, &n), 0);
	assert_true(n > 0 && fr[0] < a->frames.nframes);
	return a->frames.frames[fr[0]].name;
}

static void test_sweep(void **state)
{
	(void)state;
	struct aggregator a;
	struct forgotten fg = {0};
	assert_int_equal(agg_init(&a, 99, AGG_MODE_CPU), 0);
	add_self(&a);

	const char *busy[] = {"busy", "main"}, *gone[] = {"gone", "old_caller", "main"},
		   *asleep[] = {"asleep", "main"};
	uint64_t hb = user_stack(&a, busy, 2), hg = user_stack(&a, gone, 3),
		 hs = user_stack(&a, asleep, 2);
	uint64_t kb = kernel_stack(&a, 0x1111, 0xffffffff81000010ULL),
		 kg = kernel_stack(&a, 0x2222, 0xffffffff81000020ULL),
		 kr = kernel_stack(&a, 0x3333, 0xffffffff81000030ULL);
	assert_int_equal(agg_stack_count(&a), 6);
	size_t frames_before = a.frames.nframes;

	/* keep = 2: unused through sweeps 1 and 2, told at sweep 2, freed at 3 */
	for (int sweep = 1; sweep <= 3; sweep++) {
		count(&a, hb);
		count(&a, kb);
		agg_touch(&a, hs); /* a thread off CPU in it all along */
		if (sweep == 3)
			kernel_stack(&a, kr, 0xffffffff81000030ULL); /* sent again */
		long n = agg_sweep(&a, 2, on_forget, &fg);
		assert_int_equal(n, sweep < 3 ? 0 : 2);
		if (sweep == 1)
			assert_int_equal(fg.n, 0);
		if (sweep == 2) {
			/* told, not freed: a count not drained yet still finds them */
			assert_true(was_forgotten(&fg, kg) && was_forgotten(&fg, kr));
			assert_false(was_forgotten(&fg, hg)); /* userspace's own */
			assert_true(known(&a, kg) && known(&a, hg));
		}
	}
	assert_false(known(&a, hg));
	assert_false(known(&a, kg));
	assert_true(known(&a, hb) && known(&a, kb) && known(&a, hs) && known(&a, kr));
	assert_false(was_forgotten(&fg, kb));
	assert_int_equal(agg_stack_count(&a), 4);
	assert_int_equal(a.stats.stacks_forgotten, 2);

	/* the frame table lost gone() and old_caller(), the rest still names
	 * the right frames */
	assert_true(a.frames.nframes < frames_before);
	assert_string_equal(leaf_name(&a, hb), "busy");
	assert_string_equal(leaf_name(&a, hs), "asleep");
	for (size_t i = 0; i < a.frames.nframes; i++)
		assert_true(strcmp(a.frames.frames[i].name, "old_caller") != 0);

	/* counts after the rebuild land in the window under the right names */
	count(&a, hb);
	struct profile *p = agg_take(&a);
	assert_non_null(p);
	bool found = false;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct prof_sample *s = &p->samples[i];
		if (s->nframes == 2 && !strcmp(p->frames[s->frames[0]].name, "busy") &&
		    !strcmp(p->frames[s->frames[1]].name, "main"))
			found = true;
	}
	assert_true(found);
	profile_free(p);
	free(p);

	/* a forgotten stack sent again is known again */
	kernel_stack(&a, kg, 0xffffffff81000020ULL);
	assert_true(known(&a, kg));
	count(&a, kg);
	agg_free(&a);
}

/* A count whose stack never reached userspace: counted as lost, out of the
 * profile, and its time still in the thread's time by reason. */
static void test_unknown_stack_keeps_time(void **state)
{
	(void)state;
	struct aggregator a;
	assert_int_equal(agg_init(&a, 99, AGG_MODE_WALL), 0);
	add_self(&a);
	uint32_t self = (uint32_t)getpid();
	struct pybpf_count_key off = {.hash = 0x4444,
				      .pid = self,
				      .tid = self,
				      .kind = KIND_OFFCPU,
				      .reason = REASON_SLEEP};
	struct pybpf_count val = {1, 750000000};
	assert_int_equal(agg_count(&a, &off, &val), 0);
	struct pybpf_count_key cpu = {.hash = 0x5555, .pid = self, .tid = self, .kind = KIND_CPU};
	struct pybpf_count one = {3, 0};
	assert_int_equal(agg_count(&a, &cpu, &one), 0);
	assert_int_equal(a.stats.unknown_stack, 4);
	assert_int_equal(a.waits.nthreads, 1);
	assert_int_equal(a.waits.threads[0].offcpu_ns[REASON_SLEEP], 750000000);
	assert_int_equal(a.waits.threads[0].cpu_samples, 3);
	struct profile *p = agg_take(&a);
	assert_non_null(p);
	assert_int_equal(p->nsamples, 0);
	profile_free(p);
	free(p);
	agg_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_unknown_stack_keeps_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
