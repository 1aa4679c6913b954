/* elfcache.h - ELF files loaded once per (device, inode), shared by every
 * process that maps them. */
#ifndef PYBPF_ELFCACHE_H
#define PYBPF_ELFCACHE_H

#include "elfsyms.h"
#include "procmaps.h"

/* The ELF object mapped at m in pm's process, loaded on first use; NULL when it
 * cannot be opened or parsed (remembered, not retried). */
const struct elf_file *elfcache_get(const struct procmaps *pm, const struct mapping *m);
/* Load bias of the object mapped at m: runtime address - link-time address. */
int elfcache_bias(const struct elf_file *ef, const struct mapping *m, uint64_t *bias);
void elfcache_clear(void);

#endif
