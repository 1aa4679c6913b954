/* sqlnorm.h - a SQL statement's text made a template: its literals (quoted
 * strings, numbers) become '?', runs of blanks one space.  One step per
 * input byte, for the BPF side (which normalises in the uprobe on the
 * driver's call, so that a statement's values never leave the kernel) and
 * userspace (its tests, its fuzzing).  Private by construction: a quoted
 * literal is dropped up to its closing quote, a backslash escaping the next
 * byte (MySQL's 'it\'s'); where the server does not escape (PostgreSQL's
 * 'C:\'), more is dropped, never less. */
#ifndef PYBPF_SQLNORM_H
#define PYBPF_SQLNORM_H

#include "pybpf_shared.h"

#ifdef __BPF__
#define SQLNORM_INLINE static __always_inline
#else
#define SQLNORM_INLINE static inline
#endif

#define SQLNORM_FNV_INIT 2166136261u

struct sqlnorm {
	__u32 hash;    /* FNV-1a of the template so far */
	__u8 quote;    /* inside a literal opened by this quote, 0 outside */
	__u8 esc;      /* the byte before was a backslash inside a literal */
	__u8 in_num;   /* inside a number (made '?' at its first byte) */
	__u8 in_ident; /* the last byte was part of a name: t1, col_2 */
	__u8 last;     /* the last byte of the template, 0 at its start */
	__u8 pad[3];
};

SQLNORM_INLINE int sqlnorm_alnum(__u8 c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_' || c >= 0x80;
}

/* The template byte for input byte c (not 0), or 0 for none. */
SQLNORM_INLINE __u8 sqlnorm_byte(struct sqlnorm *n, __u8 c)
{
	if (n->quote) {
		if (n->esc)
			n->esc = 0;
		else if (c == '\\')
			n->esc = 1;
		else if (c == n->quote)
			n->quote = 0;
		return 0;
	}
	if (n->in_num) {
		if (sqlnorm_alnum(c) || c == '.')
			return 0; /* 3.14, 0x1F, 1e10 */
		n->in_num = 0;
	}
	if (c == '\'') {
		n->quote = c;
		n->in_ident = 0;
		return n->last == '?' ? 0 : '?'; /* 'it''s': one '?' */
	}
	if (c >= '0' && c <= '9' && !n->in_ident) {
		n->in_num = 1;
		return '?';
	}
	n->in_ident = sqlnorm_alnum(c);
	if (c <= ' ') /* blanks, and control bytes (SQLNORM_SKIP among them) */
		return n->last == ' ' || n->last == 0 ? 0 : ' ';
	return c;
}

/* Where a byte of the input made none of the template: the kernel writes
 * the template at the input's positions (one index, so the verifier's
 * states stay few), userspace drops these (sqlnorm_compact). */
#define SQLNORM_SKIP 1

/* The template's byte at the position of input byte c (not 0), hashed:
 * a byte, or SQLNORM_SKIP. */
SQLNORM_INLINE __u8 sqlnorm_step(struct sqlnorm *n, __u8 c)
{
	__u8 b = sqlnorm_byte(n, c);
	if (!b)
		return SQLNORM_SKIP;
	n->last = b;
	n->hash = (n->hash ^ b) * 16777619u;
	return b;
}

#ifndef __BPF__
/* A template written at its input's positions, made contiguous in place
 * (at most len bytes, NUL-ended after); its length. */
static inline unsigned long sqlnorm_compact(char *t, unsigned long len)
{
	unsigned long j = 0;
	for (unsigned long i = 0; i < len && t[i]; i++)
		if (t[i] != SQLNORM_SKIP)
			t[j++] = t[i];
	if (j < len)
		t[j] = 0;
	else if (len)
		t[len - 1] = 0;
	return j;
}

/* The template of the C string in, as the kernel makes it (its first
 * PYBPF_SQL_MAX - 1 bytes), into out[PYBPF_SQL_MAX]; its hash, 0 if it
 * is empty (the kernel then keeps none). */
static inline __u32 sqlnorm_template(const char *in, char out[PYBPF_SQL_MAX])
{
	struct sqlnorm n = {.hash = SQLNORM_FNV_INIT};
	unsigned long i;
	for (i = 0; i < PYBPF_SQL_MAX - 1 && in[i]; i++)
		out[i] = (char)sqlnorm_step(&n, (__u8)in[i]);
	out[i] = 0;
	sqlnorm_compact(out, PYBPF_SQL_MAX);
	if (!n.last)
		return 0;
	return n.hash ? n.hash : 1;
}
#endif

#endif
