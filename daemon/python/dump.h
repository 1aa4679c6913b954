/* dump.h - the current Python stack of every thread of a process, read from
 * userspace with the same unwinding steps the BPF program uses. */
#ifndef PYBPF_DUMP_H
#define PYBPF_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "python/threadnames.h"
#include <stdio.h>

#include "python/pyprocess.h"

#define DUMP_MAX_FRAMES 4096

struct dump_frame {
	char *name; /* qualified name */
	char *file;
	int line;
	int first_line; /* co_firstlineno */
};

struct dump_thread {
	uint32_t tid;		      /* kernel thread id (native_thread_id) */
	uint64_t thread_id;	      /* pthread_t, as threading.get_ident() */
	char comm[20];		      /* the OS's name (cut at 15) */
	char name[PYTHREAD_NAME_MAX]; /* Python's (threading), else comm */
	bool python_name;	      /* name is Python's */
	char state;		      /* from /proc: R running, S sleeping, D disk wait, ... */
	struct dump_frame *frames;    /* leaf first */
	size_t nframes;
	bool truncated;
	const char *error; /* non-NULL when the stack is incomplete: why */
	int attempts;	   /* walks until one held (the stack changes as it is read) */
	bool stopped;	   /* held still for the walk that did */
	int8_t gil;	   /* holds the GIL as the dump began: 1, 0, or -1 unknown */
};

struct dump {
	struct dump_thread *threads;
	size_t nthreads;
};

/* Walks every thread of pp's interpreters.  A running thread whose stack
 * changes faster than it can be read is held still (ptrace) for one walk,
 * unless nonblocking.  Returns 0, or -1 with err set. */
int dump_process(const struct pyprocess *pp, struct dump *out, bool nonblocking, char *err,
		 size_t errlen);
void dump_free(struct dump *d);

void dump_print_text(const struct pyprocess *pp, const struct dump *d, FILE *out);
void dump_print_json(const struct pyprocess *pp, const struct dump *d, FILE *out);

#endif
