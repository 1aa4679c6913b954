/* elfcache.c - ELF files loaded once per (device, inode). */
#include "elfcache.h"

#include <stdlib.h>
#include <unistd.h>

#define ELFCACHE_MAX 4096

struct elfcache_entry {
	uint64_t inode;
	unsigned dev_major, dev_minor;
	struct elf_file ef;
	int ok;
};

static struct elfcache_entry *entries;
static size_t nentries, cap;

static struct elfcache_entry *lookup(const struct mapping *m)
{
	for (size_t i = 0; i < nentries; i++) {
		struct elfcache_entry *e = &entries[i];
		if (e->inode == m->inode && e->dev_major == m->dev_major &&
		    e->dev_minor == m->dev_minor)
			return e;
	}
	return NULL;
}

const struct elf_file *elfcache_get(const struct procmaps *pm, const struct mapping *m)
{
	if (!m->inode)
		return NULL;
	struct elfcache_entry *e = lookup(m);
	if (e)
		return e->ok ? &e->ef : NULL;
	if (nentries == ELFCACHE_MAX)
		elfcache_clear();
	if (nentries == cap) {
		size_t ncap = cap ? cap * 2 : 64;
		struct elfcache_entry *ne = realloc(entries, ncap * sizeof(*ne));
		if (!ne)
			return NULL;
		entries = ne;
		cap = ncap;
	}
	e = &entries[nentries++];
	*e = (struct elfcache_entry){
		.inode = m->inode, .dev_major = m->dev_major, .dev_minor = m->dev_minor};
	int fd = procmaps_open(pm, m);
	if (fd < 0)
		return NULL;
	e->ok = elf_file_load(fd, &e->ef) == 0;
	close(fd);
	return e->ok ? &e->ef : NULL;
}

int elfcache_bias(const struct elf_file *ef, const struct mapping *m, uint64_t *bias)
{
	uint64_t vaddr;
	if (elf_file_vaddr(ef, m->offset, &vaddr))
		return -1;
	*bias = m->start - vaddr;
	return 0;
}

void elfcache_clear(void)
{
	for (size_t i = 0; i < nentries; i++)
		if (entries[i].ok)
			elf_file_free(&entries[i].ef);
	free(entries);
	entries = NULL;
	nentries = cap = 0;
}
