/* waitstats.c - per-thread and per-stack time on CPU, with the GIL and off
 * CPU by reason. */
#include "report/waitstats.h"

#include <stdlib.h>
#include <string.h>

static const char *const reason_names[REASON__COUNT] = {
	[REASON_NONE] = "cpu",		[REASON_GIL] = "gil",	  [REASON_LOCK] = "lock",
	[REASON_SOCKET] = "socket",	[REASON_FILE] = "file",	  [REASON_SLEEP] = "sleep",
	[REASON_RUNQUEUE] = "runqueue", [REASON_OTHER] = "other", [REASON_DB] = "db",
};

const char *waitstats_reason_name(unsigned reason)
{
	return reason < REASON__COUNT ? reason_names[reason] : "other";
}

void waitstats_free(struct waitstats *w)
{
	free(w->threads);
	free(w->stacks);
	htab_free(&w->thread_ix);
	htab_free(&w->stack_ix);
	memset(w, 0, sizeof(*w));
}

struct thread_key {
	const struct waitstats *w;
	uint32_t pid, tid;
};

static bool same_thread(const void *ctx, uint32_t i)
{
	const struct thread_key *k = ctx;
	return k->w->threads[i].tid == k->tid && k->w->threads[i].pid == k->pid;
}

static struct ws_thread *thread_of(struct waitstats *w, uint32_t pid, uint32_t tid)
{
	struct thread_key k = {w, pid, tid};
	uint64_t h = ((uint64_t)pid << 32) | tid;
	int64_t i = htab_get(&w->thread_ix, h, same_thread, &k);
	if (i >= 0)
		return &w->threads[i];
	if (htab_put(&w->thread_ix, h, (uint32_t)w->nthreads))
		return NULL;
	if (w->nthreads == w->threads_cap) {
		size_t ncap = w->threads_cap ? w->threads_cap * 2 : 16;
		struct ws_thread *nt = realloc(w->threads, ncap * sizeof(*nt));
		if (!nt) {
			htab_del(&w->thread_ix, h, (uint32_t)w->nthreads);
			return NULL;
		}
		w->threads = nt;
		w->threads_cap = ncap;
	}
	struct ws_thread *t = &w->threads[w->nthreads++];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->tid = tid;
	return t;
}

struct stack_key {
	const struct waitstats *w;
	uint32_t cat, tid;
	uint64_t hash;
};

static bool same_stack(const void *ctx, uint32_t i)
{
	const struct stack_key *k = ctx;
	const struct ws_stack *s = &k->w->stacks[i];
	return s->category == k->cat && s->tid == k->tid && s->hash == k->hash;
}

static int stack_add(struct waitstats *w, uint32_t cat, uint32_t tid, uint64_t hash, uint64_t count,
		     uint64_t ns)
{
	struct stack_key k = {w, cat, tid, hash};
	uint64_t h = hash ^ ((uint64_t)cat << 56) ^ ((uint64_t)tid << 20);
	int64_t i = htab_get(&w->stack_ix, h, same_stack, &k);
	if (i >= 0) {
		w->stacks[i].count += count;
		w->stacks[i].ns += ns;
		return 0;
	}
	if (w->nstacks == w->stacks_cap) {
		size_t ncap = w->stacks_cap ? w->stacks_cap * 2 : 64;
		struct ws_stack *ns_ = realloc(w->stacks, ncap * sizeof(*ns_));
		if (!ns_)
			return -1;
		w->stacks = ns_;
		w->stacks_cap = ncap;
	}
	if (htab_put(&w->stack_ix, h, (uint32_t)w->nstacks))
		return -1;
	w->stacks[w->nstacks++] = (struct ws_stack){cat, tid, hash, count, ns};
	return 0;
}

static int add_offcpu(struct waitstats *w, struct ws_thread *t, uint64_t hash, uint8_t reason,
		      uint8_t holds_gil, uint64_t count, uint64_t ns)
{
	if (reason >= REASON__COUNT)
		reason = REASON_OTHER;
	t->offcpu_ns[reason] += ns;
	if (holds_gil)
		t->held_offcpu_ns += ns;
	if (reason == REASON_GIL && stack_add(w, WS_GIL_WAIT, 0, hash, count, ns))
		return -1;
	return stack_add(w, WS_REASON + reason, 0, hash, count, ns);
}

int waitstats_add(struct waitstats *w, const struct pybpf_count_key *key,
		  const struct pybpf_count *val)
{
	struct ws_thread *t = thread_of(w, key->pid, key->tid);
	if (!t)
		return -1;
	if (key->kind == KIND_OFFCPU)
		return add_offcpu(w, t, key->hash, key->reason, key->holds_gil, val->count,
				  val->ns);
	t->cpu_samples += val->count;
	if (!key->holds_gil)
		return 0;
	t->hold_samples += val->count;
	if (stack_add(w, WS_HOLD, key->tid, key->hash, val->count, 0))
		return -1;
	if (!key->waiters)
		return 0;
	t->hold_contended_samples += val->count;
	return stack_add(w, WS_HOLD_CONTENDED, 0, key->hash, val->count, 0);
}

static uint64_t weight(const struct ws_stack *s)
{
	return s->ns ? s->ns : s->count;
}

size_t waitstats_top(const struct waitstats *w, uint32_t category, uint32_t tid,
		     const struct ws_stack **out, size_t n)
{
	size_t got = 0;
	for (size_t i = 0; i < w->nstacks; i++) {
		const struct ws_stack *s = &w->stacks[i];
		if (s->category != category || s->tid != tid)
			continue;
		/* insertion into the top n, heaviest first */
		size_t j = got < n ? got++ : n;
		if (j == n && (n == 0 || weight(out[n - 1]) >= weight(s)))
			continue;
		if (j == n)
			j = n - 1;
		while (j > 0 && weight(out[j - 1]) < weight(s)) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = s;
	}
	return got;
}
