/* fuzz.h - what the libFuzzer harnesses of tests/fuzz share: a NUL-terminated
 * copy of the input, and a memfd holding it under a path. */
#ifndef PYBPF_FUZZ_H
#define PYBPF_FUZZ_H

#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every byte of p (ASan checks the span is what it claims). */
static volatile uint8_t fuzz_sink;
static inline void fuzz_touch(const void *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += ((const uint8_t *)p)[i];
	fuzz_sink = sum;
}

/* The input as a C string (malloc'd; NULs inside are kept). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

/* One memfd for the whole run, rewritten with every input; its path
 * (/proc/self/fd/N) is what a parser that takes a file name opens. */
struct fuzz_file {
	int fd;
	char path[64];
};

static inline void fuzz_file_init(struct fuzz_file *f, const char *name)
{
	f->fd = memfd_create(name, MFD_CLOEXEC);
	if (f->fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
}

static inline void fuzz_file_set(struct fuzz_file *f, const uint8_t *data, size_t size)
{
	if (ftruncate(f->fd, 0) || (size && pwrite(f->fd, data, size, 0) != (ssize_t)size) ||
	    lseek(f->fd, 0, SEEK_SET) != 0) {
		perror("memfd write");
		abort();
	}
}

/* Splits the input at its NUL bytes into up to n strings (each malloc'd
 * into out[]; NULL for the parts the input does not have: k NULs make k + 1
 * parts, the last one running to the end). */
static inline void fuzz_split(const uint8_t *data, size_t size, char **out, size_t n)
{
	size_t at = 0;
	int more = 1;
	for (size_t i = 0; i < n; i++) {
		out[i] = NULL;
		if (!more)
			continue;
		const uint8_t *z = i + 1 < n ? memchr(data + at, 0, size - at) : NULL;
		size_t len = z ? (size_t)(z - (data + at)) : size - at;
		out[i] = fuzz_strndup(data + at, len);
		at += len + 1;
		more = z != NULL;
	}
}

static inline void fuzz_free_parts(char **parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
}

/* Seed writing (tests/fuzz/make-corpus.sh): a harness that encodes its
 * seeds with the project's own code writes them when PYBPF_FUZZ_WRITE_SEEDS
 * names a directory, then exits.  One file: the selector byte, the bytes. */
static inline void fuzz_seed(const char *dir, const char *name, int selector, const void *p,
			     size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	if (!f || (selector >= 0 && fputc(selector, f) == EOF) || (n && fwrite(p, 1, n, f) != n) ||
	    fclose(f)) {
		perror(path);
		exit(1);
	}
}

#endif
