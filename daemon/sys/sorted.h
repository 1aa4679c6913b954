/* sorted.h - the one binary search over arrays sorted by an address: how
 * many elements start at or below an address (symbol tables of ELF files
 * and of the kernel). */
#ifndef PYBPF_SORTED_H
#define PYBPF_SORTED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* How many of the n elements (size bytes each, sorted by the u64 at key_off
 * of each) have a key <= x.  The last of them is the one x falls in, if any. */
static inline size_t count_at_or_below(const void *base, size_t n, size_t size, size_t key_off,
				       uint64_t x)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t key;
		memcpy(&key, (const char *)base + mid * size + key_off, sizeof(key));
		if (key <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#endif
