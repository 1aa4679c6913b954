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

struct dump_local {
	char *name;
	char *repr; /* pyrepr's: capped, never executed */
	char *type;
	bool arg;
	uint8_t kind; /* enum pylocal_kind */
};

struct dump_frame {
	char *name; /* qualified name; a native frame's symbol, or [object+0xfunc] */
	char *file; /* a native frame's: the object it is in */
	int line;
	int first_line;	  /* co_firstlineno */
	bool native;	  /* with DUMP_NATIVE: a native frame */
	uint64_t address; /* a native frame's */
	/* with DUMP_LOCALS: its arguments and locals (PYLOCALS_SHOWN at most
	 * of locals_total), or why they could not be read */
	struct dump_local *locals;
	size_t nlocals, locals_total;
	const char *locals_error;
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
	/* with DUMP_NATIVE: why there are no native frames (NULL: there
	 * are), and whether the native stack was cut */
	const char *native_error;
	bool native_cut;
};

struct dump {
	struct dump_thread *threads;
	size_t nthreads;
};

#define DUMP_NONBLOCKING 1u /* never hold a thread still */
#define DUMP_LOCALS	 2u /* read each frame's arguments and locals */
/* native frames too, merged with the Python frames as record folds them
 * (profile/view.h): the interpreter's own frames folded into the Python
 * frames they run; every thread is held still for its walk */
#define DUMP_NATIVE    4u
#define PYLOCALS_SHOWN 64 /* variables of a frame shown, at most */
#define DUMP_TASKS     8u /* the asyncio tasks instead (pytasks_print) */

/* Walks every thread of pp's interpreters.  A running thread whose stack
 * changes faster than it can be read is held still (ptrace) for one walk,
 * unless DUMP_NONBLOCKING; with DUMP_LOCALS each frame's variables are
 * read after the walk that held (the thread running on: a variable that
 * changes meanwhile shows its new value); with DUMP_NATIVE every thread is
 * held still for its walk and its native unwind (overriding
 * DUMP_NONBLOCKING).  Returns 0, or -1 with err set. */
int dump_process(const struct pyprocess *pp, struct dump *out, unsigned flags, char *err,
		 size_t errlen);
void dump_free(struct dump *d);

void dump_print_text(const struct pyprocess *pp, const struct dump *d, FILE *out);
void dump_print_json(const struct pyprocess *pp, const struct dump *d, FILE *out);

#endif
