/* memread.c - bounded reads of another process's memory. */
#define _GNU_SOURCE
#include "sys/memread.h"

#include <errno.h>
#include <sys/uio.h>

#define PAGE	   4096ULL
#define MAX_PIECES 64

int mem_read(pid_t pid, uint64_t addr, void *dst, size_t len)
{
	if (len > MEMREAD_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (len == 0)
		return 0;
	if (addr == 0 || addr + len < addr) {
		errno = EFAULT;
		return -1;
	}
	struct iovec local = {.iov_base = dst, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}

int mem_read_u64(pid_t pid, uint64_t addr, uint64_t *out)
{
	*out = 0;
	return mem_read(pid, addr, out, sizeof(*out));
}

size_t mem_read_below(pid_t pid, uint64_t hi, void *dst, size_t len)
{
	/* one piece per page, highest first: the kernel stops at the first that
	 * fails, so what is read is contiguous and ends at hi */
	struct iovec local[MAX_PIECES], remote[MAX_PIECES];
	size_t n = 0, total = 0;
	if (len > MEMREAD_MAX || hi < len)
		len = hi < MEMREAD_MAX ? hi : MEMREAD_MAX;
	uint64_t top = hi;
	while (total < len && n < MAX_PIECES) {
		uint64_t lo = (top - 1) & ~(PAGE - 1);
		if (top - lo > len - total)
			lo = top - (len - total);
		size_t piece = (size_t)(top - lo);
		total += piece;
		local[n].iov_base = (char *)dst + len - total;
		local[n].iov_len = piece;
		remote[n].iov_base = (void *)(uintptr_t)lo;
		remote[n].iov_len = piece;
		n++;
		top = lo;
	}
	if (!n || !hi)
		return 0;
	ssize_t got = process_vm_readv(pid, local, n, remote, n, 0);
	return got > 0 ? (size_t)got : 0;
}
