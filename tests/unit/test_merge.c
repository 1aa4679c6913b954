/* daemon/sampling/merge.c: the native/Python merge.  Each eval-loop frame of
 * the native stack is replaced by the run of Python frames it was running
 * (a run ends at a frame entered from C); Python frames left over go to the
 * outermost eval frame, or below the native frames when there is none; a
 * stripped build's unnamed eval loop found by the runs of the interpreter's
 * frames. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sampling/merge.h"

static const char *const EVAL = "_PyEval_EvalFrameDefault";

struct entries {
	uint32_t mask; /* bit j: Python frame j was entered from C */
};

static bool entry(const void *ctx, uint32_t j)
{
	return (((const struct entries *)ctx)->mask >> j) & 1;
}

/* The merged stack as text: "n0 p0 p1 n2 ..." (native / Python index). */
static const char *merged_with(const char *const *native, const bool *interp, uint32_t nn,
			       uint32_t npy, uint32_t mask, size_t max)
{
	static char buf[512];
	struct merge_ref out[64];
	struct entries e = {mask};
	size_t n = merge_stack(native, interp, nn, npy, entry, &e, out, max < 64 ? max : 64);
	size_t used = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%c%u", i ? " " : "",
					 out[i].kind == MERGE_PYTHON ? 'p' : 'n', out[i].idx);
	return buf;
}

static const char *merged(const char *const *native, uint32_t nn, uint32_t npy, uint32_t mask,
			  size_t max)
{
	return merged_with(native, NULL, nn, npy, mask, max);
}

static void eval_frames_become_python_runs(void **state)
{
	(void)state;
	/* leaf first: read() in C, called from Python (run 1: p0 p1, p1 entered
	 * from C), through PyObject_Call, from Python again (run 2: p2 p3) */
	const char *nat[] = {"read", EVAL, "PyObject_Call", EVAL, "main"};
	assert_string_equal(merged(nat, 5, 4, 1u << 1, 64), "n0 p0 p1 n2 p2 p3 n4");
}

static void outermost_eval_takes_the_rest(void **state)
{
	(void)state;
	/* no entry bits at all: the last eval frame gets every Python frame */
	const char *nat[] = {EVAL, "call", EVAL, "main"};
	assert_string_equal(merged(nat, 4, 3, 0, 64), "p0 p1 p2 n1 n3");
	/* an entry bit per frame: one frame per eval, the rest to the last */
	assert_string_equal(merged(nat, 4, 3, 0x7, 64), "p0 n1 p1 p2 n3");
}

static void no_eval_frames(void **state)
{
	(void)state;
	/* the native unwind failed early: Python frames below the native ones */
	const char *nat[] = {"memcpy", "[python3.11]"};
	assert_string_equal(merged(nat, 2, 2, 0, 64), "n0 n1 p0 p1");
	assert_string_equal(merged(NULL, 0, 3, 0, 64), "p0 p1 p2");
	assert_string_equal(merged(nat, 2, 0, 0, 64), "n0 n1");
}

static void unnamed_and_cold_frames(void **state)
{
	(void)state;
	/* unnamed frames are native; a .cold part of the eval loop still counts */
	const char *nat[] = {NULL, "_PyEval_EvalFrameDefault.cold", NULL};
	assert_true(merge_is_eval(nat[1]));
	assert_false(merge_is_eval(NULL));
	assert_false(merge_is_eval("PyEval_EvalCode"));
	assert_string_equal(merged(nat, 3, 1, 0, 64), "n0 p0 n2");
}

/* The same, with which native frames are the interpreter's, all unnamed
 * (a stripped build). */
static const char *merged_interp(const bool *interp, uint32_t nn, uint32_t npy, uint32_t mask)
{
	static const char *const nat[16];
	return merged_with(nat, interp, nn, npy, mask, 64);
}

static void interpreter_runs_without_eval_names(void **state)
{
	(void)state;
	/* leaf first: libc's sleep, the interpreter (run 1: p0, entered from
	 * C), libffi and libc's qsort, the interpreter again (run 2: p1 p2),
	 * libc's start */
	const bool interp[] = {false, true, true, false, false, true, true, false};
	assert_string_equal(merged_interp(interp, 8, 3, 1u << 0),
			    "n0 n1 n2 p0 n3 n4 n5 n6 p1 p2 n7");
	/* one Python run: the first interpreter run from the leaf takes it */
	assert_string_equal(merged_interp(interp, 8, 3, 0), "n0 n1 n2 p0 p1 p2 n3 n4 n5 n6 n7");
	/* a static binary's _start outside libc's start: a run with none */
	const bool start[] = {false, true, false, true, false, true};
	assert_string_equal(merged_interp(start, 6, 2, 1u << 0), "n0 n1 p0 n2 n3 p1 n4 n5");
	/* fewer runs of the interpreter's frames than of Python's: below */
	assert_string_equal(merged_interp(start, 6, 4, 0x7), "n0 n1 n2 n3 n4 n5 p0 p1 p2 p3");
	/* a named eval frame wins over the runs */
	const char *nat[] = {"sleep", "_PyEval_EvalFrameDefault", "main"};
	const bool in3[] = {false, true, true};
	struct merge_ref out[8];
	struct entries e = {0};
	assert_int_equal(merge_stack(nat, in3, 3, 1, entry, &e, out, 8), 3);
	assert_int_equal(out[1].kind, MERGE_PYTHON);
}

static void bounded_output(void **state)
{
	(void)state;
	const char *nat[] = {"a", EVAL, "b"};
	assert_string_equal(merged(nat, 3, 10, 0, 4), "n0 p0 p1 p2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(eval_frames_become_python_runs),
		cmocka_unit_test(outermost_eval_takes_the_rest),
		cmocka_unit_test(no_eval_frames),
		cmocka_unit_test(unnamed_and_cold_frames),
		cmocka_unit_test(interpreter_runs_without_eval_names),
		cmocka_unit_test(bounded_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
