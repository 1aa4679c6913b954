/* htab.h - the one hash table: an open-addressing index from 64-bit hashes
 * to uint32 values, normally indices into the caller's own array.  Equal
 * hashes are told apart by the caller's eq(); the table grows at half full
 * and deletes by backward shift, so it never holds tombstones. */
#ifndef PYBPF_HTAB_H
#define PYBPF_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct htab {
	uint64_t *hash;
	uint32_t *val; /* value + 1; 0 = empty */
	size_t cap, used;
};

/* Does the entry holding val match what the caller looks for? */
typedef bool (*htab_eq_fn)(const void *ctx, uint32_t val);

/* Room for expect entries without growing (0: a small default).  0 or -1. */
int htab_init(struct htab *t, size_t expect);
void htab_free(struct htab *t);
/* Empties the table, keeping its memory. */
void htab_clear(struct htab *t);

/* The value stored under h that eq accepts (any, when eq is NULL), or -1. */
int64_t htab_get(const struct htab *t, uint64_t h, htab_eq_fn eq, const void *ctx);
/* Adds (h, val), growing as needed.  0, or -1 when out of memory. */
int htab_put(struct htab *t, uint64_t h, uint32_t val);
/* Removes the entry (h, val).  0, or -1 when there is none. */
int htab_del(struct htab *t, uint64_t h, uint32_t val);

/* Hashing: the murmur3 finaliser, and FNV-1a over bytes / a C string. */
uint64_t hash_mix64(uint64_t h);
uint64_t hash_bytes(uint64_t h, const void *data, size_t len);
uint64_t hash_str(const char *s);
#define HASH_SEED 0xcbf29ce484222325ULL

#endif
