/* view.h - a profile as the user asked to see it: which native frames,
 * Python frames by line or by function, threads as roots.  One function
 * for every format and for the daemon's replies, so each shows the same. */
#ifndef PYBPF_VIEW_H
#define PYBPF_VIEW_H

#include <stdbool.h>

#include "profile/profile.h"

enum prof_native {
	/* the interpreter's own frames (the python binary, libpython) folded
	 * into the Python frame that runs them, with a thread's native
	 * start-up below its first Python frame; extension, library and
	 * kernel frames kept */
	PROF_NATIVE_FOLD = 0,
	PROF_NATIVE_ALL,  /* every frame */
	PROF_NATIVE_NONE, /* Python frames only */
};

struct prof_view {
	enum prof_native native;
	bool function; /* a Python frame at its function's first line */
	bool nolineno; /* a Python frame with no line at all */
	bool threads;  /* each thread a root frame: "thread NAME (tid)" */
	bool gil_only; /* only the samples of a thread holding the GIL */
	/* a wall profile shown as a CPU one (py-spy's --idle): samples whose
	 * count is their time in periods, off-CPU stacks counted as if sampled,
	 * no reason label */
	bool idle;
	/* the text formats show whole paths (by default a file inside the
	 * packages or the standard library by its path there, as py-spy) */
	bool full_filenames;
};

/* "fold", "all", "none"; -1 when unknown. */
int prof_native_parse(const char *s);
const char *prof_native_name(enum prof_native n);

/* The interpreter's own object: python3.X or libpython3.X (by file name, so
 * a container's copy or an embedding program's libpython count too). */
bool prof_interpreter_module(const char *module);

/* src as v shows it, a new profile the caller frees (profile_free + free);
 * NULL on ENOMEM. */
struct profile *profile_view(const struct profile *src, const struct prof_view *v);

#endif
