/* pyobject.h - a bounded reader of Python objects in another process:
 * types, str, int, dicts (combined and split), instance attributes and the
 * interpreter's sys.modules, for CPython 3.9-3.15.  Everything is read with
 * process_vm_readv (never executed, never written), every length is capped
 * and every read counted: a corrupt or changing target costs a failed
 * read, never more than PYOBJ_MAX_READS of them. */
#ifndef PYBPF_PYOBJECT_H
#define PYBPF_PYOBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "python/pyprocess.h"

#define PYOBJ_MAX_READS	  4096	/* per reader: what one question may cost */
#define PYOBJ_MAX_ENTRIES 65536 /* dict entries looked at, at most */

/* Where each object field is, per minor version (pyobject.c's table; the
 * offsets measured on 3.9.2/3.9.18, 3.10.13, 3.11.7, 3.12.1, 3.13.0/3.13.5,
 * 3.14.10 and 3.15.2). */
struct pyobj_layout {
	unsigned minor;
	uint16_t ht_cached_keys; /* PyHeapTypeObject */
	uint16_t interp_modules; /* PyInterpreterState: sys.modules (table) */
	uint16_t debug_modules;	 /* its slot in _Py_DebugOffsets (3.13+), else 0 */
	uint16_t split_values;	 /* values[0] in PyDictValues: 8 from 3.13 (a header) */
	bool new_dict_keys;	 /* 3.11+: log2 sizes, dk_kind, unicode entries */
	bool long_tag;		 /* 3.12+: int's lv_tag */
	enum { ATTR_DICTOFFSET, ATTR_MANAGED_311, ATTR_TAGGED_312, ATTR_INLINE_313 } attrs;
};

#define PYOBJ_TYPE_CACHE 32

/* A type met already: its name and flags (a type outlives its objects;
 * the cache lives as long as one reader, one question). */
struct pyobj_type_slot {
	uint64_t addr, flags;
	char name[56];
};

#define PYOBJ_KEY_CACHE 8

/* Where a name was found in a dict's keys: instances of one class share
 * their keys, so the next instance's attribute is one read away. */
struct pyobj_key_slot {
	uint64_t keys, key; /* the keys object, and the str found at index */
	const char *name;   /* the name asked (compared by address: literals) */
	uint64_t index;
};

struct pyobj_reader {
	const struct pyprocess *pp;
	const struct pyobj_layout *O;
	unsigned reads; /* so far; reads past the limit fail */
	unsigned limit; /* 0: PYOBJ_MAX_READS */
	struct pyobj_type_slot types[PYOBJ_TYPE_CACHE];
	struct pyobj_key_slot keys[PYOBJ_KEY_CACHE];
	unsigned next_key; /* the slot a new key goes to, in turn */
	uint64_t entry;	   /* the index of the entry keys_each gives its callback */
};

/* 0, or -1 when pp's version has no record. */
int pyobj_reader_init(struct pyobj_reader *r, const struct pyprocess *pp);
/* One bounded read of the target: 0 or -1. */
int pyobj_read(struct pyobj_reader *r, uint64_t addr, void *dst, size_t len);
/* The object's type (0 on failure), and that type's name ("?" if unread). */
uint64_t pyobj_type(struct pyobj_reader *r, uint64_t obj);
void pyobj_type_name(struct pyobj_reader *r, uint64_t obj, char *out, size_t len);
/* A type's tp_flags (0 when unread). */
uint64_t pyobj_type_flags(struct pyobj_reader *r, uint64_t type);
/* A str (exactly, or a compact subclass) as UTF-8, at most max code
 * points; malloc'd, NULL when obj is no readable str. */
char *pyobj_str(struct pyobj_reader *r, uint64_t obj, size_t max);
/* An int (or bool) that fits 64 bits: 0 and *v, else -1. */
int pyobj_int(struct pyobj_reader *r, uint64_t obj, int64_t *v);

/* Each (key, value) of a dict, in its order, until fn returns nonzero
 * (which is returned).  -1 when it is no readable dict. */
typedef int (*pyobj_item_fn)(void *ctx, uint64_t key, uint64_t value);
int pyobj_dict_each(struct pyobj_reader *r, uint64_t dict, pyobj_item_fn fn, void *ctx);
/* The same, newest entry first (what was added last is found first). */
int pyobj_dict_each_newest(struct pyobj_reader *r, uint64_t dict, pyobj_item_fn fn, void *ctx);
/* Each element of a set (or frozenset) until fn returns nonzero (which is
 * returned); at most PYOBJ_MAX_ENTRIES slots looked at.  -1 when it is no
 * readable set. */
typedef int (*pyobj_elem_fn)(void *ctx, uint64_t elem);
int pyobj_set_each(struct pyobj_reader *r, uint64_t set, pyobj_elem_fn fn, void *ctx);
/* Each element of a list or tuple (at most PYOBJ_MAX_ENTRIES), likewise. */
int pyobj_seq_each(struct pyobj_reader *r, uint64_t seq, pyobj_elem_fn fn, void *ctx);
/* The value under the str key name: 0 and *value, else -1. */
int pyobj_dict_get(struct pyobj_reader *r, uint64_t dict, const char *name, uint64_t *value);
/* An instance attribute (what obj.__dict__[name] holds, wherever the
 * version keeps it: a dict, a managed dict, split or inline values). */
int pyobj_attr(struct pyobj_reader *r, uint64_t obj, const char *name, uint64_t *value);
/* The main interpreter's sys.modules dict, or 0. */
uint64_t pyobj_sys_modules(struct pyobj_reader *r);
/* A module's global called name (sys.modules[module].__dict__[name]). */
int pyobj_module_global(struct pyobj_reader *r, const char *module, const char *name,
			uint64_t *value);

#endif
