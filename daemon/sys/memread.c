/* memread.c - bounded reads of another process's memory. */
#define _GNU_SOURCE
#include "sys/memread.h"

#include <errno.h>
#include <sys/uio.h>

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
