/* htab.c - open addressing with linear probing, backward-shift deletion. */
#include "sys/htab.h"

#include <stdlib.h>
#include <string.h>

uint64_t hash_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

uint64_t hash_str(const char *s)
{
	return hash_bytes(HASH_SEED, s, strlen(s));
}

/* The slot h starts probing at.  Hashes are mixed: callers may pass
 * addresses or small integers. */
static size_t home(const struct htab *t, uint64_t h)
{
	return (size_t)hash_mix64(h) & (t->cap - 1);
}

static int resize(struct htab *t, size_t ncap)
{
	struct htab n = {calloc(ncap, sizeof(uint64_t)), calloc(ncap, sizeof(uint32_t)), ncap, 0};
	if (!n.hash || !n.val) {
		free(n.hash);
		free(n.val);
		return -1;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->val[i])
			continue;
		size_t j = home(&n, t->hash[i]);
		while (n.val[j])
			j = (j + 1) & (ncap - 1);
		n.hash[j] = t->hash[i];
		n.val[j] = t->val[i];
		n.used++;
	}
	free(t->hash);
	free(t->val);
	*t = n;
	return 0;
}

int htab_init(struct htab *t, size_t expect)
{
	size_t cap = 16;
	memset(t, 0, sizeof(*t));
	while (cap < 2 * expect)
		cap *= 2;
	return resize(t, cap);
}

void htab_free(struct htab *t)
{
	free(t->hash);
	free(t->val);
	memset(t, 0, sizeof(*t));
}

void htab_clear(struct htab *t)
{
	if (t->cap)
		memset(t->val, 0, t->cap * sizeof(*t->val));
	t->used = 0;
}

int64_t htab_get(const struct htab *t, uint64_t h, htab_eq_fn eq, const void *ctx)
{
	if (!t->cap)
		return -1;
	for (size_t j = home(t, h); t->val[j]; j = (j + 1) & (t->cap - 1))
		if (t->hash[j] == h && (!eq || eq(ctx, t->val[j] - 1)))
			return t->val[j] - 1;
	return -1;
}

int htab_put(struct htab *t, uint64_t h, uint32_t val)
{
	if (val == UINT32_MAX)
		return -1;
	if ((t->used + 1) * 2 > t->cap && resize(t, t->cap ? t->cap * 2 : 16))
		return -1;
	size_t j = home(t, h);
	while (t->val[j])
		j = (j + 1) & (t->cap - 1);
	t->hash[j] = h;
	t->val[j] = val + 1;
	t->used++;
	return 0;
}

int htab_del(struct htab *t, uint64_t h, uint32_t val)
{
	size_t mask = t->cap - 1, j;
	if (!t->cap)
		return -1;
	for (j = home(t, h); t->val[j]; j = (j + 1) & mask)
		if (t->hash[j] == h && t->val[j] == val + 1)
			break;
	if (!t->val[j])
		return -1;
	/* shift back every later entry of the run that may move into the hole */
	for (size_t k = (j + 1) & mask; t->val[k]; k = (k + 1) & mask) {
		size_t want = home(t, t->hash[k]);
		/* k's entry may fill j unless its home lies cyclically in (j, k] */
		bool stays = j <= k ? (want > j && want <= k) : (want > j || want <= k);
		if (stays)
			continue;
		t->hash[j] = t->hash[k];
		t->val[j] = t->val[k];
		j = k;
	}
	t->val[j] = 0;
	t->used--;
	return 0;
}
