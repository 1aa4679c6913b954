/* fuzz_linetable: linetable_line() (daemon/python/linetable.c), the decoder
 * of a code object's line table read from a target process: co_lnotab
 * (3.9), co_linetable (3.10, PEP 626), the location table (3.11+).
 *
 * Input: byte 0 picks the version (3.9 ... 3.15), bytes 1-4 the instruction
 * offset and 5-8 co_firstlineno (little-endian), the rest is the table. */
#include "fuzz.h"

#include "python/linetable.h"

static const unsigned minors[] = {9, 10, 11, 12, 13, 14, 15};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int32_t instr, first;
	if (size < 9)
		return 0;
	unsigned minor = minors[data[0] % (sizeof(minors) / sizeof(minors[0]))];
	memcpy(&instr, data + 1, 4);
	memcpy(&first, data + 5, 4);
	const uint8_t *tab = data + 9;
	size_t len = size - 9;

	/* the offset asked, the end of the table, a frame not yet started */
	int line = linetable_line(minor, tab, len, first, instr);
	line ^= linetable_line(minor, tab, len, first, INT32_MAX);
	if (linetable_line(minor, tab, len, first, -1) != first)
		abort();
	/* the first instructions, each alone */
	for (int32_t off = 0; off < 64 && (size_t)off < 2 * len + 2; off += 2)
		line ^= linetable_line(minor, tab, len, first, off);
	fuzz_touch(&line, sizeof(line));
	return 0;
}
