/* linetable.c - line numbers from a code object's line table.
 * Formats: CPython's Objects/lnotab_notes.txt and Objects/locations.md. */
#include "python/linetable.h"

#include <limits.h>
#include <stdbool.h>

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

static unsigned next_byte(struct cursor *c)
{
	if (c->p >= c->end) {
		c->bad = true;
		return 0;
	}
	return *c->p++;
}

/* 6-bit chunks, little end first, 0x40 = more. */
static unsigned read_varint(struct cursor *c)
{
	unsigned b = next_byte(c), val = b & 63, shift = 0;
	while ((b & 64) && !c->bad && shift < 30) {
		b = next_byte(c);
		shift += 6;
		val |= (b & 63) << shift;
	}
	return val;
}

static int read_svarint(struct cursor *c)
{
	unsigned u = read_varint(c);
	return (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
}

enum {
	LOC_SHORT_MAX = 9,
	LOC_ONE_LINE0 = 10,
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,
	LOC_LONG = 14,
	LOC_NONE = 15,
};

/* One entry's line delta; skips its column data. */
static int location_delta(struct cursor *c, unsigned code)
{
	int delta = 0;
	if (code == LOC_NONE)
		return 0;
	if (code == LOC_LONG) {
		delta = read_svarint(c);
		read_varint(c); /* end line delta */
		read_varint(c); /* column + 1 */
		read_varint(c); /* end column + 1 */
		return delta;
	}
	if (code == LOC_NO_COLUMNS)
		return read_svarint(c);
	if (code >= LOC_ONE_LINE0 && code <= LOC_ONE_LINE2) {
		next_byte(c);
		next_byte(c);
		return (int)code - LOC_ONE_LINE0;
	}
	next_byte(c); /* short form: column data */
	return 0;
}

/* A line the table makes leave int's range is the table's corruption. */
static int line_or_bad(int64_t line)
{
	return line >= INT_MIN && line <= INT_MAX ? (int)line : -1;
}

static int location_table_line(const uint8_t *tab, size_t len, int firstlineno, int32_t instr)
{
	if (!len)
		return -1; /* no table (tab may be NULL: no arithmetic on it) */
	struct cursor c = {tab, tab + len, false};
	int64_t addr = 0, line = firstlineno;
	while (c.p < c.end) {
		unsigned first = next_byte(&c);
		if (!(first & 0x80))
			return -1;
		unsigned code = (first >> 3) & 15;
		int64_t end = addr + 2 * ((first & 7) + 1);
		line += location_delta(&c, code);
		if (c.bad)
			return -1;
		if (instr >= addr && instr < end)
			return code == LOC_NONE ? -1 : line_or_bad(line);
		addr = end;
	}
	return -1;
}

static int pep626_line(const uint8_t *tab, size_t len, int firstlineno, int32_t instr)
{
	int64_t start = 0, end = 0, line = firstlineno;
	int cur = -1;
	for (size_t i = 0; i + 1 < len; i += 2) {
		start = end;
		end += tab[i];
		int8_t ldelta = (int8_t)tab[i + 1];
		if (ldelta == -128) {
			cur = -1;
		} else {
			line += ldelta;
			cur = line_or_bad(line);
		}
		if (instr >= start && instr < end)
			return cur;
	}
	return -1;
}

static int lnotab_line(const uint8_t *tab, size_t len, int firstlineno, int32_t instr)
{
	int64_t addr = 0, line = firstlineno;
	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += tab[i];
		if (addr > instr)
			break;
		line += (int8_t)tab[i + 1];
	}
	return line_or_bad(line);
}

int linetable_line(unsigned minor, const uint8_t *tab, size_t len, int firstlineno, int32_t instr)
{
	if (instr < 0)
		return firstlineno;
	if (minor >= 11)
		return location_table_line(tab, len, firstlineno, instr);
	if (minor == 10)
		return pep626_line(tab, len, firstlineno, instr);
	return lnotab_line(tab, len, firstlineno, instr);
}
