/* pyunwind.h - the CPython unwinding steps, shared by the BPF program
 * (bpf/walk.bpf.h, bpf/tstate.bpf.h) and userspace (daemon/python/unwind.c).
 *
 * Before including, define:
 *   static __always_inline long pyu_read(void *rctx, void *dst, __u32 len, __u64 addr);
 * which copies len bytes of the target's memory at addr into dst and returns 0
 * on success.  Every offset comes from a struct py_layout record; every read is
 * at most PYBPF_BUF bytes, and every field is checked against that bound.
 */
#ifndef PYBPF_PYUNWIND_H
#define PYBPF_PYUNWIND_H

#include "pybpf_shared.h"

#ifndef PYU_INLINE
#define PYU_INLINE static inline __attribute__((always_inline))
#endif

enum pyu_status {
	PYU_OK = 0,
	PYU_FAULT = -1,	  /* a read of the target failed */
	PYU_BADCODE = -2, /* f_code is not a code object */
};

/* Fields of a buffer read from the target, bounds-checked. */
PYU_INLINE __u64 pyu_u64(const __u8 *buf, __u32 off)
{
	if (off > PYBPF_BUF - 8)
		return 0;
	return *(const __u64 *)(buf + off);
}

PYU_INLINE __u32 pyu_u32(const __u8 *buf, __u32 off)
{
	if (off > PYBPF_BUF - 4)
		return 0;
	return *(const __u32 *)(buf + off);
}

PYU_INLINE __u8 pyu_u8(const __u8 *buf, __u32 off)
{
	if (off > PYBPF_BUF - 1)
		return 0;
	return buf[off];
}

PYU_INLINE long pyu_read_u64(void *rctx, __u64 addr, __u64 *out)
{
	*out = 0;
	return pyu_read(rctx, out, sizeof(*out), addr);
}

/* Bytes to read for a struct, bounded for the verifier. */
PYU_INLINE __u32 pyu_len(__u32 n)
{
	n &= 0xff;
	if (n > PYBPF_BUF)
		n = PYBPF_BUF;
	if (n < 8)
		n = 8;
	return n;
}

/* The head of the first interpreter's thread list. */
PYU_INLINE long pyu_first_interp(const struct py_layout *L, void *rctx, __u64 runtime,
				 __u64 *interp)
{
	return pyu_read_u64(rctx, runtime + L->rt_interp_head, interp);
}

PYU_INLINE long pyu_interp_threads(const struct py_layout *L, void *rctx, __u64 interp,
				   __u64 *tstate)
{
	return pyu_read_u64(rctx, interp + L->interp_tstate_head, tstate);
}

PYU_INLINE long pyu_interp_next(const struct py_layout *L, void *rctx, __u64 interp, __u64 *next)
{
	return pyu_read_u64(rctx, interp + L->interp_next, next);
}

/* One thread state: the pthread_t of its thread, and the next state in the
 * list.  The pthread_t names a thread in every version and namespace: it is
 * the thread's TCB, which is the task's fs base on x86-64 (glibc and musl),
 * while native_thread_id (3.11+) holds the tid of the process's own pid
 * namespace, not the host's. */
PYU_INLINE long pyu_tstate(const struct py_layout *L, void *rctx, __u64 ts, __u64 *pthread,
			   __u64 *next)
{
	if (pyu_read_u64(rctx, ts + L->ts_thread_id, pthread))
		return PYU_FAULT;
	return pyu_read_u64(rctx, ts + L->ts_next, next);
}

/* The thread's innermost frame (0 when it runs no Python code). */
PYU_INLINE long pyu_current_frame(const struct py_layout *L, void *rctx, __u64 ts, __u64 *frame)
{
	__u64 p;
	if (pyu_read_u64(rctx, ts + L->ts_frame, &p))
		return PYU_FAULT;
	if (!(L->flags & PYL_TSTATE_VIA_CFRAME) || !p) {
		*frame = p;
		return PYU_OK;
	}
	return pyu_read_u64(rctx, p + L->cframe_current, frame);
}

/* A hash of the code object's immutable ints, to tell a reused address. */
PYU_INLINE __u32 pyu_code_tag(const struct py_layout *L, const __u8 *cbuf)
{
	__u32 h = 2166136261u;
	for (int i = 0; i < 5; i++)
		h = (h ^ pyu_u32(cbuf, L->co_tag + 4 * i)) * 16777619u;
	return h;
}

struct pyu_frame {
	__u64 previous; /* next frame towards the root */
	__u64 code;
	__s32 instr; /* byte offset of the instruction from the first one */
	__u32 tag;
	__u8 skip;     /* a shim frame owned by the C stack: not a Python frame */
	__u8 entry;    /* this frame was entered from C */
	__u8 boundary; /* skip frame that marks the frame before it as entered from C */
	__u8 coro;     /* a coroutine's frame (owned by it, code of an async def) */
};

/* Reads the frame at addr (and its code object) into out.  fbuf and cbuf
 * are scratch buffers of PYBPF_BUF bytes. */
PYU_INLINE long pyu_frame(const struct py_layout *L, void *rctx, __u64 addr, __u64 code_type,
			  __u8 *fbuf, __u8 *cbuf, struct pyu_frame *out)
{
	__u64 code, instr;

	out->skip = out->entry = out->boundary = out->coro = 0;
	if (pyu_read(rctx, fbuf, pyu_len(L->fr_read), addr))
		return PYU_FAULT;
	out->previous = pyu_u64(fbuf, L->fr_previous);
	if (L->fr_owner != PYL_NO_FIELD) {
		__u8 owner = pyu_u8(fbuf, L->fr_owner);
		if (owner == L->owner_cstack) {
			out->skip = out->boundary = 1;
			return PYU_OK;
		}
	}
	if (L->fr_is_entry != PYL_NO_FIELD && pyu_u8(fbuf, L->fr_is_entry))
		out->entry = 1;
	if (L->flags & PYL_FRAME_OBJECTS)
		out->entry = 1; /* every PyFrameObject runs in its own eval call */

	code = pyu_u64(fbuf, L->fr_code);
	if (L->flags & PYL_CODE_TAGGED)
		code &= ~7ULL;
	if (!code)
		return PYU_BADCODE;
	if (pyu_read(rctx, cbuf, pyu_len(L->co_read), code))
		return PYU_FAULT;
	if (code_type && pyu_u64(cbuf, L->ob_type) != code_type)
		return PYU_BADCODE;
	out->code = code;
	out->tag = pyu_code_tag(L, cbuf);
	if (L->owner_gen != PYL_NO_OWNER && pyu_u8(fbuf, L->fr_owner) == L->owner_gen &&
	    (pyu_u32(cbuf, L->co_flags) & PYBPF_CO_COROUTINE))
		out->coro = 1;
	if (L->flags & PYL_FRAME_OBJECTS) {
		__u32 lasti = pyu_u32(fbuf, L->fr_instr);
		/* 3.10 counts code units (unsigned: a wild value wraps, no UB) */
		out->instr = (__s32)((L->flags & PYL_LASTI_BYTES) ? lasti : lasti * 2);
		return PYU_OK;
	}
	instr = pyu_u64(fbuf, L->fr_instr);
	out->instr = (__s32)(__s64)(instr - (code + L->co_code));
	return PYU_OK;
}

/* Mixes one captured frame into a running stack hash. */
PYU_INLINE __u64 pyu_hash(__u64 h, __u64 a, __u64 b)
{
	h ^= a + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	h ^= b + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

#endif
