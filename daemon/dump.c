/* dump.c - the current Python stack of every thread of a process. */
#include "dump.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memread.h"
#include "pysymbols.h"

static inline long pyu_read(void *rctx, void *dst, __u32 len, __u64 addr)
{
	return mem_read(*(pid_t *)rctx, addr, dst, len);
}

#include "pyunwind.h"

static void read_task(pid_t pid, struct dump_thread *t)
{
	char fn[64], buf[512];
	snprintf(t->comm, sizeof(t->comm), "?");
	t->state = '?';
	snprintf(fn, sizeof(fn), "/proc/%d/task/%u/comm", (int)pid, t->tid);
	FILE *f = fopen(fn, "re");
	if (f) {
		if (fgets(t->comm, sizeof(t->comm), f))
			t->comm[strcspn(t->comm, "\n")] = 0;
		fclose(f);
	}
	snprintf(fn, sizeof(fn), "/proc/%d/task/%u/stat", (int)pid, t->tid);
	f = fopen(fn, "re");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		char *rp = strrchr(buf, ')');
		if (rp && rp[1] == ' ')
			t->state = rp[2];
	}
	fclose(f);
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
	return d->name && d->file ? 0 : -1;
}

static int walk_thread(const struct pyprocess *pp, struct pysym_cache *syms, uint64_t ts,
		       struct dump_thread *t)
{
	const struct py_layout *L = pp->layout;
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

int dump_process(const struct pyprocess *pp, struct dump *d, char *err, size_t errlen)
{
	const struct py_layout *L = pp->layout;
	pid_t pid = pp->pid;
	__u64 interp = 0, ts = 0, tid = 0, next = 0;
	int ret = -1;

	memset(d, 0, sizeof(*d));
	struct pysym_cache *syms = pysym_cache_new(pid, L, pp->minor);
	if (!syms) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (pyu_first_interp(L, &pid, pp->runtime_addr, &interp)) {
		snprintf(err, errlen, "pid %d: cannot read _PyRuntime: %s", (int)pid,
			 strerror(errno));
		goto out;
	}
	for (int n = 0; interp && n < PYBPF_MAX_THREADS; n++) {
		if (pyu_interp_threads(L, &pid, interp, &ts))
			break;
		for (; ts && n < PYBPF_MAX_THREADS; n++, ts = next) {
			if (pyu_tstate(L, &pid, ts, &tid, &next))
				break;
			struct dump_thread *t = new_thread(d);
			if (!t)
				goto out;
			t->tid = (uint32_t)tid;
			read_task(pid, t);
			if (walk_thread(pp, syms, ts, t))
				goto out;
		}
		if (pyu_interp_next(L, &pid, interp, &interp))
			break;
	}
	ret = 0;
out:
	if (ret && !err[0])
		snprintf(err, errlen, "pid %d: out of memory", (int)pid);
	pysym_cache_free(syms);
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

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void dump_print_json(const struct pyprocess *pp, const struct dump *d, FILE *out)
{
	fprintf(out, "{\"pid\": %d, \"version\": \"%u.%u.%u\", \"object\": ", (int)pp->pid,
		pp->major, pp->minor, pp->micro);
	json_str(out, pp->object);
	fprintf(out, ", \"threads\": [");
	for (size_t i = 0; i < d->nthreads; i++) {
		const struct dump_thread *t = &d->threads[i];
		fprintf(out, "%s\n  {\"tid\": %u, \"ident\": %llu, \"name\": ", i ? "," : "",
			t->tid, (unsigned long long)t->thread_id);
		json_str(out, t->comm);
		fprintf(out,
			", \"state\": \"%s\", \"truncated\": %s, \"error\": ", state_name(t->state),
			t->truncated ? "true" : "false");
		if (t->error)
			json_str(out, t->error);
		else
			fputs("null", out);
		fprintf(out, ", \"frames\": [");
		for (size_t j = 0; j < t->nframes; j++) {
			fprintf(out, "%s{\"name\": ", j ? ", " : "");
			json_str(out, t->frames[j].name);
			fprintf(out, ", \"file\": ");
			json_str(out, t->frames[j].file);
			fprintf(out, ", \"line\": %d}", t->frames[j].line);
		}
		fprintf(out, "]}");
	}
	fprintf(out, "\n]}\n");
}
