/* linetable.h - line numbers from a code object's line table. */
#ifndef PYBPF_LINETABLE_H
#define PYBPF_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

/* The line of the instruction at byte offset instr (from the first
 * instruction) in a code object of CPython 3.minor whose line table is
 * tab[0..len) and first line firstlineno:
 *   minor <= 9: co_lnotab;  minor == 10: co_linetable (PEP 626);
 *   minor >= 11: the location table.
 * Returns the line; firstlineno when instr < 0 (a frame not yet started);
 * -1 when the instruction has no line or the table is corrupt. */
int linetable_line(unsigned minor, const uint8_t *tab, size_t len, int firstlineno, int32_t instr);

#endif
