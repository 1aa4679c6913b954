/* pytasks.h - the asyncio tasks of a process, read from outside: each C
 * Task's name, state, coroutine and the future it awaits, for 3.11-3.15.
 * Nothing executes in the target; every read is bounded and counted. */
#ifndef PYBPF_PYTASKS_H
#define PYBPF_PYTASKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "python/pyprocess.h"

#define PYTASK_NAME_MAX	 64
#define PYTASKS_MAX	 65536 /* tasks looked at in one read, at most */
#define PYTASK_STACK_MAX 16    /* coroutines of a task's await chain read */
#define PYTASKS_STACKS	 1u    /* pytasks_read: every task's coroutines */

enum pytask_state { PYTASK_PENDING = 0, PYTASK_CANCELLED = 1, PYTASK_FINISHED = 2 };

struct pytask {
	uint64_t addr;	     /* the Task object */
	uint64_t coro;	     /* its coroutine */
	uint64_t coro_frame; /* the coroutine's frame: what a stack's coro names */
	uint64_t waiter;     /* the future it awaits (pending), 0 if none */
	uint64_t parent;     /* the task that awaits it (through gather or itself), 0 */
	int state;	     /* enum pytask_state, -1 unread */
	bool created;	     /* pending, its coroutine never ran: who awaits it may not
			      * be known yet (its creator runs on) */
	/* its coroutines, outermost first: the task's own, then each one it
	 * awaits (the object on top of a suspended coroutine's stack), as a
	 * walk captures frames (code, tag, instruction); read for the tasks
	 * that are parents, or for every task with PYTASKS_STACKS */
	struct py_frame stack[PYTASK_STACK_MAX];
	uint32_t nstack;
	char name[PYTASK_NAME_MAX];
};

/* Whether pp's version has a record (3.11+). */
int pytasks_supported(const struct pyprocess *pp);

/* Every Task of pp (at most max; *total counts all found), with their
 * parents.  Returns how many were stored, or -1 with err set (no asyncio
 * imported is 0 tasks, not an error). */
long pytasks_read(const struct pyprocess *pp, struct pytask *out, size_t max, size_t *total,
		  unsigned flags, char *err, size_t errlen);

/* "pending", "cancelled", "finished" or "?" */
const char *pytask_state_name(int state);

/* `pybpfctl dump --tasks`: every task of pp with its state, its coroutine
 * where it is suspended (or runs), what it awaits and who awaits it; text,
 * or JSON ({"pid", "python", "tasks": [...], "tasks_total"}).  0, or -1
 * with err set. */
int pytasks_print(const struct pyprocess *pp, bool json, FILE *out, char *err, size_t errlen);

#endif
