/* test_pprof.c - export_pprof: gunzip and decode what it writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "export/export.h"
#include "profile/profile.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Function pb_function;
typedef Perftools__Profiles__Mapping pb_mapping;

#define PERIOD_NS (1000000000ULL / 99)
#define LIBPYTHON "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
#define LIBC	  "/lib/x86_64-linux-gnu/libc.so.6"

/* Frame indices of the fixture. */
enum {
	F_INNER,     /* python inner() line 12 */
	F_OUTER,     /* python outer() line 25 */
	F_OUTER2,    /* python outer() line 27: same function, other line */
	F_EVAL,	     /* native, libpython */
	F_MEMCPY,    /* native, libc */
	F_SYSCALL,   /* kernel */
	F_TRUNCATED, /* special */
	NR_F,
};

struct fixture {
	struct profile p;
	uint32_t idx[NR_F];
};

static void add_frame(struct fixture *fx, int i, enum prof_frame_kind kind, const char *name,
		      const char *file, const char *module, int64_t start_line, int64_t line,
		      uint64_t address)
{
	struct prof_frame f = {
		.kind = kind,
		.name = name,
		.file = file,
		.module = module,
		.start_line = start_line,
		.line = line,
		.address = address,
	};
	int64_t r = profile_frame(&fx->p, &f);

	assert_true(r >= 0);
	fx->idx[i] = (uint32_t)r;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_int_equal(profile_init(&fx->p, 99), 0);
	fx->p.start_ns = 1700000000123456789ULL;
	fx->p.duration_ns = 5000000000ULL;
	add_frame(fx, F_INNER, PROF_FRAME_PYTHON, "inner", "/app/m.py", "", 10, 12, 0);
	add_frame(fx, F_OUTER, PROF_FRAME_PYTHON, "Cls.outer", "/app/m.py", "", 20, 25, 0);
	add_frame(fx, F_OUTER2, PROF_FRAME_PYTHON, "Cls.outer", "/app/m.py", "", 20, 27, 0);
	add_frame(fx, F_EVAL, PROF_FRAME_NATIVE, "_PyEval_EvalFrameDefault", "", LIBPYTHON, 0, 0,
		  0x7f0012345678ULL);
	add_frame(fx, F_MEMCPY, PROF_FRAME_NATIVE, "memcpy", "", LIBC, 0, 0, 0x7f00aaaa0000ULL);
	add_frame(fx, F_SYSCALL, PROF_FRAME_KERNEL, "do_syscall_64", "", "", 0, 0,
		  0xffffffff81000010ULL);
	add_frame(fx, F_TRUNCATED, PROF_FRAME_SPECIAL, "[truncated]", "", "", 0, 0, 0);
	assert_int_equal(fx->p.nframes, NR_F);

	uint32_t *x = fx->idx;
	uint32_t s1[] = {x[F_INNER], x[F_OUTER], x[F_EVAL]};
	uint32_t s2[] = {x[F_SYSCALL], x[F_MEMCPY], x[F_OUTER2], x[F_TRUNCATED]};
	uint32_t s3[] = {x[F_INNER], x[F_OUTER]};

	assert_int_equal(profile_add(&fx->p, s1, 3, 3, 3 * PERIOD_NS, 100, 101, "MainThread", ""),
			 0);
	assert_int_equal(profile_add(&fx->p, s2, 4, 1, PERIOD_NS, 100, 102, "worker", "io"), 0);
	assert_int_equal(profile_add(&fx->p, s3, 2, 2, 2 * PERIOD_NS, 200, 200, "main", ""), 0);
	/* merges into the first sample */
	assert_int_equal(profile_add(&fx->p, s1, 3, 1, PERIOD_NS, 100, 101, "MainThread", ""), 0);
	assert_int_equal(fx->p.nsamples, 3);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	profile_free(&fx->p);
	free(fx);
	return 0;
}

static unsigned char *gunzip(const unsigned char *in, size_t len, size_t *outlen)
{
	z_stream zs;
	size_t cap = 4096;
	unsigned char *out = malloc(cap);
	int r;

	assert_non_null(out);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	do {
		if (zs.total_out == cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		zs.next_out = out + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		r = inflate(&zs, Z_NO_FLUSH);
		assert_true(r == Z_OK || r == Z_STREAM_END);
	} while (r != Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0);
	*outlen = zs.total_out;
	inflateEnd(&zs);
	return out;
}

static pb_profile *decode(const struct profile *p)
{
	unsigned char *gz, *raw;
	size_t gzlen, rawlen;
	pb_profile *m;

	assert_int_equal(export_pprof_buf(p, &gz, &gzlen), 0);
	assert_true(gzlen > 18);
	assert_int_equal(gz[0], 0x1f); /* gzip magic */
	assert_int_equal(gz[1], 0x8b);
	raw = gunzip(gz, gzlen, &rawlen);
	m = perftools__profiles__profile__unpack(NULL, rawlen, raw);
	assert_non_null(m);
	free(raw);
	free(gz);
	return m;
}

static const char *str(const pb_profile *m, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < m->n_string_table);
	return m->string_table[i];
}

static const pb_location *location(const pb_profile *m, uint64_t id)
{
	for (size_t i = 0; i < m->n_location; i++) {
		if (m->location[i]->id == id)
			return m->location[i];
	}
	fail_msg("location %llu missing", (unsigned long long)id);
	return NULL;
}

static const pb_function *function(const pb_profile *m, uint64_t id)
{
	for (size_t i = 0; i < m->n_function; i++) {
		if (m->function[i]->id == id)
			return m->function[i];
	}
	fail_msg("function %llu missing", (unsigned long long)id);
	return NULL;
}

static const pb_mapping *mapping(const pb_profile *m, uint64_t id)
{
	for (size_t i = 0; i < m->n_mapping; i++) {
		if (m->mapping[i]->id == id)
			return m->mapping[i];
	}
	fail_msg("mapping %llu missing", (unsigned long long)id);
	return NULL;
}

static const pb_function *loc_function(const pb_profile *m, const pb_location *loc)
{
	assert_int_equal(loc->n_line, 1);
	return function(m, loc->line[0]->function_id);
}

/* The function name of a sample's j-th location, leaf first. */
static const char *frame_name(const pb_profile *m, const pb_sample *s, size_t j)
{
	assert_true(j < s->n_location_id);
	return str(m, loc_function(m, location(m, s->location_id[j]))->name);
}

/* A label's string (or NULL when absent), numeric value in *num. */
static const char *label(const pb_profile *m, const pb_sample *s, const char *key, int64_t *num)
{
	for (size_t i = 0; i < s->n_label; i++) {
		if (strcmp(str(m, s->label[i]->key), key))
			continue;
		if (num)
			*num = s->label[i]->num;
		return str(m, s->label[i]->str);
	}
	return NULL;
}

static const pb_sample *sample_of_tid(const pb_profile *m, int64_t tid)
{
	for (size_t i = 0; i < m->n_sample; i++) {
		int64_t num = -1;

		if (label(m, m->sample[i], "thread_id", &num) && num == tid)
			return m->sample[i];
	}
	fail_msg("no sample of tid %lld", (long long)tid);
	return NULL;
}

static void check_header(const pb_profile *m, const struct profile *p)
{
	assert_true(m->n_string_table >= 1);
	assert_string_equal(m->string_table[0], "");
	assert_int_equal(m->n_sample_type, 2);
	assert_string_equal(str(m, m->sample_type[0]->type), "samples");
	assert_string_equal(str(m, m->sample_type[0]->unit), "count");
	assert_string_equal(str(m, m->sample_type[1]->type), "cpu");
	assert_string_equal(str(m, m->sample_type[1]->unit), "nanoseconds");
	assert_non_null(m->period_type);
	assert_string_equal(str(m, m->period_type->type), "cpu");
	assert_string_equal(str(m, m->period_type->unit), "nanoseconds");
	assert_string_equal(str(m, m->default_sample_type), "cpu");
	assert_int_equal(m->period, PERIOD_NS);
	assert_int_equal(m->time_nanos, p->start_ns);
	assert_int_equal(m->duration_nanos, p->duration_ns);
	/* interned: no string twice */
	for (size_t i = 0; i < m->n_string_table; i++) {
		for (size_t j = i + 1; j < m->n_string_table; j++)
			assert_string_not_equal(m->string_table[i], m->string_table[j]);
	}
}

/* Every id is unique and nonzero, every reference resolves. */
static void check_references(const pb_profile *m)
{
	for (size_t i = 0; i < m->n_location; i++) {
		const pb_location *loc = m->location[i];

		assert_int_not_equal(loc->id, 0);
		assert_ptr_equal(location(m, loc->id), loc);
		loc_function(m, loc);
		if (loc->mapping_id)
			mapping(m, loc->mapping_id);
	}
	for (size_t i = 0; i < m->n_function; i++) {
		assert_int_not_equal(m->function[i]->id, 0);
		assert_ptr_equal(function(m, m->function[i]->id), m->function[i]);
	}
	for (size_t i = 0; i < m->n_mapping; i++) {
		assert_int_equal(m->mapping[i]->id, i + 1);
		assert_true(m->mapping[i]->has_functions);
	}
	for (size_t i = 0; i < m->n_sample; i++) {
		const pb_sample *s = m->sample[i];

		assert_int_equal(s->n_value, 2);
		for (size_t j = 0; j < s->n_location_id; j++)
			location(m, s->location_id[j]);
	}
}

static void test_header(void **state)
{
	struct fixture *fx = *state;
	pb_profile *m = decode(&fx->p);

	check_header(m, &fx->p);
	check_references(m);
	assert_int_equal(m->n_sample, 3);
	assert_int_equal(m->n_location, NR_F);
	/* Cls.outer appears once although two frames (lines) use it */
	assert_int_equal(m->n_function, NR_F - 1);
	assert_int_equal(m->n_mapping, 3);
	perftools__profiles__profile__free_unpacked(m, NULL);
}

static void test_locations(void **state)
{
	struct fixture *fx = *state;
	pb_profile *m = decode(&fx->p);
	const pb_location *loc;
	const pb_function *fn;

	/* location id = frame index + 1 */
	for (size_t i = 0; i < fx->p.nframes; i++)
		assert_int_equal(m->location[i]->id, i + 1);

	loc = location(m, fx->idx[F_INNER] + 1);
	fn = loc_function(m, loc);
	assert_int_equal(loc->address, 0);
	assert_int_equal(loc->mapping_id, 0);
	assert_int_equal(loc->line[0]->line, 12);
	assert_string_equal(str(m, fn->name), "inner");
	/* no system name: pprof would "demangle" "<module>" to "" */
	assert_int_equal(fn->system_name, 0);
	assert_string_equal(str(m, fn->filename), "/app/m.py");
	assert_int_equal(fn->start_line, 10);

	loc = location(m, fx->idx[F_OUTER] + 1);
	assert_int_equal(loc->line[0]->line, 25);
	fn = loc_function(m, loc);
	assert_string_equal(str(m, fn->name), "Cls.outer");
	assert_int_equal(fn->start_line, 20);
	loc = location(m, fx->idx[F_OUTER2] + 1);
	assert_int_equal(loc->line[0]->line, 27);
	assert_ptr_equal(loc_function(m, loc), fn);

	loc = location(m, fx->idx[F_EVAL] + 1);
	fn = loc_function(m, loc);
	assert_int_equal(loc->address, 0x7f0012345678ULL);
	assert_int_equal(loc->line[0]->line, 0);
	assert_string_equal(str(m, fn->name), "_PyEval_EvalFrameDefault");
	assert_int_equal(fn->system_name, fn->name);
	assert_string_equal(str(m, fn->filename), LIBPYTHON);
	assert_string_equal(str(m, mapping(m, loc->mapping_id)->filename), LIBPYTHON);

	loc = location(m, fx->idx[F_MEMCPY] + 1);
	assert_int_equal(loc->address, 0x7f00aaaa0000ULL);
	assert_string_equal(str(m, mapping(m, loc->mapping_id)->filename), LIBC);
	assert_string_equal(str(m, loc_function(m, loc)->name), "memcpy");

	loc = location(m, fx->idx[F_SYSCALL] + 1);
	assert_int_equal(loc->address, 0xffffffff81000010ULL);
	assert_string_equal(str(m, mapping(m, loc->mapping_id)->filename), "[kernel.kallsyms]");
	assert_string_equal(str(m, loc_function(m, loc)->name), "do_syscall_64");

	loc = location(m, fx->idx[F_TRUNCATED] + 1);
	assert_int_equal(loc->address, 0);
	assert_int_equal(loc->mapping_id, 0);
	assert_string_equal(str(m, loc_function(m, loc)->name), "[truncated]");
	assert_int_equal(loc_function(m, loc)->system_name, 0);
	perftools__profiles__profile__free_unpacked(m, NULL);
}

static void test_samples(void **state)
{
	struct fixture *fx = *state;
	pb_profile *m = decode(&fx->p);
	const pb_sample *s;
	int64_t num;

	/* leaf first, merged counts, value = [count, value] */
	s = sample_of_tid(m, 101);
	assert_int_equal(s->n_location_id, 3);
	assert_string_equal(frame_name(m, s, 0), "inner");
	assert_string_equal(frame_name(m, s, 1), "Cls.outer");
	assert_string_equal(frame_name(m, s, 2), "_PyEval_EvalFrameDefault");
	assert_int_equal(s->value[0], 4);
	assert_int_equal(s->value[1], 4 * PERIOD_NS);
	assert_non_null(label(m, s, "pid", &num));
	assert_int_equal(num, 100);
	assert_string_equal(label(m, s, "thread_name", NULL), "MainThread");
	assert_null(label(m, s, "reason", NULL));
	assert_int_equal(s->n_label, 3);

	s = sample_of_tid(m, 102);
	assert_int_equal(s->n_location_id, 4);
	assert_string_equal(frame_name(m, s, 0), "do_syscall_64");
	assert_string_equal(frame_name(m, s, 1), "memcpy");
	assert_string_equal(frame_name(m, s, 2), "Cls.outer");
	assert_int_equal(location(m, s->location_id[2])->line[0]->line, 27);
	assert_string_equal(frame_name(m, s, 3), "[truncated]");
	assert_int_equal(s->value[0], 1);
	assert_int_equal(s->value[1], PERIOD_NS);
	assert_string_equal(label(m, s, "thread_name", NULL), "worker");
	assert_string_equal(label(m, s, "reason", NULL), "io");
	assert_int_equal(s->n_label, 4);

	s = sample_of_tid(m, 200);
	assert_int_equal(s->n_location_id, 2);
	assert_string_equal(frame_name(m, s, 0), "inner");
	assert_string_equal(frame_name(m, s, 1), "Cls.outer");
	assert_int_equal(s->value[0], 2);
	assert_int_equal(s->value[1], 2 * PERIOD_NS);
	label(m, s, "pid", &num);
	assert_int_equal(num, 200);
	assert_string_equal(label(m, s, "thread_name", NULL), "main");
	perftools__profiles__profile__free_unpacked(m, NULL);
}

static void test_empty(void **state)
{
	struct profile p;
	pb_profile *m;

	(void)state;
	assert_int_equal(profile_init(&p, 0), 0);
	m = decode(&p);
	check_header(m, &p);
	assert_int_equal(m->n_sample, 0);
	assert_int_equal(m->n_location, 0);
	assert_int_equal(m->n_function, 0);
	assert_int_equal(m->n_mapping, 0);
	perftools__profiles__profile__free_unpacked(m, NULL);
	profile_free(&p);
}

static void test_value_type(void **state)
{
	struct fixture *fx = *state;
	pb_profile *m;

	fx->p.value_type = profile_str(&fx->p, "wall");
	m = decode(&fx->p);
	assert_string_equal(str(m, m->sample_type[1]->type), "wall");
	assert_string_equal(str(m, m->period_type->type), "wall");
	assert_string_equal(str(m, m->default_sample_type), "wall");
	assert_string_equal(str(m, m->sample_type[0]->type), "samples");
	perftools__profiles__profile__free_unpacked(m, NULL);
}

/* Event-loop stalls: a third sample type; a stall's sample kept apart from
 * the CPU samples of its stack, and weighing only that type. */
static void test_stalls(void **state)
{
	struct fixture *fx = *state;
	uint32_t *x = fx->idx;
	uint32_t s1[] = {x[F_INNER], x[F_OUTER], x[F_EVAL]};
	struct prof_sample st = {.frames = s1,
				 .nframes = 3,
				 .pid = 100,
				 .tid = 101,
				 .thread_name = "MainThread",
				 .reason = "",
				 .stall_ns = 50000000};

	assert_int_equal(profile_add_sample(&fx->p, &st), 0);
	st.stall_ns = 25000000;
	assert_int_equal(profile_add_sample(&fx->p, &st), 0); /* merges with the stall */
	assert_int_equal(fx->p.nsamples, 4);
	pb_profile *m = decode(&fx->p);
	assert_int_equal(m->n_sample_type, 3);
	assert_string_equal(str(m, m->sample_type[1]->type), "cpu");
	assert_string_equal(str(m, m->sample_type[2]->type), "stall");
	assert_string_equal(str(m, m->sample_type[2]->unit), "nanoseconds");
	assert_string_equal(str(m, m->default_sample_type), "cpu");
	int found = 0;
	for (size_t i = 0; i < m->n_sample; i++) {
		const pb_sample *s = m->sample[i];
		int64_t tid = -1;
		assert_int_equal(s->n_value, 3);
		label(m, s, "thread_id", &tid);
		if (tid != 101)
			continue;
		found++;
		if (s->value[2]) {
			assert_int_equal(s->value[0], 0);
			assert_int_equal(s->value[1], 0);
			assert_int_equal(s->value[2], 75000000);
		} else {
			assert_int_equal(s->value[0], 4);
			assert_int_equal(s->value[1], 4 * PERIOD_NS);
		}
	}
	assert_int_equal(found, 2);
	perftools__profiles__profile__free_unpacked(m, NULL);
}

/* Samples of two tasks on one stack stay apart, each labelled with its task
 * and the tasks awaiting it; one without a task has neither label. */
/* a, b, then a again (which merges with the first): two samples more,
 * decoded. */
static pb_profile *add_apart(struct fixture *fx, const struct prof_sample *a,
			     const struct prof_sample *b)
{
	size_t before = fx->p.nsamples;
	assert_int_equal(profile_add_sample(&fx->p, a), 0);
	assert_int_equal(profile_add_sample(&fx->p, b), 0);
	assert_int_equal(profile_add_sample(&fx->p, a), 0);
	assert_int_equal(fx->p.nsamples, before + 2);
	return decode(&fx->p);
}

/* The asyncio task labels and the endpoint: samples that differ only by
 * one stay apart; none when empty. */
static void test_labels(void **state)
{
	struct fixture *fx = *state;
	uint32_t *x = fx->idx;
	uint32_t s1[] = {x[F_INNER], x[F_OUTER]};
	struct prof_sample a = {.frames = s1,
				.nframes = 2,
				.count = 3,
				.pid = 100,
				.tid = 201,
				.thread_name = "MainThread",
				.reason = "",
				.task = "alpha",
				.task_parents = "Task-1 > batch",
				.endpoint = "shop.views.checkout"};
	struct prof_sample b = a, c = a;
	b.count = 2;
	b.task = "beta";
	b.task_parents = "";
	c.count = 1;
	c.endpoint = ""; /* a's but for the endpoint */
	assert_int_equal(profile_add_sample(&fx->p, &c), 0);
	pb_profile *m = add_apart(fx, &a, &b);
	int seen = 0;
	for (size_t i = 0; i < m->n_sample; i++) {
		const pb_sample *s = m->sample[i];
		int64_t tid = -1;
		label(m, s, "thread_id", &tid);
		const char *task = label(m, s, "task", NULL),
			   *up = label(m, s, "task_parents", NULL),
			   *ep = label(m, s, "endpoint", NULL);
		if (tid != 201) {
			assert_null(task);
			assert_null(up);
			assert_null(ep);
			continue;
		}
		assert_non_null(task);
		if (!strcmp(task, "alpha")) {
			assert_string_equal(up, "Task-1 > batch");
			assert_int_equal(s->value[0], ep ? 6 : 1);
			if (ep)
				assert_string_equal(ep, "shop.views.checkout");
		} else {
			assert_string_equal(task, "beta");
			assert_int_equal(s->value[0], 2);
			assert_null(up);
			assert_string_equal(ep, "shop.views.checkout");
		}
		seen++;
	}
	assert_int_equal(seen, 3);
	perftools__profiles__profile__free_unpacked(m, NULL);
}

static void test_file_matches_buf(void **state)
{
	struct fixture *fx = *state;
	unsigned char *buf, *got;
	size_t len;
	FILE *f = tmpfile();

	assert_non_null(f);
	assert_int_equal(export_pprof_buf(&fx->p, &buf, &len), 0);
	assert_int_equal(export_pprof(&fx->p, f), 0);
	assert_int_equal(ftell(f), (long)len);
	rewind(f);
	got = malloc(len + 1);
	assert_non_null(got);
	assert_int_equal(fread(got, 1, len + 1, f), len);
	assert_memory_equal(got, buf, len);
	free(got);
	free(buf);
	fclose(f);
}

static void test_errors(void **state)
{
	struct fixture *fx = *state;
	unsigned char *buf = NULL;
	size_t len = 0;
	uint32_t bad[] = {fx->idx[F_INNER], 1000};

	errno = 0;
	assert_int_equal(export_pprof_buf(NULL, &buf, &len), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(export_pprof(&fx->p, NULL), -1);
	assert_int_equal(errno, EINVAL);

	/* a sample naming a frame the profile lacks */
	assert_int_equal(profile_add(&fx->p, bad, 2, 1, 1, 1, 1, "t", ""), 0);
	errno = 0;
	assert_int_equal(export_pprof_buf(&fx->p, &buf, &len), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_samples, setup, teardown),
		cmocka_unit_test(test_empty),
		cmocka_unit_test_setup_teardown(test_value_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_matches_buf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
