/* follow.h - a process tree followed as it forks and execs (`record
 * --subprocesses`): every Python process of it is registered with a
 * recorder, found from the BPF side's fork, exec and exit events (not by
 * polling), whether its parent is Python or not.  The tree's processes
 * that were there before are found once, from /proc, as it starts. */
#ifndef PYBPF_FOLLOW_H
#define PYBPF_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sampling/pending.h"
#include "sampling/recorder.h"

struct elfcache;

struct follow_proc {
	pid_t pid;
	bool python; /* registered with the recorder */
};

struct follow {
	struct recorder *r;
	struct elfcache *elves;
	struct follow_proc *procs; /* alive */
	size_t n, cap;
	struct pending_list pending; /* forked or exec'd, not yet known to be Python */
	pid_t *pythons;		     /* every process registered, in order */
	size_t npythons, pythons_cap;
	size_t forks, execs, exits; /* events heard */
	uint64_t swept;		    /* when the last look for gone processes was */
	bool failed;		    /* out of memory, or the BPF side refused */
};

/* Follows root's tree from now on: root itself (registered with r already,
 * or looked at until it is Python) and every process below it.  0, or -1
 * with err set. */
int follow_start(struct follow *f, struct recorder *r, struct elfcache *elves, pid_t root,
		 bool registered, char *err, size_t errlen);
/* Registers the followed processes whose interpreters came up (call it
 * after each recorder_step; it waits for nothing). */
void follow_tick(struct follow *f);
/* Processes of the tree alive; true while one waits for its interpreter. */
size_t follow_alive(const struct follow *f);
bool follow_waiting(const struct follow *f);
void follow_free(struct follow *f);

#endif
