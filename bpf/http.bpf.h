/* http.bpf.h - HTTP/1.x requests seen at the socket (include/pybpf_shared.h,
 * "HTTP/1.x requests"): the read that brings a request's first bytes, and
 * the write that begins its response, on one descriptor of a registered
 * process. */
#ifndef PYBPF_HTTP_BPF_H
#define PYBPF_HTTP_BPF_H

#include "maps.bpf.h"

/* Set by userspace while requests are measured. */
volatile __u32 http_enabled;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct http_conn_key);
	__type(value, struct http_open);
} http_reqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PYBPF_MAX_THREADS);
	__type(key, __u32); /* tid */
	__type(value, struct http_thread);
} http_threads SEC(".maps");

/* A zeroed http_open: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct http_open);
} http_zero SEC(".maps");

#define HTTP_RB_SIZE (1 << 20)
#define HTTP_RB_WAKE (HTTP_RB_SIZE / 4)
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, HTTP_RB_SIZE);
} http_rb SEC(".maps");

/* ret bytes were read into buf from fd: a request's start when they begin
 * with a method.  A request already open there that was not answered (the
 * client sent another, or the descriptor was reused) is counted and
 * replaced; its body's reads do not begin with a method. */
static __always_inline void http_read(int fd, const void *buf, long ret)
{
	if (!http_enabled || ret < 4)
		return;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id, zero = 0;
	if (!bpf_map_lookup_elem(&procs, &pid))
		return;
	unsigned char head[4];
	if (bpf_probe_read_user(head, sizeof(head), buf) || !pybpf_http_method(head))
		return;
	struct http_open *o = bpf_map_lookup_elem(&http_zero, &zero);
	if (!o)
		return;
	struct http_conn_key k = {.pid = pid, .fd = fd};
	if (bpf_map_lookup_elem(&http_reqs, &k))
		stat_inc(STAT_HTTP_UNANSWERED);
	__u32 n = ret < PYBPF_HTTP_LINE ? (__u32)ret : PYBPF_HTTP_LINE;
	__builtin_memset(o, 0, sizeof(*o));
	if (n > PYBPF_HTTP_LINE) /* for the verifier */
		return;
	if (bpf_probe_read_user(o->line, n, buf))
		return;
	o->start = bpf_ktime_get_ns();
	o->tid = tid;
	o->len = (__u16)n;
	bpf_map_update_elem(&http_reqs, &k, o, BPF_ANY);
	struct http_thread t = {.fd = fd};
	bpf_map_update_elem(&http_threads, &tid, &t, BPF_ANY);
}

/* The thread serves a request now: its switches keep their stacks, since
 * a view that waits (for its database) is seen only off CPU. */
static __always_inline int http_serving(__u32 tid)
{
	return http_enabled && bpf_map_lookup_elem(&http_threads, &tid) != NULL;
}

/* A status line's three digits, or 0. */
static __always_inline __u16 http_status(const unsigned char *b)
{
	__u16 v = 0;
	for (int i = 9; i < 12; i++) {
		if (b[i] < '0' || b[i] > '9')
			return 0;
		v = (__u16)(v * 10 + (b[i] - '0'));
	}
	return v;
}

/* fd is written buf: the response of the request open there when it
 * begins with a status line. */
static __always_inline void http_write(int fd, const void *buf, long len)
{
	if (!http_enabled || len < 12)
		return;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct http_conn_key k = {.pid = pid, .fd = fd};
	struct http_open *o = bpf_map_lookup_elem(&http_reqs, &k);
	if (!o)
		return;
	unsigned char head[12];
	if (bpf_probe_read_user(head, sizeof(head), buf) || head[0] != 'H' || head[1] != 'T' ||
	    head[2] != 'T' || head[3] != 'P' || head[4] != '/' || head[5] != '1')
		return;
	__u64 now = bpf_ktime_get_ns();
	struct pybpf_http_req *e = bpf_ringbuf_reserve(&http_rb, sizeof(*e), 0);
	if (e) {
		e->pid = pid;
		e->tid = o->tid;
		e->start = o->start;
		e->end = now;
		e->status = http_status(head);
		e->len = o->len;
		e->nhash = o->nhash;
		e->pad = 0;
		__builtin_memcpy(e->hash, o->hash, sizeof(e->hash));
		__builtin_memcpy(e->line, o->line, sizeof(e->line));
		/* no wake-up a request (one in the server's system call, costly
		 * in a VM): the reader takes them at its next poll, or when a
		 * quarter of the ring is full */
		__u64 fill = bpf_ringbuf_query(&http_rb, BPF_RB_AVAIL_DATA);
		bpf_ringbuf_submit(e, fill > HTTP_RB_WAKE ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
		stat_inc(STAT_HTTP_REQUESTS);
	} else {
		stat_inc(STAT_DROP_HTTP);
	}
	__u32 reader = o->tid;
	bpf_map_delete_elem(&http_reqs, &k);
	struct http_thread *t = bpf_map_lookup_elem(&http_threads, &reader);
	if (t && t->fd == fd)
		bpf_map_delete_elem(&http_threads, &reader);
}

/* tid ran (or waited in) the stack of hash: kept for the request its read
 * began, while it is open. */
static __always_inline void http_note(__u32 pid, __u32 tid, __u64 hash)
{
	if (!http_enabled || !hash)
		return;
	struct http_thread *t = bpf_map_lookup_elem(&http_threads, &tid);
	if (!t)
		return;
	struct http_conn_key k = {.pid = pid, .fd = t->fd};
	struct http_open *o = bpf_map_lookup_elem(&http_reqs, &k);
	if (!o || o->tid != tid)
		return;
	__u16 n = o->nhash;
	if (n < PYBPF_HTTP_HASHES)
		o->hash[n] = hash;
	if (n < 0xffff)
		o->nhash = (__u16)(n + 1);
}

/* x86-64 system calls: a request's bytes come by recvfrom (CPython's
 * socket.recv and recv_into) or read (libuv), its response goes by sendto
 * (send, sendall), write, writev (libuv) or sendmsg.  At the exit the saved
 * user registers still hold the arguments. */
#define HTTP_NR_READ	 0
#define HTTP_NR_WRITE	 1
#define HTTP_NR_WRITEV	 20
#define HTTP_NR_SENDTO	 44
#define HTTP_NR_RECVFROM 45
#define HTTP_NR_SENDMSG	 46

struct http_iovec {
	const void *base;
	__u64 len;
};

static __always_inline void http_sys_enter(struct pt_regs *regs, long nr)
{
	struct http_iovec v;
	const void *iov;
	if (nr == HTTP_NR_SENDTO || nr == HTTP_NR_WRITE) {
		http_write((int)regs->di, (const void *)regs->si, (long)regs->dx);
		return;
	}
	if (nr == HTTP_NR_WRITEV) /* libuv's write of more than one buffer */
		iov = (const void *)regs->si;
	else if (nr != HTTP_NR_SENDMSG || /* struct msghdr: msg_iov at 16 */
		 bpf_probe_read_user(&iov, sizeof(iov), (const char *)regs->si + 16))
		return;
	if (!iov || bpf_probe_read_user(&v, sizeof(v), iov))
		return;
	http_write((int)regs->di, v.base, (long)v.len); /* its first buffer's */
}

static __always_inline void http_sys_exit(struct pt_regs *regs, long ret)
{
	long nr = regs->orig_ax;
	if (nr == HTTP_NR_RECVFROM || nr == HTTP_NR_READ)
		http_read((int)regs->di, (const void *)regs->si, ret);
}

#endif
