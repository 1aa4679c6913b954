/* stacks.c - the table of known stacks. */
#include "sampling/stacks.h"

#include <stdlib.h>
#include <string.h>

#include "pybpf_shared.h"

struct key {
	const struct stack_table *t;
	uint64_t hash;
};

static bool same_hash(const void *ctx, uint32_t i)
{
	const struct key *k = ctx;
	return k->t->e[i].hash == k->hash;
}

int stacks_init(struct stack_table *t)
{
	memset(t, 0, sizeof(*t));
	return htab_init(&t->index, 1024);
}

void stacks_free(struct stack_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].frames);
		free(t->e[i].task);
		free(t->e[i].task_parents);
		free(t->e[i].endpoint);
	}
	free(t->e);
	htab_free(&t->index);
	memset(t, 0, sizeof(*t));
}

struct stack_entry *stacks_find(struct stack_table *t, uint64_t hash)
{
	struct key k = {t, hash};
	int64_t i = htab_get(&t->index, hash, same_hash, &k);
	return i >= 0 ? &t->e[i] : NULL;
}

int stacks_insert(struct stack_table *t, uint64_t hash, uint32_t pid, const uint32_t *frames,
		  uint32_t n)
{
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 1024;
		struct stack_entry *ne = realloc(t->e, ncap * sizeof(*ne));
		if (!ne)
			return -1;
		t->e = ne;
		t->cap = ncap;
	}
	uint32_t *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy || htab_put(&t->index, hash, (uint32_t)t->n)) {
		free(copy);
		return -1;
	}
	if (n)
		memcpy(copy, frames, n * sizeof(*copy));
	t->e[t->n++] = (struct stack_entry){
		.hash = hash, .frames = copy, .n = n, .pid = pid, .sweep = t->sweep};
	return 0;
}

long stacks_sweep(struct stack_table *t, uint32_t keep, stacks_forget_fn forget, void *ctx)
{
	struct htab ix;
	if (htab_init(&ix, t->n))
		return -1;
	t->sweep++; /* a stack last used before now is a generation older */
	long dropped = 0;
	size_t kept = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct stack_entry *e = &t->e[i];
		uint64_t age = t->sweep - e->sweep;
		if (age >= keep && forget && !(e->hash & PYBPF_HASH_USER_BIT))
			forget(ctx, e->hash);
		if (age > keep) {
			free(e->frames);
			free(e->task);
			free(e->task_parents);
			free(e->endpoint);
			dropped++;
			continue;
		}
		htab_put(&ix, e->hash, (uint32_t)kept); /* sized for all: cannot fail */
		t->e[kept++] = *e;
	}
	t->n = kept;
	htab_free(&t->index);
	t->index = ix;
	/* shrink as the table empties */
	if (t->cap > 1024 && t->n * 8 < t->cap) {
		size_t ncap = t->cap / 2;
		struct stack_entry *ne = realloc(t->e, ncap * sizeof(*ne));
		if (ne) {
			t->e = ne;
			t->cap = ncap;
		}
	}
	return dropped;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

long stacks_drop_pids(struct stack_table *t, const uint32_t *pids, size_t npids,
		      stacks_forget_fn forget, void *ctx)
{
	long dropped = 0;
	size_t kept = 0;
	if (!npids)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		struct stack_entry *e = &t->e[i];
		if (!bsearch(&e->pid, pids, npids, sizeof(*pids), cmp_u32)) {
			t->e[kept++] = *e;
			continue;
		}
		if (forget && !(e->hash & PYBPF_HASH_USER_BIT))
			forget(ctx, e->hash);
		free(e->frames);
		free(e->task);
		free(e->task_parents);
		free(e->endpoint);
		dropped++;
	}
	t->n = kept;
	if (!dropped)
		return 0;
	/* the index again, over what is left (never larger: cannot fail) */
	htab_clear(&t->index);
	for (size_t i = 0; i < t->n; i++)
		htab_put(&t->index, t->e[i].hash, (uint32_t)i);
	return dropped;
}

int stacks_compact_frames(struct stack_table *t, struct profile *frames, uint32_t rate_hz)
{
	struct profile nf;
	int32_t *map = malloc((frames->nframes ? frames->nframes : 1) * sizeof(*map));
	if (!map || profile_init(&nf, rate_hz)) {
		free(map);
		return -1;
	}
	memset(map, 0xff, frames->nframes * sizeof(*map));
	for (size_t i = 0; i < t->n; i++) {
		const struct stack_entry *e = &t->e[i];
		for (uint32_t k = 0; k < e->n; k++) {
			uint32_t fi = e->frames[k];
			if (map[fi] >= 0)
				continue;
			int64_t ni = profile_frame(&nf, &frames->frames[fi]);
			if (ni < 0) {
				profile_free(&nf);
				free(map);
				return -1;
			}
			map[fi] = (int32_t)ni;
		}
	}
	/* nothing can fail from here: rewrite every stack at once */
	for (size_t i = 0; i < t->n; i++)
		for (uint32_t k = 0; k < t->e[i].n; k++)
			t->e[i].frames[k] = (uint32_t)map[t->e[i].frames[k]];
	profile_free(frames);
	*frames = nf;
	free(map);
	return 0;
}
