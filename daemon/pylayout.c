/* pylayout.c - the table of CPython layouts, one record per minor version.
 *
 * Offsets are offsetof() against each version's own headers
 * (Include/internal/pycore_frame.h, pycore_interp.h, Include/cpython/code.h ...), checked by
 * tests/unit/test_pylayout.c against the headers installed on the machine. */
#include "pylayout.h"

static const struct py_layout layouts[] = {
	{
		/* CPython 3.11: _PyInterpreterFrame chain under tstate->cframe,
		 * location-table line numbers, co_qualname. */
		.version = PY_VERSION_KEY(3, 11),
		.flags = PYL_TSTATE_VIA_CFRAME,
		.rt_interp_head = 40,
		.interp_next = 0,
		.interp_tstate_head = 16,
		.ts_next = 8,
		.ts_native_tid = 160,
		.ts_thread_id = 152,
		.ts_frame = 56, /* cframe */
		.cframe_current = 8,
		.fr_code = 32,
		.fr_previous = 48,
		.fr_instr = 56, /* prev_instr */
		.fr_owner = 69,
		.fr_is_entry = 68,
		.fr_read = 72,
		.owner_cstack = PYL_NO_OWNER,
		.owner_entry = PYL_NO_OWNER,
		.co_read = 80,
		.co_tag = 56, /* co_argcount .. co_firstlineno */
		.co_code = 184,
		.co_filename = 112,
		.co_name = 120,
		.co_qualname = 128,
		.co_firstlineno = 72,
		.co_linetable = 136,
		.co_flags = 48,
		.ob_type = 8,
		.var_size = 16,
		.bytes_sval = 32,
		.ascii_state = 32,
		.ascii_length = 16,
		.ascii_data = 48,
		.compact_data = 72,
	},
};

const struct py_layout *pylayout_find(unsigned major, unsigned minor)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].version == PY_VERSION_KEY(major, minor))
			return &layouts[i];
	return NULL;
}

unsigned pylayout_index(const struct py_layout *l)
{
	return (unsigned)(l - layouts);
}

const struct py_layout *pylayout_all(size_t *n)
{
	*n = sizeof(layouts) / sizeof(layouts[0]);
	return layouts;
}

const char *pylayout_supported(void)
{
	return "3.11";
}
