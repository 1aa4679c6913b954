/* aggregate.h - turns what the BPF side sends (new stacks, counts by stack
 * hash) into symbolized samples of a profile. */
#ifndef PYBPF_AGGREGATE_H
#define PYBPF_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kallsyms.h"
#include "profile.h"
#include "pybpf_shared.h"
#include "pyprocess.h"

struct agg_proc;
struct agg_stacks;

struct agg_stats {
	uint64_t stacks;	/* distinct stacks received */
	uint64_t unknown_stack; /* samples whose stack never arrived (dropped) */
	uint64_t unknown_code;	/* Python frames whose code object could not be read */
	uint64_t short_records; /* malformed records from the ring buffer (never expected) */
};

struct aggregator {
	struct profile frames;	/* frame interning only: stacks index its frames */
	struct profile *window; /* samples since the last agg_take() */
	uint32_t *remap;	/* frames index -> window index + 1 */
	size_t remap_cap;
	struct agg_stacks *stacks;
	struct agg_proc *procs;
	struct kallsyms ksyms;
	int have_ksyms;
	uint32_t rate_hz;
	struct agg_stats stats;
};

int agg_init(struct aggregator *a, uint32_t rate_hz);
void agg_free(struct aggregator *a);

/* Starts symbolizing pid (its interpreter described by pp). */
int agg_add_process(struct aggregator *a, const struct pyprocess *pp);
void agg_forget_process(struct aggregator *a, pid_t pid);

/* A stack record from the ring buffer (len bytes). */
int agg_stack(struct aggregator *a, const void *rec, size_t len);
/* n samples of the stack key->hash on thread key->tid. */
int agg_count(struct aggregator *a, const struct pybpf_count_key *key, uint64_t n);

/* Hands over the samples gathered so far (caller owns and frees it with
 * profile_free + free) and starts a new window.  NULL on ENOMEM. */
struct profile *agg_take(struct aggregator *a);

#endif
