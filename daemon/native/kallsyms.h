/* kallsyms.h - kernel symbols from /proc/kallsyms. */
#ifndef PYBPF_KALLSYMS_H
#define PYBPF_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

struct ksym {
	uint64_t addr;
	char *name;
};

struct kallsyms {
	struct ksym *syms; /* sorted by addr */
	size_t n;
};

/* Reads path (normally "/proc/kallsyms").  Returns 0 or -1/errno; all zero
 * addresses (no privilege) give an empty table and errno EPERM. */
int kallsyms_load(struct kallsyms *ks, const char *path);
void kallsyms_free(struct kallsyms *ks);
/* The symbol at or below addr, or NULL. */
const struct ksym *kallsyms_find(const struct kallsyms *ks, uint64_t addr);

#endif
