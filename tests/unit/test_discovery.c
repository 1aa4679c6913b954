/* daemon/service/discovery.c, the pure parts: what a look at a new process
 * decides, and the schedule of looks (5, 25, 70, 150, 300, then every
 * 500 ms) until it registers or is given up. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "service/discovery.h"

#define MS 1000000ULL

static void verdicts(void **state)
{
	(void)state;
	assert_int_equal(discovery_verdict(PYPROC_OK, 0), DISCOVERY_REGISTER);
	/* a program that is not Python (yet: libpython not mapped) */
	assert_int_equal(discovery_verdict(PYPROC_NOT_PYTHON, 0), DISCOVERY_RETRY);
	assert_int_equal(discovery_verdict(PYPROC_NOT_PYTHON, DISCOVERY_NOT_PYTHON_FOR - 1),
			 DISCOVERY_RETRY);
	assert_int_equal(discovery_verdict(PYPROC_NOT_PYTHON, DISCOVERY_NOT_PYTHON_FOR),
			 DISCOVERY_GIVE_UP);
	/* a Python whose interpreter is not initialised: longer */
	assert_int_equal(discovery_verdict(PYPROC_NOT_READY, DISCOVERY_NOT_PYTHON_FOR),
			 DISCOVERY_RETRY);
	assert_int_equal(discovery_verdict(PYPROC_NOT_READY, DISCOVERY_NOT_READY_FOR),
			 DISCOVERY_GIVE_UP);
	/* never worth another look */
	assert_int_equal(discovery_verdict(PYPROC_UNSUPPORTED, 0), DISCOVERY_GIVE_UP);
	assert_int_equal(discovery_verdict(PYPROC_ERROR, 0), DISCOVERY_GIVE_UP);
}

/* A fake process table: pid -> what a look at time t finds. */
struct world {
	uint64_t now;
	pid_t looks[64];
	uint64_t at[64];
	size_t n;
	uint64_t python_at; /* pid 7 becomes an initialised Python then */
};

static enum discovery_verdict look(void *ctx, pid_t pid, uint64_t age)
{
	struct world *w = ctx;
	assert_true(w->n < 64);
	w->looks[w->n] = pid;
	w->at[w->n++] = w->now;
	if (pid == 7)
		return w->now >= w->python_at ? DISCOVERY_REGISTER
					      : discovery_verdict(PYPROC_NOT_READY, age);
	return discovery_verdict(PYPROC_NOT_PYTHON, age); /* pid 8: a shell */
}

static size_t looks_of(const struct world *w, pid_t pid)
{
	size_t n = 0;
	for (size_t i = 0; i < w->n; i++)
		n += w->looks[i] == pid;
	return n;
}

static void schedule(void **state)
{
	(void)state;
	struct pending_list l = {0};
	struct world w = {.now = 1000 * MS, .python_at = 1000 * MS + 200 * MS};
	assert_int_equal(pending_add(&l, 7, w.now), 0);
	assert_int_equal(pending_add(&l, 8, w.now), 0);
	/* step the clock by 1 ms for 3 s */
	for (int i = 0; i < 3000; i++) {
		w.now += MS;
		pending_poll(&l, w.now, look, &w);
	}
	/* pid 7: looked at 5, 30, 100, 250 ms (registered at the first look
	 * after 200 ms), then never again */
	assert_int_equal(looks_of(&w, 7), 4);
	uint64_t expect[] = {5, 30, 100, 250};
	for (size_t i = 0, k = 0; i < w.n; i++)
		if (w.looks[i] == 7)
			assert_int_equal(w.at[i] - 1000 * MS, expect[k++] * MS);
	/* pid 8: until 1.2 s after the exec, then given up */
	size_t n8 = looks_of(&w, 8);
	assert_in_range(n8, 6, 9);
	for (size_t i = 0; i < w.n; i++)
		if (w.looks[i] == 8)
			assert_true(w.at[i] - 1000 * MS <= DISCOVERY_NOT_PYTHON_FOR + 500 * MS);
	assert_int_equal(l.n, 0);
	pending_free(&l);
}

static void exec_again_restarts(void **state)
{
	(void)state;
	struct pending_list l = {0};
	assert_int_equal(pending_add(&l, 9, 0), 0);
	l.p[0].tries = 4;
	assert_int_equal(pending_add(&l, 9, 100 * MS), 0); /* exec'd again */
	assert_int_equal(l.n, 1);
	assert_int_equal(l.p[0].tries, 0);
	assert_int_equal(l.p[0].first_seen, 100 * MS);
	assert_int_equal(l.p[0].next_try, 105 * MS);
	pending_free(&l);
}

static void bounded(void **state)
{
	(void)state;
	struct pending_list l = {0};
	for (pid_t p = 1; p <= PENDING_MAX; p++)
		assert_int_equal(pending_add(&l, p, 0), 0);
	assert_int_equal(pending_add(&l, PENDING_MAX + 1, 0), -1);
	assert_int_equal(l.n, PENDING_MAX);
	pending_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(verdicts),
		cmocka_unit_test(schedule),
		cmocka_unit_test(exec_again_restarts),
		cmocka_unit_test(bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
