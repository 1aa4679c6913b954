/* pysymbols.c - code objects to qualified name, file and line. */
#include "python/symbols.h"

#include <stdlib.h>
#include <string.h>

#include "python/linetable.h"
#include "sys/htab.h"
#include "sys/memread.h"

#define PYSYM_MAX_ENTRIES   65536
#define PYSYM_MAX_STR	    4096
#define PYSYM_MAX_LINETABLE (256u << 10)
#define CODE_HEADER	    256 /* bytes of a code object read at once */

struct pysym_cache {
	pid_t pid;
	struct pylayout layout;
	const struct pylayout *L; /* &layout */
	unsigned minor;
	struct pysym **syms; /* each allocated alone: pointers stay valid */
	size_t n, cap;
	struct htab index; /* code address -> syms[] */
};

struct pysym_cache *pysym_cache_new(pid_t pid, const struct pylayout *L, unsigned minor)
{
	struct pysym_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->pid = pid;
	c->layout = *L;
	c->L = &c->layout;
	c->minor = minor;
	if (htab_init(&c->index, 32)) { /* grows: most processes run few code objects */
		free(c);
		return NULL;
	}
	return c;
}

static void sym_free(struct pysym *s)
{
	if (!s)
		return;
	free(s->qualname);
	free(s->filename);
	free(s->linetable);
	free(s);
}

static void clear_syms(struct pysym_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		sym_free(c->syms[i]);
	c->n = 0;
	htab_clear(&c->index);
}

void pysym_cache_free(struct pysym_cache *c)
{
	if (!c)
		return;
	clear_syms(c);
	free(c->syms);
	htab_free(&c->index);
	free(c);
}

size_t pysym_cache_size(const struct pysym_cache *c)
{
	return c->n;
}

static void append_utf8(char *out, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | ((cp >> 18) & 0x07));
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* Compact non-ASCII strings store kind-byte code points. */
static char *decode_compact(const uint8_t *raw, size_t len, unsigned kind)
{
	char *out = malloc(len * 4 + 1);
	size_t n = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		uint32_t cp = kind == 1	  ? raw[i]
			      : kind == 2 ? ((const uint16_t *)raw)[i]
					  : ((const uint32_t *)raw)[i];
		append_utf8(out, &n, cp > 0x10ffff ? 0xfffd : cp);
	}
	out[n] = 0;
	return out;
}

char *pysym_read_str(pid_t pid, const struct pylayout *L, uint64_t obj, size_t max)
{
	uint8_t hdr[128];
	if (!obj || L->compact_data > sizeof(hdr) || mem_read(pid, obj, hdr, L->compact_data))
		return NULL;
	int64_t len;
	uint32_t state;
	memcpy(&len, hdr + L->ascii_length, sizeof(len));
	memcpy(&state, hdr + L->ascii_state, sizeof(state));
	unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
	if (len < 0 || !compact || (kind != 1 && kind != 2 && kind != 4))
		return NULL;
	if ((size_t)len > max)
		len = (int64_t)max;
	size_t bytes = (size_t)len * (ascii ? 1 : kind);
	uint8_t *raw = malloc(bytes + 1);
	if (!raw)
		return NULL;
	uint64_t data = obj + (ascii ? L->ascii_data : L->compact_data);
	if (mem_read(pid, data, raw, bytes)) {
		free(raw);
		return NULL;
	}
	if (ascii) {
		/* an ASCII string holds ASCII: anything else is memory reused
		 * under it (a process tearing down frees its names first) */
		for (size_t i = 0; i < bytes; i++)
			if (!raw[i] || raw[i] >= 0x80) {
				free(raw);
				return NULL;
			}
		raw[bytes] = 0;
		return (char *)raw;
	}
	char *s = decode_compact(raw, (size_t)len, kind);
	free(raw);
	return s;
}

static uint8_t *read_bytes(pid_t pid, const struct pylayout *L, uint64_t obj, size_t *len)
{
	int64_t size;
	if (!obj || mem_read(pid, obj + L->var_size, &size, sizeof(size)))
		return NULL;
	if (size < 0 || (uint64_t)size > PYSYM_MAX_LINETABLE)
		return NULL;
	uint8_t *buf = malloc((size_t)size + 1);
	if (!buf)
		return NULL;
	if (mem_read(pid, obj + L->bytes_sval, buf, (size_t)size)) {
		free(buf);
		return NULL;
	}
	*len = (size_t)size;
	return buf;
}

uint32_t pysym_tag(const struct pylayout *L, const uint8_t *hdr)
{
	uint32_t h = 2166136261u, v;
	for (int i = 0; i < 5; i++) {
		memcpy(&v, hdr + L->bpf.co_tag + 4 * i, sizeof(v));
		h = (h ^ v) * 16777619u;
	}
	return h;
}

static uint64_t field_ptr(const uint8_t *hdr, uint16_t off)
{
	uint64_t v = 0;
	if (off != PYL_NO_FIELD && off <= CODE_HEADER - 8)
		memcpy(&v, hdr + off, sizeof(v));
	return v;
}

static int read_code(struct pysym_cache *c, uint64_t code, uint32_t tag, struct pysym *s)
{
	const struct pylayout *L = c->L;
	uint8_t hdr[CODE_HEADER];
	if (mem_read(c->pid, code, hdr, sizeof(hdr)))
		return -1;
	s->code = code;
	s->tag = pysym_tag(L, hdr);
	if (tag && s->tag != tag)
		return -1;
	memcpy(&s->firstlineno, hdr + L->co_firstlineno, sizeof(int));
	uint16_t name_off = L->co_qualname != PYL_NO_FIELD ? L->co_qualname : L->co_name;
	s->qualname = pysym_read_str(c->pid, L, field_ptr(hdr, name_off), PYSYM_MAX_STR);
	s->filename = pysym_read_str(c->pid, L, field_ptr(hdr, L->co_filename), PYSYM_MAX_STR);
	s->linetable = read_bytes(c->pid, L, field_ptr(hdr, L->co_linetable), &s->linetable_len);
	return s->qualname && s->filename ? 0 : -1;
}

struct sym_key {
	const struct pysym_cache *c;
	uint64_t code;
	uint32_t tag;
};

static bool sym_matches(const void *ctx, uint32_t i)
{
	const struct sym_key *k = ctx;
	const struct pysym *s = k->c->syms[i];
	return s->code == k->code && (!k->tag || s->tag == k->tag);
}

const struct pysym *pysym_get(struct pysym_cache *c, uint64_t code, uint32_t tag)
{
	struct sym_key k = {c, code, tag};
	if (!code)
		return NULL;
	int64_t i = htab_get(&c->index, code, sym_matches, &k);
	if (i >= 0)
		return c->syms[i];
	struct pysym *fresh = calloc(1, sizeof(*fresh));
	if (!fresh || read_code(c, code, tag, fresh)) {
		sym_free(fresh);
		return NULL;
	}
	if (c->n >= PYSYM_MAX_ENTRIES)
		clear_syms(c);
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 256;
		struct pysym **ns = realloc(c->syms, ncap * sizeof(*ns));
		if (!ns) {
			sym_free(fresh);
			return NULL;
		}
		c->syms = ns;
		c->cap = ncap;
	}
	if (htab_put(&c->index, code, (uint32_t)c->n)) {
		sym_free(fresh);
		return NULL;
	}
	c->syms[c->n++] = fresh;
	return fresh;
}

int pysym_line(const struct pysym_cache *c, const struct pysym *s, int32_t instr)
{
	if (!s->linetable)
		return s->firstlineno;
	return linetable_line(c->minor, s->linetable, s->linetable_len, s->firstlineno, instr);
}
