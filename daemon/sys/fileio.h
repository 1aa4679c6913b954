/* fileio.h - the file mechanisms: whole reads and writes that survive EINTR
 * and short transfers, directories made as needed, and the one way output
 * is written to a path:
 *
 *   "-"                           standard output;
 *   a character device, FIFO or   written in place, as every Unix tool does
 *   socket (after symlinks)       (never replaced: -o /dev/null stays a device);
 *   a regular file or a new name  atomically: a temporary file in the same
 *   (after symlinks)              directory, fsync'd, renamed over the target,
 *                                 and the directory fsync'd, so a crash leaves
 *                                 the old file or the new one, whole. */
#ifndef PYBPF_FILEIO_H
#define PYBPF_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Writes all of buf.  0, or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);
int writev_all(int fd, const struct iovec *iov, int iovcnt);

/* Reads until len bytes or end of file.  Bytes read, or -1 with errno. */
ssize_t read_full(int fd, void *buf, size_t len);

/* Reads at most max bytes of an open file into a malloc'd buffer with a NUL
 * after the data (*n bytes, not counting it).  A file longer than max is an
 * error (EFBIG) unless truncate_ok.  NULL with errno on failure. */
char *read_fd_bounded(int fd, size_t max, int truncate_ok, size_t *n);
char *read_file_bounded(const char *path, size_t max, int truncate_ok, size_t *n);

/* mkdir -p.  0 or -1 with errno. */
int mkdir_p(const char *dir, mode_t mode);

/* Writes the iovecs to path by the rule above; mode for a new file.  0, or
 * -1 with errno. */
int output_write(const char *path, mode_t mode, const struct iovec *iov, int iovcnt);

/* The atomic step on its own: name in the open directory dirfd becomes the
 * iovecs (temporary ".tmp-XXXXXX" file, fsync, rename, fsync of the
 * directory).  0, or -1 with errno (nothing is left behind). */
int atomic_write_at(int dirfd, const char *name, mode_t mode, const struct iovec *iov, int iovcnt);

/* Temporary files of atomic_write_at() start with this. */
#define ATOMIC_TMP_PREFIX ".tmp-"

#endif
