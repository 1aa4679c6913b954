/* The layout table (daemon/python/pylayout.c), every record at once: the
 * invariants the BPF side relies on (include/pyunwind.h), the derived read
 * lengths, and the _Py_DebugOffsets maps.  No CPython headers needed: the
 * record-by-record check against each version's headers is test_pylayout.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "python/pylayout.h"

/* ---- invariants of every record ---- */

static void versions_unique(void **state)
{
	(void)state;
	size_t n;
	const struct pylayout *all = pylayout_all(&n);
	assert_non_null(all);
	assert_in_range(n, 1, PYBPF_MAX_LAYOUTS);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (all[i].version == all[j].version)
				fail_msg("records %zu and %zu both for version %#x", i, j,
					 all[i].version);
}

static void every_version_listed(void **state)
{
	(void)state;
	for (unsigned minor = 9; minor <= 15; minor++)
		if (!pylayout_find(3, minor))
			fail_msg("no record for 3.%u", minor);
}

static void index_round_trips(void **state)
{
	(void)state;
	size_t n;
	const struct pylayout *all = pylayout_all(&n);
	for (size_t i = 0; i < n; i++) {
		unsigned major = all[i].version >> 8, minor = all[i].version & 0xff;
		const struct pylayout *L = pylayout_find(major, minor);
		assert_ptr_equal(L, &all[i]);
		assert_int_equal(L->version, PY_VERSION_KEY(major, minor));
	}
}

/* The read lengths and the tag's place are derived from the offsets
 * (pylayout_derive), never typed: these are the smallest covers of the
 * fields, as the records had them by hand. */
static void derived_lengths(void **state)
{
	(void)state;
	static const struct {
		unsigned minor;
		uint16_t fr_read, co_read, co_tag;
	} want[] = {
		{9, 112, 48, 24}, {10, 104, 48, 24}, {11, 72, 80, 56}, {12, 72, 72, 52},
		{13, 72, 72, 52}, {14, 80, 72, 52},  {15, 80, 72, 52},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct pylayout *L = pylayout_find(3, want[i].minor);
		assert_non_null(L);
		assert_int_equal(L->bpf.fr_read, want[i].fr_read);
		assert_int_equal(L->bpf.co_read, want[i].co_read);
		assert_int_equal(L->bpf.co_tag, want[i].co_tag);
		/* deriving again (as for live _Py_DebugOffsets) changes nothing */
		struct pylayout copy = *L;
		pylayout_derive(&copy);
		assert_memory_equal(&copy, L, sizeof(copy));
	}
}

/* A field the BPF side reads out of a buffer of len bytes, len <= PYBPF_BUF. */
static void check_in_buf(unsigned version, const char *what, unsigned off, unsigned size,
			 unsigned len)
{
	if (off + size > len || len > PYBPF_BUF)
		fail_msg("%u.%u: %s at %u (+%u) outside the %u bytes read (max %d)", version >> 8,
			 version & 0xff, what, off, size, len, PYBPF_BUF);
}

static void check_frame_bounds(const struct pylayout *L)
{
	unsigned instr = (L->bpf.flags & PYL_FRAME_OBJECTS) ? 4 : 8;
	check_in_buf(L->version, "fr_code", L->bpf.fr_code, 8, L->bpf.fr_read);
	check_in_buf(L->version, "fr_previous", L->bpf.fr_previous, 8, L->bpf.fr_read);
	check_in_buf(L->version, "fr_instr", L->bpf.fr_instr, instr, L->bpf.fr_read);
	if (L->bpf.fr_owner != PYL_NO_FIELD)
		check_in_buf(L->version, "fr_owner", L->bpf.fr_owner, 1, L->bpf.fr_read);
	if (L->bpf.fr_is_entry != PYL_NO_FIELD)
		check_in_buf(L->version, "fr_is_entry", L->bpf.fr_is_entry, 1, L->bpf.fr_read);
	assert_true(L->bpf.fr_read >= 8);
}

static void check_code_bounds(const struct pylayout *L)
{
	check_in_buf(L->version, "co_tag", L->bpf.co_tag, 20, L->bpf.co_read);
	check_in_buf(L->version, "ob_type", L->bpf.ob_type, 8, L->bpf.co_read);
	assert_true(L->bpf.co_read >= 8);
	/* userspace reads the code header as 256 bytes (pysymbols.c CODE_HEADER) */
	assert_true(L->co_filename + 8u <= 256 && L->co_name + 8u <= 256);
	assert_true(L->co_linetable + 8u <= 256 && L->co_firstlineno + 4u <= 256);
	assert_true(L->co_qualname == PYL_NO_FIELD || L->co_qualname + 8u <= 256);
	/* userspace copies the header up to compact_data in one read */
	assert_true(L->ascii_state + 4u <= L->compact_data);
	assert_true(L->ascii_length + 8u <= L->compact_data);
	assert_true(L->ascii_data <= L->compact_data);
	assert_true(L->compact_data <= 128); /* pysym_read_str's header buffer */
}

static void buffer_bounds(void **state)
{
	(void)state;
	size_t n;
	const struct pylayout *all = pylayout_all(&n);
	for (size_t i = 0; i < n; i++) {
		check_frame_bounds(&all[i]);
		check_code_bounds(&all[i]);
	}
}

/* Fields and flags that go together. */
static void check_consistent(const struct pylayout *L)
{
	unsigned v = L->version;
	int frame_objects = !!(L->bpf.flags & PYL_FRAME_OBJECTS);

#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_msg("%u.%u: expected %s", v >> 8, v & 0xff, #cond);                   \
	} while (0)
	EXPECT(!(L->bpf.flags & ~(unsigned)(PYL_TSTATE_VIA_CFRAME | PYL_FRAME_OBJECTS |
					    PYL_CODE_TAGGED | PYL_LASTI_BYTES)));
	/* PyFrameObject chain (<= 3.10) or _PyInterpreterFrame chain */
	EXPECT(!(L->bpf.flags & PYL_LASTI_BYTES) || frame_objects);
	EXPECT(!frame_objects || !(L->bpf.flags & (PYL_TSTATE_VIA_CFRAME | PYL_CODE_TAGGED)));
	EXPECT(frame_objects == (L->bpf.fr_owner == PYL_NO_FIELD));
	EXPECT(frame_objects == (L->bpf.co_code == PYL_NO_FIELD));
	EXPECT(!!(L->bpf.flags & PYL_TSTATE_VIA_CFRAME) == (L->bpf.cframe_current != PYL_NO_FIELD));
	EXPECT(L->bpf.owner_cstack == PYL_NO_OWNER || L->bpf.fr_owner != PYL_NO_FIELD);
	/* a run of Python frames must end somewhere */
	EXPECT(frame_objects || L->bpf.fr_is_entry != PYL_NO_FIELD ||
	       L->bpf.owner_cstack != PYL_NO_OWNER);
	/* owner 0 is FRAME_OWNED_BY_THREAD, 1 GENERATOR, 2 FRAME_OBJECT everywhere */
	EXPECT(L->bpf.owner_cstack > 2);
	/* a thread is found by its kernel tid, else by its pthread_t */
	EXPECT(L->ts_native_tid != PYL_NO_FIELD || L->bpf.ts_thread_id != PYL_NO_FIELD);
	EXPECT(L->bpf.ts_next != PYL_NO_FIELD && L->bpf.ts_frame != PYL_NO_FIELD);
	EXPECT(L->co_filename != PYL_NO_FIELD && L->co_name != PYL_NO_FIELD);
	EXPECT(L->co_linetable != PYL_NO_FIELD && L->co_firstlineno != PYL_NO_FIELD);
	/* the GIL lives in exactly one place */
	EXPECT((L->rt_gil == PYL_NO_FIELD) != (L->interp_gil_ptr == PYL_NO_FIELD));
	EXPECT(L->bpf.gil_locked != PYL_NO_FIELD && L->bpf.gil_last_holder != PYL_NO_FIELD);
	EXPECT(L->gil_switch_number != PYL_NO_FIELD && L->bpf.gil_futex_lo != PYL_NO_FIELD);
	EXPECT(L->bpf.gil_futex_hi > L->bpf.gil_futex_lo + 88); /* at least cond and mutex */
	EXPECT(L->bpf.gil_locked % 4 == 0 && L->bpf.gil_last_holder % 8 == 0);
	EXPECT(L->gil_switch_number % 8 == 0 && L->bpf.gil_futex_lo % 8 == 0 &&
	       L->bpf.gil_futex_hi % 8 == 0);
	/* pointers the BPF side and userspace read as u64 are aligned */
	EXPECT(L->bpf.fr_code % 8 == 0 && L->bpf.fr_previous % 8 == 0);
	EXPECT(L->bpf.rt_interp_head % 8 == 0 && L->bpf.interp_next % 8 == 0);
	EXPECT(L->bpf.interp_tstate_head % 8 == 0 && L->bpf.ts_next % 8 == 0 &&
	       L->bpf.ts_frame % 8 == 0);
	EXPECT(L->bpf.co_tag % 4 == 0 && L->ascii_state % 4 == 0);
#undef EXPECT
}

static void records_consistent(void **state)
{
	(void)state;
	size_t n;
	const struct pylayout *all = pylayout_all(&n);
	for (size_t i = 0; i < n; i++)
		check_consistent(&all[i]);
}

static void debug_maps_consistent(void **state)
{
	(void)state;
	size_t n;
	const struct pylayout *all = pylayout_all(&n);
	for (size_t i = 0; i < n; i++) {
		unsigned major = all[i].version >> 8, minor = all[i].version & 0xff;
		const struct py_debug_map *M = pylayout_debug_map(major, minor);
		if (major == 3 && minor < 13) {
			assert_null(M);
			continue;
		}
		if (!M)
			fail_msg("%u.%u has no _Py_DebugOffsets map", major, minor);
		assert_int_equal(M->version, all[i].version);
		assert_int_equal(M->cookie, 0);
		assert_int_equal(M->dversion, 8);
		const uint16_t slots[] = {
			M->free_threaded,  M->rt_interp_head,
			M->interp_next,	   M->interp_tstate_head,
			M->interp_gil_ptr, M->ts_next,
			M->ts_native_tid,  M->ts_thread_id,
			M->ts_frame,	   M->fr_code,
			M->fr_previous,	   M->fr_instr,
			M->fr_owner,	   M->co_filename,
			M->co_name,	   M->co_qualname,
			M->co_firstlineno, M->co_linetable,
			M->co_code,	   M->ob_type,
			M->var_size,	   M->bytes_sval,
			M->ascii_length,   M->ascii_data,
			M->gil_locked,	   M->gil_last_holder,
		};
		for (size_t s = 0; s < sizeof(slots) / sizeof(slots[0]); s++) {
			if (slots[s] == PYL_NO_FIELD)
				continue;
			/* u64 slots after the 8-byte cookie, inside the struct */
			if (slots[s] < 8 || slots[s] % 8 || slots[s] + 8u > M->size)
				fail_msg("%u.%u: debug map slot %zu at %u (size %u)", major, minor,
					 s, slots[s], M->size);
			for (size_t t = 0; t < s; t++)
				if (slots[t] == slots[s])
					fail_msg("%u.%u: debug map slots %zu and %zu both at %u",
						 major, minor, t, s, slots[s]);
		}
	}
	assert_null(pylayout_debug_map(3, 99));
	assert_null(pylayout_debug_map(2, 7));
}

static void unsupported_versions(void **state)
{
	(void)state;
	assert_null(pylayout_find(2, 7));
	assert_null(pylayout_find(3, 8));
	assert_null(pylayout_find(3, 99));
	assert_null(pylayout_find(4, 0));
	assert_null(pylayout_find(0, 0));
}

/* "3.1" must not pass for "3.11": match whole space-separated words. */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p++) {
		int start = p == list || p[-1] == ' ';
		int end = p[n] == '\0' || p[n] == ' ';
		if (start && end)
			return 1;
	}
	return 0;
}

static void supported_lists_every_version(void **state)
{
	(void)state;
	size_t n;
	const struct pylayout *all = pylayout_all(&n);
	const char *s = pylayout_supported();
	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%u.%u", all[i].version >> 8, all[i].version & 0xff);
		if (!has_word(s, v))
			fail_msg("pylayout_supported() \"%s\" does not mention %s", s, v);
	}
	assert_false(has_word(s, "2.7"));
	assert_false(has_word(s, "3.8"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(versions_unique),
		cmocka_unit_test(every_version_listed),
		cmocka_unit_test(index_round_trips),
		cmocka_unit_test(derived_lengths),
		cmocka_unit_test(buffer_bounds),
		cmocka_unit_test(records_consistent),
		cmocka_unit_test(debug_maps_consistent),
		cmocka_unit_test(unsupported_versions),
		cmocka_unit_test(supported_lists_every_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
