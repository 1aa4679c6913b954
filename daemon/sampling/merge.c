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

size_t merge_stack(const char *const *native, uint32_t nnative, uint32_t npy,
		   bool (*entry)(const void *ctx, uint32_t j), const void *ctx,
		   struct merge_ref *out, size_t max)
{
	uint32_t evals = 0, next = 0;
	size_t n = 0;

	for (uint32_t i = 0; i < nnative; i++)
		evals += merge_is_eval(native[i]);
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
