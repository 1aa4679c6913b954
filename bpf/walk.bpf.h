/* walk.bpf.h - walking a thread's Python frames into the scratch stack
 * record: code object, instruction offset and tag per frame, entry-frame
 * bits, and the running stack hash. */
#ifndef PYBPF_WALK_BPF_H
#define PYBPF_WALK_BPF_H

#include "maps.bpf.h"
#include "unwind.bpf.h"

struct walk_ctx {
	__u64 frame;
	__u64 code_type;
	__u64 hash;
	__u64 coro;	/* the outermost coroutine frame so far */
	__u32 coro_idx; /* ... its index */
	__u32 n;
	__u32 layout_idx;
	__u32 slot; /* scratch slot */
	long err;
};

static long walk_cb(__u32 i, void *c)
{
	struct walk_ctx *w = c;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &w->slot);
	const struct py_layout *L = bpf_map_lookup_elem(&layouts, &w->layout_idx);
	struct pyu_frame fr;

	if (!s || !L || !w->frame || w->n >= PYBPF_MAX_PY_FRAMES)
		return 1;
	__u64 addr = w->frame;
	w->err = pyu_frame(L, NULL, addr, w->code_type, s->fbuf, s->cbuf, &fr);
	if (w->err)
		return 1;
	w->frame = fr.previous;
	if (fr.coro) {
		w->coro = addr;
		w->coro_idx = w->n;
	}
	__u32 last = (w->n - 1) & (PYBPF_MAX_PY_FRAMES - 1);
	if (fr.skip) {
		if (fr.boundary && w->n)
			s->rec.entry[last / 64] |= 1ULL << (last % 64);
		return 0;
	}
	__u32 idx = w->n & (PYBPF_MAX_PY_FRAMES - 1);
	s->rec.py[idx].code = fr.code;
	s->rec.py[idx].instr = fr.instr;
	s->rec.py[idx].tag = fr.tag;
	if (fr.entry)
		s->rec.entry[idx / 64] |= 1ULL << (idx % 64);
	w->hash = pyu_hash(w->hash, fr.code ^ ((__u64)fr.tag << 32), (__u64)(__u32)fr.instr);
	w->n++;
	return 0;
}

/* Walks up to PYBPF_MAX_PY_FRAMES frames.  The one place that needs
 * bpf_loop (5.17); a tail-call chain would replace it on older kernels. */
static __always_inline void walk_frames(struct walk_ctx *w)
{
	bpf_loop(PYBPF_MAX_PY_FRAMES + 64, walk_cb, w, 0);
}

#endif
