/* daemon/python/symbols.c: code objects become names, files and lines,
 * read from a live process.  The "process" is this test: fake CPython 3.11
 * objects laid out by the layout table in its own memory, read back through
 * process_vm_readv like any target's, hostile ones included. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "python/symbols.h"

/* the line tables of real 3.11 code objects (tests/data/gen_linetable_vectors.py) */
struct lt_vector {
	const char *name;
	unsigned minor;
	const uint8_t *tab;
	size_t len;
	int first;
	const int *lines;
	size_t nlines;
};
#include "linetable_vectors_311.h"

static const struct pylayout *L311(void)
{
	const struct pylayout *L = pylayout_find(3, 11);
	assert_non_null(L);
	return L;
}

static void put_u64(uint8_t *buf, unsigned off, uint64_t v)
{
	memcpy(buf + off, &v, sizeof(v));
}

static void put_u32(uint8_t *buf, unsigned off, uint32_t v)
{
	memcpy(buf + off, &v, sizeof(v));
}

/* A compact str: kind 1 (ASCII when ascii), 2 or 4; length code points. */
static uint8_t *fake_str(const struct pylayout *L, const void *data, size_t nbytes, int64_t length,
			 unsigned kind, int ascii)
{
	size_t head = ascii ? L->ascii_data : L->compact_data;
	uint8_t *o = calloc(1, head + nbytes + 8);
	put_u64(o, L->ascii_length, (uint64_t)length);
	put_u32(o, L->ascii_state, (kind << 2) | (1u << 5) | ((unsigned)ascii << 6));
	memcpy(o + head, data, nbytes);
	return o;
}

static uint8_t *ascii_str(const struct pylayout *L, const char *s)
{
	return fake_str(L, s, strlen(s), (int64_t)strlen(s), 1, 1);
}

static uint8_t *fake_bytes(const struct pylayout *L, const void *data, int64_t len, size_t alloc)
{
	uint8_t *o = calloc(1, L->bytes_sval + alloc + 8);
	put_u64(o, L->var_size, (uint64_t)len);
	memcpy(o + L->bytes_sval, data, alloc);
	return o;
}

/* A code object of 256 bytes (what userspace reads of one). */
static uint8_t *fake_code(const struct pylayout *L, uint8_t *qualname, uint8_t *filename,
			  uint8_t *linetable, int firstlineno, uint32_t argcount)
{
	uint8_t *c = calloc(1, 256);
	put_u64(c, L->bpf.ob_type, 0x1234);
	put_u32(c, L->bpf.co_tag, argcount);
	put_u32(c, L->co_firstlineno, (uint32_t)firstlineno);
	put_u64(c, L->co_qualname, (uint64_t)(uintptr_t)qualname);
	put_u64(c, L->co_filename, (uint64_t)(uintptr_t)filename);
	put_u64(c, L->co_linetable, (uint64_t)(uintptr_t)linetable);
	return c;
}

static void names_files_lines(void **state)
{
	(void)state;
	const struct pylayout *L = L311();
	uint8_t *q = ascii_str(L, "Shop.checkout"), *f = ascii_str(L, "/srv/shop/views.py");
	const struct lt_vector *v = &vectors_3_11[2]; /* "loops" */
	uint8_t *lt = fake_bytes(L, v->tab, (int64_t)v->len, v->len);
	uint8_t *code = fake_code(L, q, f, lt, v->first, 2);
	struct pysym_cache *c = pysym_cache_new(getpid(), L, 11);
	uint32_t tag = pysym_tag(L, code);

	const struct pysym *s = pysym_get(c, (uint64_t)(uintptr_t)code, tag);
	assert_non_null(s);
	assert_string_equal(s->qualname, "Shop.checkout");
	assert_string_equal(s->filename, "/srv/shop/views.py");
	assert_int_equal(s->firstlineno, v->first);
	for (size_t i = 0; i < v->nlines; i++)
		assert_int_equal(pysym_line(c, s, (int32_t)(2 * i)), v->lines[i]);
	/* cached: a second lookup reads nothing new */
	assert_ptr_equal(pysym_get(c, (uint64_t)(uintptr_t)code, tag), s);
	assert_ptr_equal(pysym_get(c, (uint64_t)(uintptr_t)code, 0), s);
	assert_int_equal(pysym_cache_size(c), 1);
	pysym_cache_free(c);
	free(code), free(q), free(f), free(lt);
}

/* A freed code object whose address now holds another: the tag tells. */
static void reused_address(void **state)
{
	(void)state;
	const struct pylayout *L = L311();
	uint8_t *q = ascii_str(L, "old"), *q2 = ascii_str(L, "new"), *f = ascii_str(L, "a.py");
	uint8_t *code = fake_code(L, q, f, NULL, 10, 1);
	struct pysym_cache *c = pysym_cache_new(getpid(), L, 11);
	uint32_t old_tag = pysym_tag(L, code);
	assert_string_equal(pysym_get(c, (uint64_t)(uintptr_t)code, old_tag)->qualname, "old");

	/* the same address, another code object (other argcount, other name) */
	uint8_t *other = fake_code(L, q2, f, NULL, 20, 3);
	memcpy(code, other, 256);
	uint32_t new_tag = pysym_tag(L, code);
	assert_true(new_tag != old_tag);
	const struct pysym *s = pysym_get(c, (uint64_t)(uintptr_t)code, new_tag);
	assert_non_null(s);
	assert_string_equal(s->qualname, "new");
	assert_int_equal(s->firstlineno, 20);
	assert_int_equal(pysym_line(c, s, 0), 20); /* no line table: the first line */
	/* a sample taken before the reuse, symbolized after it, is unknown */
	assert_null(pysym_get(c, (uint64_t)(uintptr_t)code, old_tag ^ 1));
	pysym_cache_free(c);
	free(code), free(other), free(q), free(q2), free(f);
}

static void unicode_names(void **state)
{
	(void)state;
	const struct pylayout *L = L311();
	const uint16_t ucs2[] = {0x63, 0x61, 0x66, 0xe9, 0x2603}; /* "café☃" */
	const uint32_t ucs4[] = {0x1f40d, 0x41};		  /* "🐍A" */
	uint8_t *q = fake_str(L, ucs2, sizeof(ucs2), 5, 2, 0);
	uint8_t *f = fake_str(L, ucs4, sizeof(ucs4), 2, 4, 0);
	uint8_t *code = fake_code(L, q, f, NULL, 1, 0);
	struct pysym_cache *c = pysym_cache_new(getpid(), L, 11);
	const struct pysym *s = pysym_get(c, (uint64_t)(uintptr_t)code, 0);
	assert_non_null(s);
	assert_string_equal(s->qualname, "caf\xc3\xa9\xe2\x98\x83");
	assert_string_equal(s->filename, "\xf0\x9f\x90\x8d"
					 "A");
	pysym_cache_free(c);
	free(code), free(q), free(f);
}

/* Hostile objects cost a frame, never more than a bounded read. */
static void hostile_objects(void **state)
{
	(void)state;
	const struct pylayout *L = L311();
	struct pysym_cache *c = pysym_cache_new(getpid(), L, 11);
	uint8_t *f = ascii_str(L, "f.py");

	/* a name claiming 2^40 characters is cut at 4096 */
	char big[5000];
	memset(big, 'x', sizeof(big));
	uint8_t *huge = fake_str(L, big, sizeof(big), (int64_t)1 << 40, 1, 1);
	uint8_t *code = fake_code(L, huge, f, NULL, 1, 0);
	const struct pysym *s = pysym_get(c, (uint64_t)(uintptr_t)code, 0);
	assert_non_null(s);
	assert_int_equal(strlen(s->qualname), 4096);

	/* a negative length, a non-compact string, a wrong kind: unreadable */
	uint8_t *neg = fake_str(L, "a", 1, -5, 1, 1);
	uint8_t *bad_kind = fake_str(L, "abcd", 4, 1, 3, 0);
	uint8_t *noncompact = ascii_str(L, "abc");
	put_u32(noncompact, L->ascii_state, (1u << 2) | (1u << 6)); /* compact bit clear */
	uint8_t *objs[] = {neg, bad_kind, noncompact};
	for (size_t i = 0; i < 3; i++) {
		uint8_t *cc = fake_code(L, objs[i], f, NULL, 1, (uint32_t)i + 7);
		assert_null(pysym_get(c, (uint64_t)(uintptr_t)cc, 0));
		free(cc);
	}
	/* a line table claiming more than 256 KiB is ignored: first lines only */
	uint8_t *lt = fake_bytes(L, v11_1_tab, 1 << 20, sizeof(v11_1_tab));
	uint8_t *cl = fake_code(L, ascii_str(L, "g"), f, lt, 33, 9);
	s = pysym_get(c, (uint64_t)(uintptr_t)cl, 0);
	assert_non_null(s);
	assert_null(s->linetable);
	assert_int_equal(pysym_line(c, s, 4), 33);
	/* addresses that are not mapped */
	assert_null(pysym_get(c, 8, 0));
	assert_null(pysym_get(c, 0, 0));
	assert_null(pysym_get(c, UINT64_MAX - 16, 0));
	pysym_cache_free(c);
	free(code), free(huge), free(neg), free(bad_kind), free(noncompact), free(f), free(lt);
	free((void *)(uintptr_t) * (uint64_t *)(cl + L->co_qualname));
	free(cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_files_lines),
		cmocka_unit_test(reused_address),
		cmocka_unit_test(unicode_names),
		cmocka_unit_test(hostile_objects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
