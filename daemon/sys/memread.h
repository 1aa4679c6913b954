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

/* Reads as much of [hi - len, hi) as is mapped contiguously below hi, in one
 * system call (so the copy is as close to one instant as the kernel makes
 * it), into the end of dst (len bytes, at most MEMREAD_MAX).  Returns the
 * bytes read: the window is [hi - n, hi), at dst + len - n. */
size_t mem_read_below(pid_t pid, uint64_t hi, void *dst, size_t len);

#endif
