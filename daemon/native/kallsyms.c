/* kallsyms.c - kernel symbols from /proc/kallsyms. */
#include "native/kallsyms.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys/sorted.h"

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

#define MAX_EXTENT (1ULL << 20) /* no kernel function is this long */

/* Markers of the end of a text section, not functions: _etext,
 * _einittext, __cpuidle_text_end, __entry_text_end ... */
static bool text_end_marker(const char *name)
{
	size_t n = strlen(name);
	if (!strncmp(name, "_e", 2) && n >= 6 && !strcmp(name + n - 4, "text"))
		return true;
	return n > 9 && !strncmp(name, "__", 2) && !strcmp(name + n - 9, "_text_end");
}

/* Each symbol ends where the next begins, at most MAX_EXTENT on; an end
 * marker covers nothing. */
static void set_extents(struct kallsyms *ks)
{
	for (size_t i = 0; i < ks->n; i++) {
		struct ksym *k = &ks->syms[i];
		uint64_t next = i + 1 < ks->n ? ks->syms[i + 1].addr : UINT64_MAX;
		uint64_t cap = k->addr + MAX_EXTENT > k->addr ? k->addr + MAX_EXTENT : UINT64_MAX;
		k->end = text_end_marker(k->name) ? k->addr : next < cap ? next : cap;
	}
}

/* The names go one after another into one buffer (a kernel has ~150k
 * symbols: one allocation each would cost their malloc overhead and, at
 * every reload, fragment the heap); k->end holds the name's offset until
 * the buffer stops moving. */
struct names {
	size_t len, cap;
};

static int push(struct kallsyms *ks, size_t *cap, struct names *nb, uint64_t addr, const char *name)
{
	size_t len = strlen(name) + 1;
	if (ks->n == *cap) {
		*cap = *cap ? *cap * 2 : 4096; /* grown: a small input stays small */
		struct ksym *ns = realloc(ks->syms, *cap * sizeof(*ns));
		if (!ns)
			return -1;
		ks->syms = ns;
	}
	if (nb->len + len > nb->cap) {
		size_t ncap = nb->cap ? nb->cap : 65536;
		while (nb->len + len > ncap)
			ncap *= 2;
		char *nn = realloc(ks->names, ncap);
		if (!nn)
			return -1;
		ks->names = nn;
		nb->cap = ncap;
	}
	memcpy(ks->names + nb->len, name, len);
	ks->syms[ks->n++] = (struct ksym){addr, nb->len, NULL};
	nb->len += len;
	return 0;
}

int kallsyms_load(struct kallsyms *ks, const char *path)
{
	char line[1024], name[512], type;
	unsigned long long addr;
	size_t cap = 0;
	struct names nb = {0, 0};

	memset(ks, 0, sizeof(*ks));
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %511s", &addr, &type, name) != 3 || !addr)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (push(ks, &cap, &nb, addr, name)) {
			fclose(f);
			kallsyms_free(ks);
			return -1;
		}
	}
	fclose(f);
	if (!ks->n) {
		kallsyms_free(ks);
		errno = EPERM;
		return -1;
	}
	for (size_t i = 0; i < ks->n; i++)
		ks->syms[i].name = ks->names + ks->syms[i].end;
	qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_ksym);
	set_extents(ks);
	return 0;
}

void kallsyms_free(struct kallsyms *ks)
{
	free(ks->syms);
	free(ks->names);
	memset(ks, 0, sizeof(*ks));
}

const struct ksym *kallsyms_find(const struct kallsyms *ks, uint64_t addr)
{
	size_t lo = count_at_or_below(ks->syms, ks->n, sizeof(*ks->syms),
				      offsetof(struct ksym, addr), addr);
	return lo && addr < ks->syms[lo - 1].end ? &ks->syms[lo - 1] : NULL;
}
