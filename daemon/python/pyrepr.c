/* pyrepr.c - short reprs of objects in another process, and frames'
 * variables, read with the bounded object reader.
 *
 * Builtin types are known by name and by being static (not heap) types: a
 * class of the program called "str", and every subclass of a builtin, is
 * shown as <Name object at 0x...>, never read as what it claims to be.
 * The object fields (x86_64, GIL builds), checked on 3.9.18, 3.10.13,
 * 3.11.7, 3.12.1, 3.13.0/3.13.5, 3.14.10 and 3.15.2: ob_size 16; list
 * ob_item (a pointer) 24; tuple ob_item 24, 32 from 3.14 (a cached hash
 * before it); float ob_fval 16; bytes ob_sval 32; set fill, used, mask,
 * table 16, 24, 32, 40, entries {key, hash}; cell ob_ref 16. */
#include "python/pyrepr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OB_SIZE	      16
#define LIST_ITEMS    24
#define FLOAT_VALUE   16
#define BYTES_DATA    32
#define SET_USED      24
#define SET_MASK      32
#define SET_TABLE     40
#define CELL_REF      16
#define LONG_SIZE     16
#define LONG_DIGITS   24
#define F_HEAPTYPE    (1UL << 9)
#define BIG_DIGITS    40 /* 30-bit digits of an int shown whole: 361 decimal digits */
#define SET_MAX_SLOTS 65536

enum kind {
	K_OTHER,
	K_STR,
	K_BYTES,
	K_INT,
	K_BOOL,
	K_FLOAT,
	K_NONE,
	K_LIST,
	K_TUPLE,
	K_DICT,
	K_SET,
	K_FROZENSET,
	K_CELL
};

static const struct {
	const char *name;
	enum kind kind;
} builtins[] = {
	{"str", K_STR},	  {"bytes", K_BYTES},	      {"int", K_INT},
	{"bool", K_BOOL}, {"float", K_FLOAT},	      {"NoneType", K_NONE},
	{"list", K_LIST}, {"tuple", K_TUPLE},	      {"dict", K_DICT},
	{"set", K_SET},	  {"frozenset", K_FROZENSET}, {"cell", K_CELL},
};

/* The repr being built: at most PYREPR_MAX_CHARS characters; past them,
 * cut back to leave room for "...". */
struct out {
	char *buf;
	size_t len;
	unsigned chars;
	bool full;
	uint64_t seen[PYREPR_MAX_DEPTH + 1]; /* the containers being shown */
	int depth;
};

static void put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && !o->full; i++) {
		unsigned char c = (unsigned char)s[i];
		bool lead = (c & 0xc0) != 0x80;
		if ((lead && o->chars >= PYREPR_MAX_CHARS) || o->len + 1 >= PYREPR_BUF) {
			o->full = true;
			break;
		}
		o->buf[o->len++] = (char)c;
		o->chars += lead;
	}
	o->buf[o->len] = 0;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void finish(struct out *o)
{
	if (!o->full)
		return;
	/* back to PYREPR_MAX_CHARS - 3 characters, then "..." */
	while (o->len && o->chars > PYREPR_MAX_CHARS - 3) {
		while (o->len && ((unsigned char)o->buf[o->len - 1] & 0xc0) == 0x80)
			o->len--;
		if (o->len)
			o->len--;
		o->chars--;
	}
	memcpy(o->buf + o->len, "...", 4);
	o->len += 3;
}

static enum kind kind_of(struct pyobj_reader *r, uint64_t obj, char *type)
{
	uint64_t t = pyobj_type(r, obj);
	pyobj_type_name(r, obj, type, PYREPR_TYPE);
	if (!t || (pyobj_type_flags(r, t) & F_HEAPTYPE))
		return K_OTHER;
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (!strcmp(type, builtins[i].name))
			return builtins[i].kind;
	return K_OTHER;
}

static void put_other(struct out *o, const char *type, uint64_t obj)
{
	char buf[PYREPR_TYPE + 40];
	snprintf(buf, sizeof(buf), "<%s object at 0x%llx>", type, (unsigned long long)obj);
	puts_(o, buf);
}

/* Text between quotes, escaped as Python's repr does for what it shows. */
static void put_quoted(struct out *o, const char *prefix, const uint8_t *s, size_t n, bool bytes,
		       bool cut)
{
	char q = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
	char esc[8];
	puts_(o, prefix);
	put(o, &q, 1);
	for (size_t i = 0; i < n && !o->full; i++) {
		uint8_t c = s[i];
		if (c == '\\' || c == (uint8_t)q) {
			snprintf(esc, sizeof(esc), "\\%c", c);
		} else if (c == '\n' || c == '\r' || c == '\t') {
			snprintf(esc, sizeof(esc), "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
		} else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		} else {
			put(o, (const char *)&s[i], 1);
			continue;
		}
		puts_(o, esc);
	}
	if (cut)
		o->full = true; /* more than is shown: "..." in place of the quote */
	else
		put(o, &q, 1);
}

static void put_str(struct pyobj_reader *r, struct out *o, uint64_t obj)
{
	char *s = pyobj_str(r, obj, PYREPR_MAX_CHARS + 1);
	int64_t len = 0;
	if (!s) {
		puts_(o, "<unreadable str>");
		return;
	}
	pyobj_read(r, obj + OB_SIZE, &len, sizeof(len)); /* PyASCIIObject.length */
	size_t n = strlen(s);
	put_quoted(o, "", (const uint8_t *)s, n, false, len > PYREPR_MAX_CHARS);
	free(s);
}

static void put_bytes(struct pyobj_reader *r, struct out *o, uint64_t obj)
{
	int64_t size;
	uint8_t buf[PYREPR_MAX_CHARS];
	if (pyobj_read(r, obj + OB_SIZE, &size, sizeof(size)) || size < 0) {
		puts_(o, "<unreadable bytes>");
		return;
	}
	size_t n = size < (int64_t)sizeof(buf) ? (size_t)size : sizeof(buf);
	if (n && pyobj_read(r, obj + BYTES_DATA, buf, n)) {
		puts_(o, "<unreadable bytes>");
		return;
	}
	put_quoted(o, "b", buf, n, true, (size_t)size > n);
}

/* A magnitude of 30-bit digits, least significant first, in decimal. */
static void put_decimal(struct out *o, bool negative, uint32_t *d, size_t n)
{
	char text[BIG_DIGITS * 10 + 2];
	size_t at = sizeof(text) - 1;
	text[at] = 0;
	while (n && !d[n - 1])
		n--;
	do {
		/* divide by 10^9, keep the remainder's nine digits */
		uint64_t rem = 0;
		for (size_t i = n; i-- > 0;) {
			uint64_t cur = (rem << 30) | d[i];
			d[i] = (uint32_t)(cur / 1000000000u);
			rem = cur % 1000000000u;
		}
		while (n && !d[n - 1])
			n--;
		for (int k = 0; k < 9 && at > 1; k++) {
			text[--at] = (char)('0' + rem % 10);
			rem /= 10;
			if (!n && !rem)
				break;
		}
	} while (n && at > 1);
	if (negative)
		text[--at] = '-';
	puts_(o, text + at);
}

static void put_int(struct pyobj_reader *r, struct out *o, uint64_t obj, bool is_bool)
{
	int64_t v, size;
	char buf[32];
	if (!pyobj_int(r, obj, &v)) {
		if (is_bool)
			puts_(o, v ? "True" : "False");
		else {
			snprintf(buf, sizeof(buf), "%lld", (long long)v);
			puts_(o, buf);
		}
		return;
	}
	if (is_bool || pyobj_read(r, obj + LONG_SIZE, &size, sizeof(size))) {
		puts_(o, "<unreadable int>");
		return;
	}
	bool negative;
	uint64_t n;
	if (r->O->long_tag) {
		n = (uint64_t)size >> 3;
		negative = (size & 3) == 2;
	} else {
		negative = size < 0;
		n = negative ? (uint64_t)-size : (uint64_t)size;
	}
	uint32_t d[BIG_DIGITS], top[2] = {0};
	if (n > BIG_DIGITS) {
		/* its decimal length from the top two digits: exact but within
		 * rounding of a power of ten, where it may be one short */
		if (n > (1u << 26) || pyobj_read(r, obj + LONG_DIGITS + (n - 2) * 4, top, 8) ||
		    !(top[1] &= (1u << 30) - 1)) {
			puts_(o, "<unreadable int>");
			return;
		}
		double lead = top[1] + (double)(top[0] & ((1u << 30) - 1)) / (1u << 30);
		double digits = (double)(n - 1) * 30 * log10(2.0) + log10(lead);
		snprintf(buf, sizeof(buf), "<int of about %llu digits>",
			 (unsigned long long)floor(digits) + 1);
		puts_(o, buf);
		return;
	}
	if (!n || pyobj_read(r, obj + LONG_DIGITS, d, n * sizeof(d[0]))) {
		puts_(o, "<unreadable int>");
		return;
	}
	for (size_t i = 0; i < n; i++)
		d[i] &= (1u << 30) - 1;
	put_decimal(o, negative, d, (size_t)n);
}

/* The shortest text that reads back as the same double, as Python's. */
static void put_float(struct pyobj_reader *r, struct out *o, uint64_t obj)
{
	double v;
	char buf[40];
	if (pyobj_read(r, obj + FLOAT_VALUE, &v, sizeof(v))) {
		puts_(o, "<unreadable float>");
		return;
	}
	if (isnan(v) || isinf(v)) {
		puts_(o, isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
		return;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (!strpbrk(buf, ".e"))
		strcat(buf, ".0");
	puts_(o, buf);
}

static void put_obj(struct pyobj_reader *r, struct out *o, uint64_t obj);

static bool entered(struct out *o, uint64_t obj)
{
	for (int i = 0; i < o->depth; i++)
		if (o->seen[i] == obj)
			return true;
	return false;
}

/* Elements at items[0..n) of a sequence of size, between open and close. */
static void put_items(struct pyobj_reader *r, struct out *o, const uint64_t *items, size_t n,
		      int64_t size, const char *open, const char *close)
{
	puts_(o, open);
	for (size_t i = 0; i < n && !o->full; i++) {
		if (i)
			puts_(o, ", ");
		put_obj(r, o, items[i]);
	}
	if (size > (int64_t)n)
		puts_(o, ", ...");
	puts_(o, close);
}

static void put_sequence(struct pyobj_reader *r, struct out *o, uint64_t obj, enum kind k)
{
	int64_t size;
	uint64_t items[PYREPR_MAX_ITEMS], at = obj + (r->O->minor >= 14 ? 32 : 24);
	if (pyobj_read(r, obj + OB_SIZE, &size, sizeof(size)) || size < 0 ||
	    (k == K_LIST && pyobj_read(r, obj + LIST_ITEMS, &at, sizeof(at)))) {
		puts_(o, "<unreadable>");
		return;
	}
	size_t n = size < PYREPR_MAX_ITEMS ? (size_t)size : PYREPR_MAX_ITEMS;
	if (n && pyobj_read(r, at, items, n * sizeof(items[0]))) {
		puts_(o, "<unreadable>");
		return;
	}
	if (k == K_LIST)
		put_items(r, o, items, n, size, "[", "]");
	else
		put_items(r, o, items, n, size, "(", size == 1 ? ",)" : ")");
}

struct pairs {
	uint64_t key[PYREPR_MAX_ITEMS], value[PYREPR_MAX_ITEMS];
	size_t n;
};

static int take_pair(void *ctx, uint64_t key, uint64_t value)
{
	struct pairs *p = ctx;
	p->key[p->n] = key;
	p->value[p->n] = value;
	return ++p->n == PYREPR_MAX_ITEMS;
}

static void put_dict(struct pyobj_reader *r, struct out *o, uint64_t obj)
{
	struct pairs p = {.n = 0};
	int64_t used = 0;
	if (pyobj_read(r, obj + OB_SIZE, &used, sizeof(used)) ||
	    pyobj_dict_each(r, obj, take_pair, &p) < 0) {
		puts_(o, "<unreadable dict>");
		return;
	}
	puts_(o, "{");
	for (size_t i = 0; i < p.n && !o->full; i++) {
		if (i)
			puts_(o, ", ");
		put_obj(r, o, p.key[i]);
		puts_(o, ": ");
		put_obj(r, o, p.value[i]);
	}
	if (used > (int64_t)p.n)
		puts_(o, ", ...");
	puts_(o, "}");
}

static void put_set(struct pyobj_reader *r, struct out *o, uint64_t obj, bool frozen)
{
	int64_t used, mask;
	uint64_t table, keys[PYREPR_MAX_ITEMS], entry[2 * 64];
	size_t n = 0;
	if (pyobj_read(r, obj + SET_USED, &used, sizeof(used)) ||
	    pyobj_read(r, obj + SET_MASK, &mask, sizeof(mask)) ||
	    pyobj_read(r, obj + SET_TABLE, &table, sizeof(table)) || used < 0 || mask < 0 ||
	    mask >= SET_MAX_SLOTS) {
		puts_(o, "<unreadable set>");
		return;
	}
	/* a slot is {key, hash}: empty (no key) or a deleted one's dummy
	 * (hash -1, which no key has) are skipped */
	for (int64_t at = 0; at <= mask && n < PYREPR_MAX_ITEMS && n < (size_t)used; at += 64) {
		size_t m = mask + 1 - at < 64 ? (size_t)(mask + 1 - at) : 64;
		if (pyobj_read(r, table + (uint64_t)at * 16, entry, m * 16))
			break;
		for (size_t i = 0; i < m && n < PYREPR_MAX_ITEMS; i++)
			if (entry[2 * i] && (int64_t)entry[2 * i + 1] != -1)
				keys[n++] = entry[2 * i];
	}
	if (!used) {
		puts_(o, frozen ? "frozenset()" : "set()");
		return;
	}
	put_items(r, o, keys, n, used, frozen ? "frozenset({" : "{", frozen ? "})" : "}");
}

static void put_container(struct pyobj_reader *r, struct out *o, uint64_t obj, enum kind k)
{
	static const char *const elided[] = {[K_LIST] = "[...]",
					     [K_TUPLE] = "(...)",
					     [K_DICT] = "{...}",
					     [K_SET] = "{...}",
					     [K_FROZENSET] = "frozenset({...})"};
	if (o->depth >= PYREPR_MAX_DEPTH || entered(o, obj)) {
		puts_(o, elided[k]); /* as deep as shown, or inside itself */
		return;
	}
	o->seen[o->depth++] = obj;
	if (k == K_LIST || k == K_TUPLE)
		put_sequence(r, o, obj, k);
	else if (k == K_DICT)
		put_dict(r, o, obj);
	else
		put_set(r, o, obj, k == K_FROZENSET);
	o->depth--;
}

static void put_obj(struct pyobj_reader *r, struct out *o, uint64_t obj)
{
	char type[PYREPR_TYPE];
	enum kind k = kind_of(r, obj, type);
	switch (k) {
	case K_STR:
		put_str(r, o, obj);
		return;
	case K_BYTES:
		put_bytes(r, o, obj);
		return;
	case K_INT:
	case K_BOOL:
		put_int(r, o, obj, k == K_BOOL);
		return;
	case K_FLOAT:
		put_float(r, o, obj);
		return;
	case K_NONE:
		puts_(o, "None");
		return;
	case K_LIST:
	case K_TUPLE:
	case K_DICT:
	case K_SET:
	case K_FROZENSET:
		put_container(r, o, obj, k);
		return;
	case K_CELL:
	case K_OTHER:
		break;
	}
	if (!strcmp(type, "?"))
		puts_(o, "<unreadable>");
	else
		put_other(o, type, obj);
}

void pyrepr(struct pyobj_reader *r, uint64_t obj, char *out, char *type)
{
	struct out o = {.buf = out};
	out[0] = 0;
	r->limit = r->reads + PYREPR_MAX_READS;
	pyobj_type_name(r, obj, type, PYREPR_TYPE);
	put_obj(r, &o, obj);
	finish(&o);
	r->limit = 0;
}

/* --- a frame's variables ---------------------------------------------------- */

/* Where a frame keeps its variables and its code names them, per minor
 * version (checked on every interpreter named above by reading a live
 * frame's own through ctypes). */
static const struct locals_layout {
	unsigned minor;
	uint16_t fr_localsplus; /* f_localsplus (<= 3.10) or localsplus */
	uint16_t co_argcount, co_kwonlyargcount;
	uint16_t co_nlocals;		   /* co_nlocals (<= 3.10) or co_nlocalsplus */
	uint16_t co_names;		   /* co_varnames (<= 3.10) or co_localsplusnames */
	uint16_t co_kinds;		   /* co_localspluskinds (3.11+), else 0 */
	uint16_t co_cellvars, co_freevars; /* <= 3.10, else 0 */
	bool tagged;			   /* 3.14+: localsplus holds _PyStackRefs */
} locals_table[] = {
	{9, 360, 16, 24, 28, 72, 0, 88, 80, false}, {10, 352, 16, 24, 28, 72, 0, 88, 80, false},
	{11, 72, 56, 64, 76, 96, 104, 0, 0, false}, {12, 72, 52, 60, 72, 96, 104, 0, 0, false},
	{13, 72, 52, 60, 72, 96, 104, 0, 0, false}, {14, 80, 52, 60, 72, 96, 104, 0, 0, true},
	{15, 80, 52, 60, 72, 96, 104, 0, 0, true},
};

#define CO_VARARGS     0x4
#define CO_VARKEYWORDS 0x8
#define KIND_HIDDEN    0x10 /* 3.12+: a comprehension's own, inlined */
#define KIND_CELL      0x40
#define KIND_FREE      0x80
#define TAG_BITS       3ULL
#define TAG_INT	       3ULL

static const struct locals_layout *locals_layout(unsigned minor)
{
	for (size_t i = 0; i < sizeof(locals_table) / sizeof(locals_table[0]); i++)
		if (locals_table[i].minor == minor)
			return &locals_table[i];
	return NULL;
}

/* A tuple of names: up to max pointers to them, and its size (capped at
 * PYLOCALS_MAX: no frame shows more). */
static int64_t name_tuple(struct pyobj_reader *r, uint64_t tuple, uint64_t *names, size_t max)
{
	int64_t n;
	if (!tuple || pyobj_read(r, tuple + OB_SIZE, &n, sizeof(n)) || n < 0)
		return -1;
	size_t m = n < (int64_t)max ? (size_t)n : max;
	if (m && pyobj_read(r, tuple + (r->O->minor >= 14 ? 32 : 24), names, m * 8))
		return -1;
	return n < PYLOCALS_MAX ? n : PYLOCALS_MAX;
}

/* The value a slot holds: a cell's content for cell and free variables. */
static void slot_value(struct pyobj_reader *r, uint64_t v, struct pylocal *l)
{
	char type[PYREPR_TYPE];
	l->value = v;
	if (l->kind != PYLOCAL_LOCAL && kind_of(r, v, type) == K_CELL) {
		uint64_t in = 0;
		l->value = pyobj_read(r, v + CELL_REF, &in, sizeof(in)) ? v : in;
	}
}

int pylocals_read(struct pyobj_reader *r, uint64_t frame, uint64_t code, struct pylocal *out,
		  size_t max, size_t *total)
{
	const struct locals_layout *F = locals_layout(r->O->minor);
	uint64_t names[PYLOCALS_MAX];
	uint64_t *slots = NULL;
	uint8_t kinds[PYLOCALS_MAX];
	int32_t argc[2];
	uint32_t flags = 0;
	uint64_t ptrs[3] = {0};
	int64_t n = 0, ncells = 0, nfree = 0;
	size_t stored = 0;
	int ret = -1;

	*total = 0;
	if (!F || pyobj_read(r, code + F->co_argcount, &argc[0], 4) ||
	    pyobj_read(r, code + F->co_kwonlyargcount, &argc[1], 4) ||
	    pyobj_read(r, code + r->pp->layout.co_flags, &flags, 4) ||
	    pyobj_read(r, code + F->co_names, &ptrs[0], 8))
		return -1;
	memset(kinds, 0, sizeof(kinds));
	n = name_tuple(r, ptrs[0], names, PYLOCALS_MAX);
	if (n < 0)
		return -1;
	if (F->co_kinds) {
		uint64_t kb;
		size_t m = n < PYLOCALS_MAX ? (size_t)n : PYLOCALS_MAX;
		if (pyobj_read(r, code + F->co_kinds, &kb, 8) ||
		    (m && pyobj_read(r, kb + BYTES_DATA, kinds, m)))
			return -1;
	} else {
		/* <= 3.10: varnames, then cellvars and freevars after them */
		if (pyobj_read(r, code + F->co_cellvars, &ptrs[1], 8) ||
		    pyobj_read(r, code + F->co_freevars, &ptrs[2], 8))
			return -1;
		size_t at = n < PYLOCALS_MAX ? (size_t)n : PYLOCALS_MAX;
		ncells = name_tuple(r, ptrs[1], names + at, PYLOCALS_MAX - at);
		at += ncells > 0 ? (size_t)ncells : 0;
		at = at < PYLOCALS_MAX ? at : PYLOCALS_MAX;
		nfree = name_tuple(r, ptrs[2], names + at, PYLOCALS_MAX - at);
		if (ncells < 0 || nfree < 0)
			return -1;
		for (int64_t i = 0; i < ncells && n + i < PYLOCALS_MAX; i++)
			kinds[n + i] = KIND_CELL;
		for (int64_t i = 0; i < nfree && n + ncells + i < PYLOCALS_MAX; i++)
			kinds[n + ncells + i] = KIND_FREE;
	}
	int64_t all = n + ncells + nfree;
	size_t m = all < PYLOCALS_MAX ? (size_t)all : PYLOCALS_MAX;
	int64_t nargs =
		(int64_t)argc[0] + argc[1] + !!(flags & CO_VARARGS) + !!(flags & CO_VARKEYWORDS);
	slots = calloc(m ? m : 1, sizeof(*slots));
	if (!slots || (m && pyobj_read(r, frame + F->fr_localsplus, slots, m * 8)))
		goto out;
	for (size_t i = 0; i < m; i++) {
		uint64_t v = slots[i];
		if (kinds[i] & KIND_HIDDEN)
			continue;
		if (F->tagged && (v & TAG_BITS) != TAG_INT)
			v &= ~TAG_BITS;
		if (!v)
			continue; /* not assigned (yet, or any more) */
		(*total)++;
		if (stored >= max)
			continue;
		struct pylocal *l = &out[stored];
		memset(l, 0, sizeof(*l));
		char *name = pyobj_str(r, names[i], sizeof(l->name) - 1);
		snprintf(l->name, sizeof(l->name), "%s", name ? name : "?");
		free(name);
		l->arg = (int64_t)i < nargs;
		l->kind = (kinds[i] & KIND_FREE)   ? PYLOCAL_FREE
			  : (kinds[i] & KIND_CELL) ? PYLOCAL_CELL
						   : PYLOCAL_LOCAL;
		if (F->tagged && (v & TAG_BITS) == TAG_INT) {
			l->is_tagged = true;
			l->tagged = (int64_t)v >> 2;
		} else {
			slot_value(r, v, l);
		}
		stored++;
	}
	ret = (int)stored;
out:
	free(slots);
	return ret;
}
