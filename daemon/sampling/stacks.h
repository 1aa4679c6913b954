/* stacks.h - the aggregator's table of known stacks: each stack hash (from
 * the kernel, or built in userspace) with its frames as indices into a frame
 * table, and when it was last used, so that long runs can forget the stacks
 * no longer seen. */
#ifndef PYBPF_STACKS_H
#define PYBPF_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"
#include "sys/htab.h"

struct stack_entry {
	uint64_t hash;
	uint32_t *frames; /* indices into the frame table, leaf first */
	uint32_t n;
	uint32_t pid;
	uint64_t sweep;	     /* the sweep generation it was last used in */
	char *task;	     /* the asyncio task it ran in (malloc'd), NULL if none */
	char *task_parents;  /* the tasks awaiting it, outermost first ("a > b"), or NULL */
	uint64_t coro;	     /* pybpf_stack.coro: its task's coroutine frame, 0 if none */
	uint32_t coro_split; /* frames[] index just past that coroutine's frame */
	bool task_settled;   /* its task (and the tasks awaiting it) found for good */
	char *endpoint;	     /* the view of the request it serves (malloc'd), NULL if none */
};

struct stack_table {
	struct stack_entry *e;
	size_t n, cap;
	struct htab index; /* hash -> e[] */
	uint64_t sweep;	   /* sweeps so far */
};

int stacks_init(struct stack_table *t);
void stacks_free(struct stack_table *t);

struct stack_entry *stacks_find(struct stack_table *t, uint64_t hash);
/* Adds a stack (frames copied), used now.  0 or -1 (ENOMEM). */
int stacks_insert(struct stack_table *t, uint64_t hash, uint32_t pid, const uint32_t *frames,
		  uint32_t n);
/* Marks a stack used in the current sweep generation. */
static inline void stacks_touch(struct stack_table *t, struct stack_entry *e)
{
	e->sweep = t->sweep;
}

/* Called for a kernel stack (bit 63 clear) the table is about to forget, so
 * that the kernel sends it again should it recur. */
typedef void (*stacks_forget_fn)(void *ctx, uint64_t hash);

/* Starts a new sweep generation and drops the stacks unused for more than
 * keep generations, in two steps: forget(ctx, hash) for a kernel stack
 * unused for keep, and its entry dropped one generation later if it stayed
 * unused, so a sample the kernel counted just before the first step (not
 * drained yet) still finds it.  Returns how many it dropped, -1 on ENOMEM
 * (then nothing changed). */
long stacks_sweep(struct stack_table *t, uint32_t keep, stacks_forget_fn forget, void *ctx);

/* Drops the stacks of the processes in pids (sorted; gone for good), with
 * forget(ctx, hash) for each kernel stack among them.  Returns how many. */
long stacks_drop_pids(struct stack_table *t, const uint32_t *pids, size_t npids,
		      stacks_forget_fn forget, void *ctx);

/* Rebuilds *frames with only the frames the stacks still use, renumbering
 * the stacks.  0, or -1 on ENOMEM (then nothing changed). */
int stacks_compact_frames(struct stack_table *t, struct profile *frames, uint32_t rate_hz);

#endif
