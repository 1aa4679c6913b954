/* dump.c - the current Python stack of every thread of a process, walked
 * from userspace with the unwinding steps the BPF side uses
 * (include/pyunwind.h over process_vm_readv). */
#include "python/dump.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "python/symbols.h"
#include "sys/memread.h"
#include "sys/procfs.h"
#include "sys/textesc.h"

static inline long pyu_read(void *rctx, void *dst, __u32 len, __u64 addr)
{
	return mem_read(*(pid_t *)rctx, addr, dst, len);
}

#include "pyunwind.h"

static void read_task(pid_t pid, struct dump_thread *t)
{
	procfs_comm(pid, t->tid, t->comm, sizeof(t->comm));
	if (!t->comm[0])
		snprintf(t->comm, sizeof(t->comm), "?");
	t->state = t->tid ? procfs_task_state(pid, t->tid) : '?';
}

static int add_frame(struct dump_thread *t, struct pysym_cache *syms, const struct pyu_frame *fr)
{
	struct dump_frame *nf = realloc(t->frames, (t->nframes + 1) * sizeof(*nf));
	if (!nf)
		return -1;
	t->frames = nf;
	struct dump_frame *d = &t->frames[t->nframes++];
	const struct pysym *s = pysym_get(syms, fr->code, fr->tag);
	d->name = strdup(s ? s->qualname : "[unknown Python frame]");
	d->file = strdup(s ? s->filename : "");
	d->line = s ? pysym_line(syms, s, fr->instr) : 0;
	d->first_line = s ? s->firstlineno : 0;
	return d->name && d->file ? 0 : -1;
}

static int walk_thread(const struct pyprocess *pp, struct pysym_cache *syms, uint64_t ts,
		       struct dump_thread *t)
{
	const struct py_layout *L = &pp->layout.bpf;
	pid_t pid = pp->pid;
	uint8_t fbuf[PYBPF_BUF], cbuf[PYBPF_BUF];
	__u64 frame, ident = 0;

	pyu_read_u64(&pid, ts + L->ts_thread_id, &ident);
	t->thread_id = ident;
	if (pyu_current_frame(L, &pid, ts, &frame)) {
		t->error = "cannot read the thread's current frame";
		return 0;
	}
	for (size_t i = 0; frame; i++) {
		struct pyu_frame fr;
		if (t->nframes >= DUMP_MAX_FRAMES || i >= 2 * DUMP_MAX_FRAMES) {
			t->truncated = true;
			break;
		}
		long r = pyu_frame(L, &pid, frame, pp->code_type_addr, fbuf, cbuf, &fr);
		if (r) {
			t->error = r == PYU_BADCODE ? "a frame's code object is invalid"
						    : "a frame could not be read";
			break;
		}
		frame = fr.previous;
		if (!fr.skip && add_frame(t, syms, &fr))
			return -1;
	}
	return 0;
}

static struct dump_thread *new_thread(struct dump *d)
{
	struct dump_thread *nt = realloc(d->threads, (d->nthreads + 1) * sizeof(*nt));
	if (!nt)
		return NULL;
	d->threads = nt;
	memset(&nt[d->nthreads], 0, sizeof(*nt));
	return &nt[d->nthreads++];
}

/* Host tids of the process's threads and the tids its own pid namespace
 * gives them (NSpid), which is what the interpreter and libc record. */
struct tid_map {
	uint32_t *host, *ns;
	size_t n;
};

static int read_tid_map(pid_t pid, struct tid_map *m)
{
	m->host = procfs_tasks(pid, &m->n);
	m->ns = calloc(m->n ? m->n : 1, sizeof(*m->ns));
	if (!m->host || !m->ns)
		return -1;
	for (size_t i = 0; i < m->n; i++)
		m->ns[i] = procfs_nspid(pid, m->host[i]);
	return 0;
}

static void free_tid_map(struct tid_map *m)
{
	free(m->host);
	free(m->ns);
}

static uint32_t host_tid(const struct tid_map *m, uint32_t ns_tid)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->ns[i] == ns_tid)
			return m->host[i];
	return 0;
}

/* Before 3.11 a thread state names its thread only by pthread_t, the
 * address of libc's struct pthread, which holds the tid at an offset that
 * varies between libc versions.  Find it: the first offset where the main
 * thread's struct holds its tid and every other thread's a distinct tid. */
static int pthread_tid_offset(pid_t pid, pid_t ns_pid, const __u64 *keys, size_t n,
			      const struct tid_map *m)
{
	uint32_t(*bufs)[512] = calloc(64, sizeof(*bufs));
	size_t nb = n < 64 ? n : 64;
	int off = -1;
	if (!bufs)
		return -1;
	for (size_t i = 0; i < nb; i++)
		if (mem_read(pid, keys[i], bufs[i], sizeof(bufs[i])))
			memset(bufs[i], 0, sizeof(bufs[i]));
	for (size_t j = 1; j < 512; j++) {
		size_t main_hits = 0, valid = 0;
		for (size_t i = 0; i < nb; i++) {
			main_hits += bufs[i][j] == (uint32_t)ns_pid;
			valid += host_tid(m, bufs[i][j]) != 0;
		}
		if (main_hits == 1 && valid == nb) {
			off = (int)(j * sizeof(uint32_t));
			break;
		}
	}
	free(bufs);
	return off;
}

/* The host tid of the thread of a thread state. */
static uint32_t thread_tid(const struct pyprocess *pp, __u64 ts, __u64 pthread, int tid_off,
			   const struct tid_map *m)
{
	uint32_t ns_tid = 0;
	uint64_t native = 0;
	if (pp->layout.ts_native_tid != PYL_NO_FIELD) {
		if (mem_read_u64(pp->pid, ts + pp->layout.ts_native_tid, &native) == 0)
			ns_tid = (uint32_t)native;
	} else if (tid_off >= 0) {
		mem_read(pp->pid, pthread + (uint64_t)tid_off, &ns_tid, sizeof(ns_tid));
	}
	return ns_tid ? host_tid(m, ns_tid) : 0;
}

/* Every thread state of every interpreter: addresses and thread keys. */
static size_t list_tstates(const struct pyprocess *pp, __u64 *ts_out, __u64 *keys, size_t max)
{
	const struct py_layout *L = &pp->layout.bpf;
	pid_t pid = pp->pid;
	__u64 interp = 0, ts = 0, next = 0;
	size_t n = 0;

	if (pyu_first_interp(L, &pid, pp->runtime_addr, &interp))
		return 0;
	for (int guard = 0; interp && guard < 64; guard++) {
		if (pyu_interp_threads(L, &pid, interp, &ts))
			break;
		for (; ts && n < max; ts = next) {
			if (pyu_tstate(L, &pid, ts, &keys[n], &next))
				break;
			ts_out[n++] = ts;
		}
		if (pyu_interp_next(L, &pid, interp, &interp))
			break;
	}
	return n;
}

int dump_process(const struct pyprocess *pp, struct dump *d, char *err, size_t errlen)
{
	__u64 *tstates = calloc(PYBPF_MAX_THREADS, sizeof(*tstates));
	__u64 *keys = calloc(PYBPF_MAX_THREADS, sizeof(*keys));
	struct pysym_cache *syms = pysym_cache_new(pp->pid, &pp->layout, pp->minor);
	struct tid_map m = {0};
	int ret = -1;

	memset(d, 0, sizeof(*d));
	err[0] = 0;
	if (!tstates || !keys || !syms)
		goto out;
	if (read_tid_map(pp->pid, &m)) {
		snprintf(err, errlen, "pid %d: cannot list its threads: %s", (int)pp->pid,
			 strerror(errno));
		goto out;
	}
	size_t n = list_tstates(pp, tstates, keys, PYBPF_MAX_THREADS);
	if (!n) {
		snprintf(err, errlen, "pid %d: cannot read its thread list: %s", (int)pp->pid,
			 strerror(errno));
		goto out;
	}
	int tid_off = pp->layout.ts_native_tid == PYL_NO_FIELD
			      ? pthread_tid_offset(pp->pid, pp->ns_pid, keys, n, &m)
			      : 0;
	for (size_t i = 0; i < n; i++) {
		struct dump_thread *t = new_thread(d);
		if (!t)
			goto out;
		t->tid = thread_tid(pp, tstates[i], keys[i], tid_off, &m);
		read_task(pp->pid, t);
		if (walk_thread(pp, syms, tstates[i], t))
			goto out;
	}
	ret = 0;
out:
	if (ret && !err[0])
		snprintf(err, errlen, "pid %d: out of memory", (int)pp->pid);
	if (ret)
		dump_free(d);
	pysym_cache_free(syms);
	free_tid_map(&m);
	free(tstates);
	free(keys);
	return ret;
}

void dump_free(struct dump *d)
{
	for (size_t i = 0; i < d->nthreads; i++) {
		for (size_t j = 0; j < d->threads[i].nframes; j++) {
			free(d->threads[i].frames[j].name);
			free(d->threads[i].frames[j].file);
		}
		free(d->threads[i].frames);
	}
	free(d->threads);
	memset(d, 0, sizeof(*d));
}

static const char *state_name(char s)
{
	switch (s) {
	case 'R':
		return "running";
	case 'S':
		return "sleeping";
	case 'D':
		return "disk wait";
	case 'T':
	case 't':
		return "stopped";
	default:
		return "unknown";
	}
}

void dump_print_text(const struct pyprocess *pp, const struct dump *d, FILE *out)
{
	fprintf(out, "Process %d: CPython %u.%u.%u (%s)\n", (int)pp->pid, pp->major, pp->minor,
		pp->micro, pp->object);
	for (size_t i = 0; i < d->nthreads; i++) {
		const struct dump_thread *t = &d->threads[i];
		fprintf(out, "\nThread %u (%s): \"%s\" ident 0x%llx\n", t->tid,
			state_name(t->state), t->comm, (unsigned long long)t->thread_id);
		for (size_t j = 0; j < t->nframes; j++)
			fprintf(out, "    %s (%s:%d)\n", t->frames[j].name, t->frames[j].file,
				t->frames[j].line);
		if (!t->nframes && !t->error)
			fprintf(out, "    (no Python frames)\n");
		if (t->truncated)
			fprintf(out, "    [truncated after %d frames]\n", DUMP_MAX_FRAMES);
		if (t->error)
			fprintf(out, "    [stack incomplete: %s]\n", t->error);
	}
}

void dump_print_json(const struct pyprocess *pp, const struct dump *d, FILE *out)
{
	fprintf(out, "{\"pid\": %d, \"version\": \"%u.%u.%u\", \"object\": ", (int)pp->pid,
		pp->major, pp->minor, pp->micro);
	json_write_string(out, pp->object);
	fprintf(out, ", \"threads\": [");
	for (size_t i = 0; i < d->nthreads; i++) {
		const struct dump_thread *t = &d->threads[i];
		fprintf(out, "%s\n  {\"tid\": %u, \"ident\": %llu, \"name\": ", i ? "," : "",
			t->tid, (unsigned long long)t->thread_id);
		json_write_string(out, t->comm);
		fprintf(out,
			", \"state\": \"%s\", \"truncated\": %s, \"error\": ", state_name(t->state),
			t->truncated ? "true" : "false");
		if (t->error)
			json_write_string(out, t->error);
		else
			fputs("null", out);
		fprintf(out, ", \"frames\": [");
		for (size_t j = 0; j < t->nframes; j++) {
			fprintf(out, "%s{\"name\": ", j ? ", " : "");
			json_write_string(out, t->frames[j].name);
			fprintf(out, ", \"file\": ");
			json_write_string(out, t->frames[j].file);
			fprintf(out, ", \"line\": %d}", t->frames[j].line);
		}
		fprintf(out, "]}");
	}
	fprintf(out, "\n]}\n");
}
