/* pysymbols.h - code objects to qualified name, file and line, cached per
 * process and guarded against address reuse by the code object's tag. */
#ifndef PYBPF_PYSYMBOLS_H
#define PYBPF_PYSYMBOLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pybpf_shared.h"

struct pysym {
	uint64_t code;
	uint32_t tag;
	char *qualname;
	char *filename;
	int firstlineno;
	uint8_t *linetable;
	size_t linetable_len;
};

struct pysym_cache;

struct pysym_cache *pysym_cache_new(pid_t pid, const struct py_layout *layout, unsigned minor);
void pysym_cache_free(struct pysym_cache *c);

/* The symbol of the code object at code, whose BPF-computed tag is tag (0 to
 * skip the check).  NULL when the object cannot be read or no longer matches
 * the tag (freed and reused): the frame is then unknown. */
const struct pysym *pysym_get(struct pysym_cache *c, uint64_t code, uint32_t tag);

/* The line of the instruction at byte offset instr. */
int pysym_line(const struct pysym_cache *c, const struct pysym *s, int32_t instr);

/* Reads a str object of the target as UTF-8 (at most max bytes); malloc'd. */
char *pysym_read_str(pid_t pid, const struct py_layout *L, uint64_t obj, size_t max);

#endif
