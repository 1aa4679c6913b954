/* merge.c - eval-loop frames replaced by the Python frames they run. */
#include "sampling/merge.h"

#include <string.h>

bool merge_is_eval(const char *name)
{
	return name && strncmp(name, "_PyEval_EvalFrameDefault", 24) == 0;
}

static void put(struct merge_ref *out, size_t max, size_t *n, uint8_t kind, uint32_t idx)
{
	if (*n < max)
		out[(*n)++] = (struct merge_ref){kind, idx};
}

/* Python frames from *next up to the end of their run (an entry frame), or
 * all that are left. */
static void python_run(uint32_t npy, bool (*entry)(const void *, uint32_t), const void *ctx,
		       uint32_t *next, bool all, struct merge_ref *out, size_t max, size_t *n)
{
	while (*next < npy) {
		uint32_t j = (*next)++;
		put(out, max, n, MERGE_PYTHON, j);
		if (!all && entry(ctx, j))
			return;
	}
}

/* Runs of the interpreter's frames (interp[i]), and of Python frames. */
static uint32_t interp_runs(const bool *interp, uint32_t nnative)
{
	uint32_t runs = 0;
	for (uint32_t i = 0; i < nnative; i++)
		runs += interp[i] && (i + 1 == nnative || !interp[i + 1]);
	return runs;
}

static uint32_t python_runs(uint32_t npy, bool (*entry)(const void *, uint32_t), const void *ctx)
{
	uint32_t runs = npy ? 1 : 0;
	for (uint32_t j = 0; j + 1 < npy; j++)
		runs += entry(ctx, j);
	return runs;
}

/* No eval frame named (a stripped build whose loop is not exported): the
 * k-th run of Python frames goes at the outer end of the k-th run of the
 * interpreter's frames from the leaf, the last one with all that is left
 * (runs beyond, like a static binary's _start, get none). */
static size_t merge_by_runs(const bool *interp, uint32_t nnative, uint32_t npy, uint32_t pyruns,
			    bool (*entry)(const void *, uint32_t), const void *ctx,
			    struct merge_ref *out, size_t max)
{
	uint32_t run = 0, next = 0;
	size_t n = 0;
	for (uint32_t i = 0; i < nnative; i++) {
		put(out, max, &n, MERGE_NATIVE, i);
		if (interp[i] && (i + 1 == nnative || !interp[i + 1]))
			python_run(npy, entry, ctx, &next, ++run == pyruns, out, max, &n);
	}
	python_run(npy, entry, ctx, &next, true, out, max, &n);
	return n;
}

size_t merge_stack(const char *const *native, const bool *interp, uint32_t nnative, uint32_t npy,
		   bool (*entry)(const void *ctx, uint32_t j), const void *ctx,
		   struct merge_ref *out, size_t max)
{
	uint32_t evals = 0, next = 0;
	size_t n = 0;

	for (uint32_t i = 0; i < nnative; i++)
		evals += merge_is_eval(native[i]);
	uint32_t pyruns = npy ? python_runs(npy, entry, ctx) : 0;
	if (!evals && interp && pyruns && interp_runs(interp, nnative) >= pyruns)
		return merge_by_runs(interp, nnative, npy, pyruns, entry, ctx, out, max);
	for (uint32_t i = 0; i < nnative; i++) {
		if (!merge_is_eval(native[i])) {
			put(out, max, &n, MERGE_NATIVE, i);
			continue;
		}
		/* the outermost eval frame takes every Python frame left */
		python_run(npy, entry, ctx, &next, --evals == 0, out, max, &n);
	}
	python_run(npy, entry, ctx, &next, true, out, max, &n);
	return n;
}
