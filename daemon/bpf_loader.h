/* bpf_loader.h - loads the BPF programs, attaches them to perf events on
 * every CPU, registers processes and reads back stacks, counts and drops. */
#ifndef PYBPF_BPF_LOADER_H
#define PYBPF_BPF_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pybpf_shared.h"
#include "pyprocess.h"

struct bpf_session;

/* Called for every new stack record. */
typedef int (*bpfs_stack_fn)(void *ctx, const void *rec, size_t len);
/* Called for every (stack, thread) count drained. */
typedef int (*bpfs_count_fn)(void *ctx, const struct pybpf_count_key *key, uint64_t n);

/* Loads and attaches at rate_hz samples per second per CPU.  On failure
 * returns NULL and err says why and what to do (privileges, BTF). */
struct bpf_session *bpfs_open(uint32_t rate_hz, bpfs_stack_fn on_stack, void *ctx, char *err,
			      size_t errlen);
/* Stops sampling (detaches from the perf events); maps stay readable. */
void bpfs_stop(struct bpf_session *s);
void bpfs_close(struct bpf_session *s);

int bpfs_add_process(struct bpf_session *s, const struct pyprocess *pp);
int bpfs_remove_process(struct bpf_session *s, pid_t pid);

/* Delivers new stacks; waits at most timeout_ms for the first. */
int bpfs_poll(struct bpf_session *s, int timeout_ms);

/* Moves the counts gathered so far to on_count.  Not final: the generation
 * that was filling is left for the next drain.  Final: everything. */
int bpfs_drain(struct bpf_session *s, int final, bpfs_count_fn on_count, void *ctx);

/* Sums the per-CPU counters (enum pybpf_stat). */
int bpfs_stats(struct bpf_session *s, uint64_t out[STAT__COUNT]);
/* Time the sampling program ran and how often, from the kernel's BPF stats
 * (non-zero only while sysctl kernel.bpf_stats_enabled is 1). */
int bpfs_prog_runtime(struct bpf_session *s, uint64_t *run_ns, uint64_t *run_cnt);
/* Name of a counter, for reports. */
const char *bpfs_stat_name(int stat);

#endif
