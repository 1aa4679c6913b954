/* unwind.h - the native stack of a thread of another process, held still
 * (sys/taskstop.h), unwound by libdwfl from the call frame information of
 * the files it maps, as eu-stack does; the files are opened through the
 * process's root (a container's own). */
#ifndef PYBPF_UNWIND_H
#define PYBPF_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UNWIND_MAX_FRAMES 256 /* deeper native stacks are cut (and said) */

struct unwinder;

/* One per process: its mappings read now.  NULL with err set. */
struct unwinder *unwinder_new(pid_t pid, char *err, size_t errlen);
void unwinder_free(struct unwinder *u);

/* The stack of tid (a host tid, ptrace-stopped by the calling thread),
 * innermost first, as addresses inside each call (a return address less
 * one: what a symbol lookup wants).  Returns how many (at most max; *cut
 * set when there were more), or -1 with errno when nothing was unwound. */
int unwinder_stack(struct unwinder *u, pid_t tid, uint64_t *pcs, size_t max, int *cut);

#endif
