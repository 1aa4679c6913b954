/* kallsyms.h - kernel symbols from /proc/kallsyms. */
#ifndef PYBPF_KALLSYMS_H
#define PYBPF_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

struct ksym {
	uint64_t addr;
	uint64_t end;	  /* the next symbol, a text-end marker, or at most 1 MiB on */
	const char *name; /* in kallsyms.names */
};

struct kallsyms {
	struct ksym *syms; /* sorted by addr */
	size_t n;
	char *names; /* every name, NUL-terminated, one after another */
};

/* Reads path (normally "/proc/kallsyms").  Returns 0 or -1/errno; all zero
 * addresses (no privilege) give an empty table and errno EPERM. */
int kallsyms_load(struct kallsyms *ks, const char *path);
void kallsyms_free(struct kallsyms *ks);
/* The symbol whose extent holds addr, or NULL: an address past the end of
 * the text (_etext, _einittext, a JIT area no symbol covers) is named after
 * nothing rather than after the last symbol below it. */
const struct ksym *kallsyms_find(const struct kallsyms *ks, uint64_t addr);

#endif
