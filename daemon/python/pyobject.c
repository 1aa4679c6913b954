/* pyobject.c - a bounded reader of Python objects in another process. */
#include "python/pyobject.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/symbols.h"
#include "sys/memread.h"

/* The same in every version 3.9-3.15 (x86_64). */
#define OB_TYPE		 8
#define TP_NAME		 24
#define TP_BASICSIZE	 32
#define TP_FLAGS	 168
#define TP_DICTOFFSET	 288
#define MD_DICT		 16 /* PyModuleObject.md_dict */
#define MA_USED		 16
#define MA_KEYS		 32
#define MA_VALUES	 40
#define F_MANAGED_DICT	 (1UL << 4)
#define F_INLINE_VALUES	 (1UL << 2)
#define F_LONG_SUBCLASS	 (1UL << 24)
#define F_UNICODE	 (1UL << 28)
#define F_DICT_SUBCLASS	 (1UL << 29)
#define F_LIST_SUBCLASS	 (1UL << 25)
#define F_TUPLE_SUBCLASS (1UL << 26)
#define LONG_SIZE	 16 /* ob_size (<= 3.11) or lv_tag (3.12+) */
#define LONG_DIGITS	 24
#define PYLONG_SHIFT	 30
#define ENTRIES_PER_READ 128

static const struct pyobj_layout table[] = {
	{9, 864, 856, 0, 0, false, false, ATTR_DICTOFFSET},
	{10, 872, 856, 0, 0, false, false, ATTR_DICTOFFSET},
	{11, 872, 888, 0, 0, true, false, ATTR_MANAGED_311},
	{12, 880, 944, 0, 0, true, true, ATTR_TAGGED_312},
	{13, 880, 7656, 88, 8, true, true, ATTR_INLINE_313},
	{14, 880, 7688, 96, 8, true, true, ATTR_INLINE_313},
	{15, 888, 7592, 96, 8, true, true, ATTR_INLINE_313},
};

int pyobj_reader_init(struct pyobj_reader *r, const struct pyprocess *pp)
{
	memset(r, 0, sizeof(*r));
	r->pp = pp;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (pp->major == 3 && table[i].minor == pp->minor)
			r->O = &table[i];
	return r->O ? 0 : -1;
}

int pyobj_read(struct pyobj_reader *r, uint64_t addr, void *dst, size_t len)
{
	if (!addr || r->reads >= (r->limit ? r->limit : PYOBJ_MAX_READS))
		return -1;
	r->reads++;
	return mem_read(r->pp->pid, addr, dst, len) ? -1 : 0;
}

static int read_u64(struct pyobj_reader *r, uint64_t addr, uint64_t *v)
{
	return pyobj_read(r, addr, v, sizeof(*v));
}

uint64_t pyobj_type(struct pyobj_reader *r, uint64_t obj)
{
	uint64_t t = 0;
	return read_u64(r, obj + OB_TYPE, &t) ? 0 : t;
}

/* The name and flags of the type at type: from the cache, else two reads
 * (flags 0 and name "?" when unread: remembered too). */
static const struct pyobj_type_slot *type_info(struct pyobj_reader *r, uint64_t type)
{
	static const struct pyobj_type_slot none = {0, 0, "?"};
	struct pyobj_type_slot *s = &r->types[(type >> 4) % PYOBJ_TYPE_CACHE];
	uint64_t hdr[TP_FLAGS / 8 + 1];
	if (!type)
		return &none;
	if (s->addr == type)
		return s;
	if (pyobj_read(r, type, hdr, sizeof(hdr)))
		return &none; /* unread, not remembered: may be the read budget */
	s->addr = type;
	s->flags = hdr[TP_FLAGS / 8];
	snprintf(s->name, sizeof(s->name), "?");
	uint64_t name = hdr[TP_NAME / 8];
	char buf[sizeof(s->name)];
	/* a C string of unknown length: what fits, cut at its NUL */
	if (!name || pyobj_read(r, name, buf, sizeof(buf) - 1))
		return s;
	buf[sizeof(buf) - 1] = 0;
	for (size_t i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
			return s; /* not a type's name: memory reused */
	memcpy(s->name, buf, sizeof(buf));
	return s;
}

uint64_t pyobj_type_flags(struct pyobj_reader *r, uint64_t type)
{
	return type_info(r, type)->flags;
}

void pyobj_type_name(struct pyobj_reader *r, uint64_t obj, char *out, size_t len)
{
	snprintf(out, len, "%s", type_info(r, pyobj_type(r, obj))->name);
}

char *pyobj_str(struct pyobj_reader *r, uint64_t obj, size_t max)
{
	if (!(pyobj_type_flags(r, pyobj_type(r, obj)) & F_UNICODE))
		return NULL;
	r->reads += 2;
	return r->reads <= (r->limit ? r->limit : PYOBJ_MAX_READS)
		       ? pysym_read_str(r->pp->pid, &r->pp->layout, obj, max)
		       : NULL;
}

int pyobj_int(struct pyobj_reader *r, uint64_t obj, int64_t *v)
{
	int64_t size;
	uint32_t digits[3] = {0};
	if (!(pyobj_type_flags(r, pyobj_type(r, obj)) & F_LONG_SUBCLASS) ||
	    pyobj_read(r, obj + LONG_SIZE, &size, sizeof(size)))
		return -1;
	int sign = 1;
	uint64_t n;
	if (r->O->long_tag) { /* ndigits << 3 | sign bits (0 +, 1 zero, 2 -) */
		uint64_t tag = (uint64_t)size;
		n = tag >> 3;
		sign = 1 - (int)(tag & 3);
	} else {
		sign = size < 0 ? -1 : size > 0;
		n = size < 0 ? (uint64_t)-size : (uint64_t)size;
	}
	if (n > 3 || (n && pyobj_read(r, obj + LONG_DIGITS, digits, n * sizeof(digits[0]))))
		return -1;
	uint64_t mag = 0;
	for (uint64_t i = n; i-- > 0;) {
		if (mag >> (63 - PYLONG_SHIFT))
			return -1; /* past 64 bits */
		mag = (mag << PYLONG_SHIFT) | (digits[i] & ((1u << PYLONG_SHIFT) - 1));
	}
	if (mag > (uint64_t)INT64_MAX)
		return -1;
	*v = sign * (int64_t)mag;
	return 0;
}

/* --- dicts ------------------------------------------------------------------ */

struct keys {
	uint64_t entries; /* address of entry 0 */
	uint64_t n;	  /* dk_nentries, capped */
	size_t esize;	  /* 24: {hash, key, value}; 16: {key, value} */
};

static int read_keys(struct pyobj_reader *r, uint64_t keys, struct keys *k)
{
	uint8_t h[40];
	int64_t nentries;
	if (pyobj_read(r, keys, h, sizeof(h)))
		return -1;
	if (r->O->new_dict_keys) { /* 3.11+ */
		uint8_t log2_size = h[8], log2_index = h[9], kind = h[10];
		if (log2_size > 30 || log2_index > 34 || log2_index < log2_size || kind > 2)
			return -1;
		memcpy(&nentries, h + 24, sizeof(nentries));
		k->entries = keys + 32 + (1ULL << log2_index);
		k->esize = kind == 0 ? 24 : 16;
	} else { /* 3.9, 3.10: dk_size slots, each 1, 2, 4 or 8 bytes */
		int64_t size;
		memcpy(&size, h + 8, sizeof(size));
		memcpy(&nentries, h + 32, sizeof(nentries));
		if (size <= 0 || size > (1LL << 30) || (size & (size - 1)))
			return -1;
		uint64_t width = size <= 0xff		? 1
				 : size <= 0xffff	? 2
				 : size <= 0xffffffffLL ? 4
							: 8;
		k->entries = keys + 40 + (uint64_t)size * width;
		k->esize = 24;
	}
	if (nentries < 0)
		return -1;
	k->n = (uint64_t)nentries < PYOBJ_MAX_ENTRIES ? (uint64_t)nentries : PYOBJ_MAX_ENTRIES;
	return 0;
}

/* Each key of keys with its value: from the entry, or values[i] of a
 * split table (values != 0); in insertion order, or newest first. */
static int keys_each(struct pyobj_reader *r, uint64_t keys, uint64_t values, bool newest_first,
		     pyobj_item_fn fn, void *ctx)
{
	struct keys k;
	uint64_t buf[ENTRIES_PER_READ * 3], vals[ENTRIES_PER_READ];
	if (read_keys(r, keys, &k))
		return -1;
	size_t words = k.esize / 8, koff = words == 3 ? 1 : 0;
	for (uint64_t done = 0; done < k.n; done += ENTRIES_PER_READ) {
		size_t m = k.n - done < ENTRIES_PER_READ ? (size_t)(k.n - done) : ENTRIES_PER_READ;
		uint64_t at = newest_first ? k.n - done - m : done;
		if (pyobj_read(r, k.entries + at * k.esize, buf, m * k.esize))
			return -1;
		if (values && pyobj_read(r, values + at * 8, vals, m * 8))
			return -1;
		for (size_t j = 0; j < m; j++) {
			size_t i = newest_first ? m - 1 - j : j;
			uint64_t key = buf[i * words + koff];
			uint64_t val = values ? vals[i] : buf[i * words + koff + 1];
			if (!key || !val) /* deleted, or not set in this split table */
				continue;
			r->entry = at + i;
			int ret = fn(ctx, key, val);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int dict_each(struct pyobj_reader *r, uint64_t dict, bool newest_first, pyobj_item_fn fn,
		     void *ctx)
{
	uint64_t d[6];
	if (!(pyobj_type_flags(r, pyobj_type(r, dict)) & F_DICT_SUBCLASS) ||
	    pyobj_read(r, dict, d, sizeof(d)))
		return -1;
	uint64_t keys = d[MA_KEYS / 8], values = d[MA_VALUES / 8];
	return keys_each(r, keys, values ? values + r->O->split_values : 0, newest_first, fn, ctx);
}

int pyobj_dict_each(struct pyobj_reader *r, uint64_t dict, pyobj_item_fn fn, void *ctx)
{
	return dict_each(r, dict, false, fn, ctx);
}

int pyobj_dict_each_newest(struct pyobj_reader *r, uint64_t dict, pyobj_item_fn fn, void *ctx)
{
	return dict_each(r, dict, true, fn, ctx);
}

struct find {
	struct pyobj_reader *r;
	const char *name;
	size_t len;
	uint64_t value;
	uint64_t key, index; /* the key that matched, at that entry */
};

static int match_key(void *ctx, uint64_t key, uint64_t value)
{
	struct find *f = ctx;
	int64_t len;
	/* one read rejects most keys: a str of another length (sys.modules
	 * has hundreds) */
	if (pyobj_read(f->r, key + 16, &len, sizeof(len)) || len != (int64_t)f->len)
		return 0;
	char *s = pyobj_str(f->r, key, f->len + 1);
	int hit = s && !strcmp(s, f->name);
	free(s);
	if (hit) {
		f->value = value;
		f->key = key;
		f->index = f->r->entry;
	}
	return hit;
}

/* name's value in keys (values: a split table's, else 0): where the same
 * keys held it last time, when the same str is still there (two reads),
 * else by a look at every key. */
static int keys_find(struct pyobj_reader *r, uint64_t keys, uint64_t values, const char *name,
		     uint64_t *value)
{
	struct pyobj_key_slot *slot = NULL;
	struct keys k;
	/* a few slots, each compared: two names of one class must not evict
	 * each other */
	for (size_t i = 0; i < PYOBJ_KEY_CACHE && !slot; i++)
		if (r->keys[i].keys == keys && r->keys[i].name == name)
			slot = &r->keys[i];
	if (slot && !read_keys(r, keys, &k) && slot->index < k.n) {
		uint64_t e[3];
		size_t words = k.esize / 8, koff = words == 3 ? 1 : 0;
		uint64_t at = k.entries + slot->index * k.esize;
		if (!pyobj_read(r, at, e, k.esize) && e[koff] == slot->key &&
		    (values ? !pyobj_read(r, values + slot->index * 8, value, 8)
			    : (*value = e[koff + 1], true)) &&
		    *value)
			return 0;
	}
	struct find f = {r, name, strlen(name), 0, 0, 0};
	if (keys_each(r, keys, values, false, match_key, &f) != 1)
		return -1;
	if (!slot)
		slot = &r->keys[r->next_key++ % PYOBJ_KEY_CACHE];
	*slot = (struct pyobj_key_slot){keys, f.key, name, f.index};
	*value = f.value;
	return 0;
}

int pyobj_dict_get(struct pyobj_reader *r, uint64_t dict, const char *name, uint64_t *value)
{
	uint64_t d[6];
	if (!(pyobj_type_flags(r, pyobj_type(r, dict)) & F_DICT_SUBCLASS) ||
	    pyobj_read(r, dict, d, sizeof(d)))
		return -1;
	uint64_t keys = d[MA_KEYS / 8], values = d[MA_VALUES / 8];
	return keys_find(r, keys, values ? values + r->O->split_values : 0, name, value);
}

/* --- instance attributes ---------------------------------------------------- */

/* Values kept beside the object (not in a dict of its own), named by the
 * type's shared keys: values[i] goes with key i. */
static int split_get(struct pyobj_reader *r, uint64_t type, uint64_t values, const char *name,
		     uint64_t *value)
{
	uint64_t keys;
	if (read_u64(r, type + r->O->ht_cached_keys, &keys) || !keys)
		return -1;
	return keys_find(r, keys, values, name, value);
}

int pyobj_attr(struct pyobj_reader *r, uint64_t obj, const char *name, uint64_t *value)
{
	uint64_t type = pyobj_type(r, obj), flags = pyobj_type_flags(r, type), w = 0;
	int64_t off = 0;
	/* a dict at a fixed place in every version where the type says so: a
	 * subclass of a C type that has its own (asyncio's Future) */
	if (!type || pyobj_read(r, type + TP_DICTOFFSET, &off, sizeof(off)))
		return -1;
	if (off > 0 || r->O->attrs == ATTR_DICTOFFSET) {
		if (off <= 0 || off > 4096 || read_u64(r, obj + (uint64_t)off, &w))
			return -1;
		return pyobj_dict_get(r, w, name, value);
	}
	switch (r->O->attrs) {
	case ATTR_DICTOFFSET:
		return -1;     /* above */
	case ATTR_MANAGED_311: /* dict at obj - 24, else values at obj - 32 */
		if (!(flags & F_MANAGED_DICT) || read_u64(r, obj - 24, &w))
			return -1;
		if (w)
			return pyobj_dict_get(r, w, name, value);
		if (read_u64(r, obj - 32, &w) || !w)
			return -1;
		return split_get(r, type, w, name, value);
	case ATTR_TAGGED_312: /* obj - 24: a dict, or values tagged by bit 0 */
		if (!(flags & F_MANAGED_DICT) || read_u64(r, obj - 24, &w) || !w)
			return -1;
		if (w & 1)
			return split_get(r, type, w + 1, name, value);
		return pyobj_dict_get(r, w, name, value);
	case ATTR_INLINE_313: { /* values after the object while valid, else the dict */
		int64_t basic;
		uint8_t hdr[4]; /* capacity, size, embedded, valid */
		if ((flags & F_INLINE_VALUES) &&
		    !pyobj_read(r, type + TP_BASICSIZE, &basic, sizeof(basic)) && basic > 0 &&
		    basic < 4096 && !pyobj_read(r, obj + (uint64_t)basic, hdr, sizeof(hdr)) &&
		    hdr[3])
			return split_get(r, type, obj + (uint64_t)basic + 8, name, value);
		if (!(flags & F_MANAGED_DICT) || read_u64(r, obj - 24, &w) || !w)
			return -1;
		return pyobj_dict_get(r, w, name, value);
	}
	}
	return -1;
}

/* --- sets and sequences ------------------------------------------------------ */

/* PySetObject (every version): fill, used, mask, then the table pointer;
 * each entry {key, hash}, a dummy (deleted) one with hash -1. */
#define SET_MASK  32
#define SET_TABLE 40
#define SET_CHUNK 256

int pyobj_set_each(struct pyobj_reader *r, uint64_t set, pyobj_elem_fn fn, void *ctx)
{
	uint64_t mask = 0, table = 0;
	char name[56];
	pyobj_type_name(r, set, name, sizeof(name));
	if ((strcmp(name, "set") && strcmp(name, "frozenset")) ||
	    read_u64(r, set + SET_MASK, &mask) || read_u64(r, set + SET_TABLE, &table) || !table ||
	    mask >= PYOBJ_MAX_ENTRIES)
		return -1;
	struct {
		uint64_t key;
		int64_t hash;
	} e[SET_CHUNK];
	for (uint64_t i = 0; i <= mask; i += SET_CHUNK) {
		uint64_t n = mask + 1 - i < SET_CHUNK ? mask + 1 - i : SET_CHUNK;
		if (pyobj_read(r, table + i * sizeof(e[0]), e, n * sizeof(e[0])))
			return -1;
		for (uint64_t j = 0; j < n; j++) {
			if (!e[j].key || e[j].hash == -1)
				continue;
			int rc = fn(ctx, e[j].key);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* PyListObject: ob_size, then the item pointer; PyTupleObject: ob_size,
 * then the items themselves. */
#define SEQ_SIZE  16
#define SEQ_ITEMS 24

int pyobj_seq_each(struct pyobj_reader *r, uint64_t seq, pyobj_elem_fn fn, void *ctx)
{
	uint64_t flags = pyobj_type_flags(r, pyobj_type(r, seq)), items = seq + SEQ_ITEMS, n = 0;
	if (!(flags & (F_LIST_SUBCLASS | F_TUPLE_SUBCLASS)) || read_u64(r, seq + SEQ_SIZE, &n) ||
	    n > PYOBJ_MAX_ENTRIES || ((flags & F_LIST_SUBCLASS) && read_u64(r, items, &items)))
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t item;
		if (read_u64(r, items + 8 * i, &item))
			return -1;
		int rc = item ? fn(ctx, item) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

/* --- modules ---------------------------------------------------------------- */

uint64_t pyobj_sys_modules(struct pyobj_reader *r)
{
	uint64_t interp = 0, modules = 0, off = r->O->interp_modules;
	const struct pylayout *L = &r->pp->layout;
	if (read_u64(r, r->pp->runtime_addr + L->bpf.rt_interp_head, &interp) || !interp)
		return 0;
	/* 3.13+: where the interpreter itself says (it moved within 3.14) */
	if (r->O->debug_modules && r->pp->debug_offsets) {
		uint64_t v;
		if (!read_u64(r, r->pp->runtime_addr + r->O->debug_modules, &v) && v && v < 65536)
			off = v;
	}
	return read_u64(r, interp + off, &modules) ? 0 : modules;
}

int pyobj_module_global(struct pyobj_reader *r, const char *module, const char *name,
			uint64_t *value)
{
	uint64_t modules = pyobj_sys_modules(r), mod, dict;
	if (!modules || pyobj_dict_get(r, modules, module, &mod) ||
	    read_u64(r, mod + MD_DICT, &dict))
		return -1;
	return pyobj_dict_get(r, dict, name, value);
}
