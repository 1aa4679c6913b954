/* elfcache.c - ELF files loaded once per (device, inode). */
#include "native/elfcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "native/debuginfo.h"
#include "sys/htab.h"

#define ELFCACHE_MAX 4096
#define MAX_CFI	     256 /* files kept open to name code by its call frame information */

struct elfcache_entry {
	uint64_t inode;
	unsigned dev_major, dev_minor;
	struct elf_file *ef; /* NULL: could not be loaded */
};

struct elfcache {
	struct elfcache_entry *e;
	size_t n, cap;
	struct htab index; /* (dev, inode) -> entry */
	size_t ncfi;
};

struct key {
	const struct elfcache *c;
	const struct mapping *m;
};

static uint64_t key_hash(const struct mapping *m)
{
	return m->inode ^ ((uint64_t)m->dev_major << 52) ^ ((uint64_t)m->dev_minor << 40);
}

static bool same_file(const void *ctx, uint32_t i)
{
	const struct key *k = ctx;
	const struct elfcache_entry *e = &k->c->e[i];
	return e->inode == k->m->inode && e->dev_major == k->m->dev_major &&
	       e->dev_minor == k->m->dev_minor;
}

struct elfcache *elfcache_new(void)
{
	struct elfcache *c = calloc(1, sizeof(*c));
	if (c && htab_init(&c->index, 64)) {
		free(c);
		return NULL;
	}
	return c;
}

void elfcache_clear(struct elfcache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		if (c->e[i].ef)
			elf_file_free(c->e[i].ef);
		free(c->e[i].ef);
	}
	c->n = 0;
	c->ncfi = 0;
	htab_clear(&c->index);
}

void elfcache_free(struct elfcache *c)
{
	if (!c)
		return;
	elfcache_clear(c);
	free(c->e);
	htab_free(&c->index);
	free(c);
}

size_t elfcache_size(const struct elfcache *c)
{
	return c->n;
}

size_t elfcache_prune(struct elfcache *c, elfcache_keep_fn keep, void *ctx)
{
	size_t kept = 0, gone = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct elfcache_entry *e = &c->e[i];
		if (keep(ctx, e->inode, e->dev_major, e->dev_minor)) {
			c->e[kept++] = *e;
			continue;
		}
		if (e->ef && e->ef->cfi && c->ncfi)
			c->ncfi--;
		if (e->ef)
			elf_file_free(e->ef);
		free(e->ef);
		gone++;
	}
	if (!gone)
		return 0;
	c->n = kept;
	/* the index again, over what is left (never larger: cannot fail) */
	htab_clear(&c->index);
	for (size_t i = 0; i < c->n; i++) {
		struct mapping m = {.inode = c->e[i].inode,
				    .dev_major = c->e[i].dev_major,
				    .dev_minor = c->e[i].dev_minor};
		htab_put(&c->index, key_hash(&m), (uint32_t)i);
	}
	return gone;
}

static struct elf_file *load(struct elfcache *c, const struct procmaps *pm, const struct mapping *m)
{
	struct elf_file *ef = calloc(1, sizeof(*ef));
	int fd = ef ? procmaps_open(pm, m) : -1;
	if (fd < 0) {
		free(ef);
		return NULL;
	}
	int ok = elf_file_load(fd, ef) == 0;
	if (ok) {
		/* stripped: its debug files, seen from its process first */
		char root[64];
		snprintf(root, sizeof(root), "/proc/%d/root", (int)pm->pid);
		if (debuginfo_apply(ef, fd, root, m->path, NULL) == ELF_NAMES_DYNSYM &&
		    c->ncfi < MAX_CFI && elf_file_open_cfi(ef, fd) == 0)
			c->ncfi++;
	}
	close(fd);
	if (!ok) {
		free(ef);
		return NULL;
	}
	return ef;
}

const struct elf_file *elfcache_get(struct elfcache *c, const struct procmaps *pm,
				    const struct mapping *m)
{
	if (!m->inode)
		return NULL;
	struct key k = {c, m};
	int64_t i = htab_get(&c->index, key_hash(m), same_file, &k);
	if (i >= 0)
		return c->e[i].ef;
	if (c->n == ELFCACHE_MAX)
		elfcache_clear(c);
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct elfcache_entry *ne = realloc(c->e, ncap * sizeof(*ne));
		if (!ne)
			return NULL;
		c->e = ne;
		c->cap = ncap;
	}
	struct elfcache_entry *e = &c->e[c->n];
	*e = (struct elfcache_entry){m->inode, m->dev_major, m->dev_minor, load(c, pm, m)};
	if (htab_put(&c->index, key_hash(m), (uint32_t)c->n)) {
		if (e->ef)
			elf_file_free(e->ef);
		free(e->ef);
		return NULL;
	}
	c->n++;
	return e->ef;
}

int elfcache_bias(const struct elf_file *ef, const struct mapping *m, uint64_t *bias)
{
	uint64_t vaddr;
	if (elf_file_vaddr(ef, m->offset, &vaddr))
		return -1;
	*bias = m->start - vaddr;
	return 0;
}
