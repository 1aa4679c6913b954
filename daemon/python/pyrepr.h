/* pyrepr.h - a short repr() of an object in another process, and the
 * arguments and locals of a frame, from what the bounded object reader
 * (pyobject.c) reads: nothing executes in the target, and every repr is
 * capped in characters, elements, depth and reads. */
#ifndef PYBPF_PYREPR_H
#define PYBPF_PYREPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "python/pyobject.h"

#define PYREPR_MAX_CHARS 120 /* characters of one repr, "..." included */
#define PYREPR_MAX_ITEMS 10  /* elements shown of a list, tuple, dict or set */
#define PYREPR_MAX_DEPTH 3   /* containers inside containers */
#define PYREPR_MAX_READS 256 /* of the target, for one repr */
#define PYREPR_BUF	 (PYREPR_MAX_CHARS * 4 + 1)
#define PYREPR_TYPE	 64

/* obj's repr into out (PYREPR_BUF bytes, UTF-8) and its type's name into
 * type (PYREPR_TYPE bytes); what cannot be read shows as <unreadable>.
 * Uses up to PYREPR_MAX_READS reads of r from where it is. */
void pyrepr(struct pyobj_reader *r, uint64_t obj, char *out, char *type);

/* --- a frame's variables --------------------------------------------------- */

#define PYLOCALS_MAX 256 /* variables of one frame looked at */

enum pylocal_kind { PYLOCAL_LOCAL, PYLOCAL_CELL, PYLOCAL_FREE };

struct pylocal {
	char name[64];
	uint64_t value; /* the object (a cell's content), 0 when tagged */
	int64_t tagged; /* a tagged int of 3.14+'s stack references */
	bool is_tagged;
	bool arg; /* one of the function's parameters */
	enum pylocal_kind kind;
};

/* The variables of the frame at frame running code (as a walk read them):
 * those that hold a value, in the code's order (parameters first), at most
 * max.  Returns how many were stored, or -1 when the code's names cannot
 * be read; *total counts every assigned one of the first PYLOCALS_MAX. */
int pylocals_read(struct pyobj_reader *r, uint64_t frame, uint64_t code, struct pylocal *out,
		  size_t max, size_t *total);

#endif
