/* debuginfo.c - separate debug information of stripped ELF files. */
#define _GNU_SOURCE
#include "native/debuginfo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_DEBUG_FILE	  (1ULL << 31) /* read whole for its CRC */
#define MAX_DEBUGDATA	  (64u << 20)  /* .gnu_debugdata, compressed */
#define MAX_DEBUGDATA_OUT (512u << 20)

static const char *const default_dirs[] = {DEBUGINFO_DIR, NULL};

/* A regular file (not a FIFO or device a container may plant). */
static int open_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_DEBUG_FILE) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Merges the symbols of the debug file at path into ef when accept() says
 * it is ef's.  0 when it was. */
static int try_file(struct elf_file *ef, const char *path,
		    int (*accept)(const struct elf_file *ef, const struct elf_file *dbg, int fd))
{
	struct elf_file dbg;
	int fd = open_regular(path), ret = -1;
	if (fd < 0)
		return -1;
	if (elf_file_load(fd, &dbg) == 0) {
		if (dbg.symtab && accept(ef, &dbg, fd) && elf_file_merge_symbols(ef, &dbg) == 0)
			ret = 0;
		elf_file_free(&dbg);
	}
	close(fd);
	return ret;
}

static int same_build_id(const struct elf_file *ef, const struct elf_file *dbg, int fd)
{
	(void)fd;
	return dbg->build_id_len == ef->build_id_len &&
	       !memcmp(dbg->build_id, ef->build_id, ef->build_id_len);
}

static int crc_matches(const struct elf_file *ef, const struct elf_file *dbg, int fd)
{
	(void)dbg;
	unsigned char buf[65536];
	uLong crc = crc32(0, Z_NULL, 0);
	ssize_t n;
	off_t off = 0;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		crc = crc32(crc, buf, (uInt)n);
		off += n;
	}
	return n == 0 && (uint32_t)crc == ef->debuglink_crc;
}

static int by_build_id(struct elf_file *ef, const char *const *roots, const char *const *dirs)
{
	char hex[2 * sizeof(ef->build_id) + 1], path[PATH_MAX];
	if (ef->build_id_len < 2)
		return -1;
	for (size_t i = 0; i < ef->build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", ef->build_id[i]);
	for (size_t r = 0; roots[r]; r++)
		for (size_t d = 0; dirs[d]; d++) {
			if (snprintf(path, sizeof(path), "%s%s/.build-id/%.2s/%s.debug", roots[r],
				     dirs[d], hex, hex + 2) >= (int)sizeof(path))
				continue;
			if (try_file(ef, path, same_build_id) == 0)
				return 0;
		}
	return -1;
}

static int by_debuglink(struct elf_file *ef, const char *const *roots, const char *file,
			const char *const *dirs)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *slash = strrchr(file, '/');
	if (!ef->debuglink[0] || !slash || file[0] != '/')
		return -1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
	for (size_t r = 0; roots[r]; r++) {
		const char *fmt[] = {"%s%s/%s", "%s%s/.debug/%s"};
		for (size_t k = 0; k < 2; k++) {
			if (snprintf(path, sizeof(path), fmt[k], roots[r], dir, ef->debuglink) <
				    (int)sizeof(path) &&
			    try_file(ef, path, crc_matches) == 0)
				return 0;
		}
		for (size_t d = 0; dirs[d]; d++)
			if (snprintf(path, sizeof(path), "%s%s%s/%s", roots[r], dirs[d], dir,
				     ef->debuglink) < (int)sizeof(path) &&
			    try_file(ef, path, crc_matches) == 0)
				return 0;
	}
	return -1;
}

/* xz in, bounded out; the caller frees *out. */
static int unxz(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
	lzma_stream z = LZMA_STREAM_INIT;
	size_t cap = len * 4 + 4096, n = 0;
	uint8_t *buf = malloc(cap);
	int ret = -1;
	if (!buf || lzma_stream_decoder(&z, 256u << 20, 0) != LZMA_OK)
		goto out;
	z.next_in = in;
	z.avail_in = len;
	for (;;) {
		if (n == cap) {
			if (cap >= MAX_DEBUGDATA_OUT)
				goto out;
			cap *= 2;
			uint8_t *nb = realloc(buf, cap);
			if (!nb)
				goto out;
			buf = nb;
		}
		z.next_out = buf + n;
		z.avail_out = cap - n;
		lzma_ret r = lzma_code(&z, LZMA_FINISH);
		n = cap - z.avail_out;
		if (r == LZMA_STREAM_END)
			break;
		if (r != LZMA_OK)
			goto out;
	}
	*out = buf;
	*outlen = n;
	buf = NULL;
	ret = 0;
out:
	lzma_end(&z);
	free(buf);
	return ret;
}

static int by_debugdata(struct elf_file *ef, int fd)
{
	uint8_t *xz = NULL, *img = NULL;
	size_t len = (size_t)ef->debugdata_size, imglen = 0;
	struct elf_file mini;
	int ret = -1;
	if (!len || len > MAX_DEBUGDATA || !(xz = malloc(len)) ||
	    pread(fd, xz, len, (off_t)ef->debugdata_off) != (ssize_t)len ||
	    unxz(xz, len, &img, &imglen))
		goto out;
	if (elf_file_load_mem(img, imglen, &mini) == 0) {
		if (mini.symtab && elf_file_merge_symbols(ef, &mini) == 0)
			ret = 0;
		elf_file_free(&mini);
	}
out:
	free(xz);
	free(img);
	return ret;
}

enum elf_names debuginfo_apply(struct elf_file *ef, int fd, const char *root, const char *path,
			       const char *const *dirs)
{
	const char *roots[3] = {root ? root : "", NULL, NULL};
	if (root && root[0])
		roots[1] = ""; /* then the host's */
	if (!dirs)
		dirs = default_dirs;
	if (ef->symtab)
		return ef->names;
	if (by_build_id(ef, roots, dirs) == 0)
		ef->names = ELF_NAMES_BUILD_ID;
	else if (by_debuglink(ef, roots, path, dirs) == 0)
		ef->names = ELF_NAMES_DEBUGLINK;
	else if (by_debugdata(ef, fd) == 0)
		ef->names = ELF_NAMES_DEBUGDATA;
	return ef->names;
}
