/* elfcache.h - ELF files loaded once per (device, inode), shared by every
 * process that maps them.  A cache is an object its owner passes around
 * (the aggregator's, a command's own): no global state, and no locking
 * contract hidden in a static. */
#ifndef PYBPF_ELFCACHE_H
#define PYBPF_ELFCACHE_H

#include "native/elfsyms.h"
#include "sys/procmaps.h"

struct elfcache;

struct elfcache *elfcache_new(void);
void elfcache_free(struct elfcache *c);

/* The ELF object mapped at m in pm's process, loaded on first use; NULL when it
 * cannot be opened or parsed (remembered, not retried).  The pointer stays
 * valid until the cache is freed or cleared. */
const struct elf_file *elfcache_get(struct elfcache *c, const struct procmaps *pm,
				    const struct mapping *m);
/* Load bias of the object mapped at m: runtime address - link-time address. */
int elfcache_bias(const struct elf_file *ef, const struct mapping *m, uint64_t *bias);
/* Forgets every file (the owner knows no pointer into it is still held). */
void elfcache_clear(struct elfcache *c);
/* Files loaded now. */
size_t elfcache_size(const struct elfcache *c);
/* Forgets the files for which keep(ctx, inode, dev_major, dev_minor) is
 * false (no live process maps them any more); the owner knows no pointer
 * into those is held.  Returns how many it forgot. */
typedef bool (*elfcache_keep_fn)(void *ctx, uint64_t inode, unsigned dev_major, unsigned dev_minor);
size_t elfcache_prune(struct elfcache *c, elfcache_keep_fn keep, void *ctx);

#endif
