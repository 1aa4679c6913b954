/* merge.h - the native/Python merge: a captured user stack (native frames,
 * leaf first) and its Python frames (leaf first, with the frames that were
 * entered from C marked) become one stack in which each run of the
 * interpreter's eval loop (_PyEval_EvalFrameDefault) is replaced by the
 * Python frames it was running.  Pure: names in, positions out. */
#ifndef PYBPF_MERGE_H
#define PYBPF_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum merge_kind {
	MERGE_NATIVE, /* idx: a native frame */
	MERGE_PYTHON, /* idx: a Python frame */
};

struct merge_ref {
	uint8_t kind;
	uint32_t idx;
};

/* Is this native symbol the eval loop (a run of Python frames)? */
bool merge_is_eval(const char *name);

/* native[i]: the symbol of native frame i (NULL when unnamed); interp[i]
 * (interp may be NULL): frame i is the interpreter's own (the python
 * binary, libpython); npy Python frames, entry(ctx, j) true when Python
 * frame j was entered from C (ends a run).  Writes the merged stack, leaf
 * first, into out (at most max refs) and returns its length.  Without eval
 * frames named (a stripped build whose eval loop is not exported: Debian's
 * 3.15), the k-th Python run goes at the outer end of the k-th run of the
 * interpreter's frames, where there are at least as many of these; else
 * (native unwinding failed) the Python frames go below the native ones. */
size_t merge_stack(const char *const *native, const bool *interp, uint32_t nnative, uint32_t npy,
		   bool (*entry)(const void *ctx, uint32_t j), const void *ctx,
		   struct merge_ref *out, size_t max);

#endif
