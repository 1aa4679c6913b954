/* procfs.h - every read of /proc but the memory maps (procmaps.h): bounded,
 * checked, one function per fact.  A pid (or tid) that is gone, or one we
 * may not read, gives the documented "unknown" answer, never a crash. */
#ifndef PYBPF_PROCFS_H
#define PYBPF_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The most any /proc file is read (environ, cmdline, cgroup...). */
#define PROCFS_READ_MAX (64 * 1024)

/* /proc/PID/WHAT (tid 0) or /proc/PID/task/TID/WHAT into a malloc'd buffer,
 * NUL after the data, at most PROCFS_READ_MAX bytes (the rest is cut).
 * NULL with errno when it cannot be read. */
char *procfs_read(pid_t pid, uint32_t tid, const char *what, size_t *n);

/* Does the process exist? */
bool procfs_alive(pid_t pid);
/* The uid owning /proc/PID, or (uid_t)-1. */
uid_t procfs_uid(pid_t pid);
/* Every process id (malloc'd, *n of them), or NULL with errno. */
uint32_t *procfs_pids(size_t *n);
/* The thread ids of pid (malloc'd, *n of them), or NULL with errno. */
uint32_t *procfs_tasks(pid_t pid, size_t *n);
/* How many threads pid has (0 when gone). */
uint32_t procfs_count_tasks(pid_t pid);

/* The thread's state letter from its stat line (R, S, D, T...), '?' unknown. */
char procfs_task_state(pid_t pid, uint32_t tid);
/* The parent of pid (0 when unknown). */
uint32_t procfs_ppid(pid_t pid);
/* root and every process below it now (children, theirs...), root first;
 * malloc'd, NULL with errno when /proc cannot be listed. */
uint32_t *procfs_descendants(pid_t root, size_t *n);
/* The thread's name (comm; tid 0: the process's); "" when unknown. */
void procfs_comm(pid_t pid, uint32_t tid, char *out, size_t len);
/* The thread's (tid 0: the process's) id in its innermost pid namespace,
 * the last NSpid entry; the host id itself when unknown. */
uint32_t procfs_nspid(pid_t pid, uint32_t tid);
/* The process's cgroup path (the one rule: the v2 "0::" path, else the
 * name=systemd v1 path, else the first v1 path); "" when unknown. */
void procfs_cgroup(pid_t pid, char *out, size_t len);
/* That rule on the text of a /proc/PID/cgroup file (for tests). */
void cgroup_primary_path(const char *text, char *out, size_t len);
/* The pure parts of the reads above, on a file's text (NULL: unreadable),
 * for tests and fuzzing: the state letter of a stat line ('?'), the last
 * NSpid entry of a status file (id when there is none; the text is cut at
 * the end of that line), and a syscall file's number and first two
 * arguments (-1 when not in a syscall). */
char stat_task_state(const char *text);
uint32_t stat_ppid(const char *text); /* the parent's pid of a stat line, 0 */
uint32_t status_nspid(char *text, uint32_t id);
int syscall_parse(const char *text, long *nr, uint64_t args[2]);
/* The process's root directory, "" for the host's own. */
void procfs_root(pid_t pid, char *out, size_t len);
/* The process's executable (readlink of /proc/PID/exe).  0 or -1/errno. */
int procfs_exe(pid_t pid, char *out, size_t len);
/* The command line, NULs as spaces, non-printing bytes as spaces, cut. */
void procfs_cmdline_text(pid_t pid, char *out, size_t len);

/* The syscall a blocked thread sits in (/proc/PID/task/TID/syscall): its
 * number and first two arguments.  -1 when running or not in a syscall. */
int procfs_syscall(pid_t pid, uint32_t tid, long *nr, uint64_t args[2]);

enum procfs_fd_kind {
	FD_KIND_OTHER,
	FD_KIND_SOCKET,
	FD_KIND_FILE, /* a regular file or block device */
};
/* What the process's file descriptor fd is. */
enum procfs_fd_kind procfs_fd_kind(pid_t pid, long fd);

/* This process's own CPU time (user + system) and resident memory. */
void procfs_self_usage(double *cpu_s, uint64_t *rss_bytes);

#endif
