/* symbols.h - code objects to qualified name, file and line: where a
 * captured Python frame becomes a name.  Cached per process, guarded against
 * address reuse by the code object's tag; every read of the target is
 * bounded (names 4 KiB, line tables 256 KiB). */
#ifndef PYBPF_SYMBOLS_H
#define PYBPF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "python/pylayout.h"

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

struct pysym_cache *pysym_cache_new(pid_t pid, const struct pylayout *layout, unsigned minor);
void pysym_cache_free(struct pysym_cache *c);

/* The symbol of the code object at code, whose BPF-computed tag is tag (0 to
 * skip the check).  NULL when the object cannot be read or no longer matches
 * the tag (freed and reused): the frame is then unknown.  Valid until the
 * cache is freed (a full cache starts over, so copy what you keep). */
const struct pysym *pysym_get(struct pysym_cache *c, uint64_t code, uint32_t tag);

/* The line of the instruction at byte offset instr. */
int pysym_line(const struct pysym_cache *c, const struct pysym *s, int32_t instr);

/* Code objects read so far (for tests and figures). */
size_t pysym_cache_size(const struct pysym_cache *c);

/* Reads a str object of the target as UTF-8 (at most max code points);
 * malloc'd, or NULL when it is not a readable compact str. */
char *pysym_read_str(pid_t pid, const struct pylayout *L, uint64_t obj, size_t max);

/* The tag of a code object from the first bytes of it (at least
 * L->bpf.co_read): the same hash the BPF side computes. */
uint32_t pysym_tag(const struct pylayout *L, const uint8_t *code_head);

#endif
