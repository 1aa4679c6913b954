/* memread.h - bounded reads of another process's memory. */
#ifndef PYBPF_MEMREAD_H
#define PYBPF_MEMREAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MEMREAD_MAX (1u << 20) /* no single read is larger */

/* Copies len bytes at addr of pid into dst.  Returns 0, or -1 with errno set
 * (EFAULT for a short or failed read, E2BIG above MEMREAD_MAX). */
int mem_read(pid_t pid, uint64_t addr, void *dst, size_t len);
int mem_read_u64(pid_t pid, uint64_t addr, uint64_t *out);

#endif
