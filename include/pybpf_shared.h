/* pybpf_shared.h - the contract between the BPF programs (bpf/) and
 * userspace (daemon/): every type, key encoding, flag and counter that
 * crosses the boundary, defined once.  Only fixed-width kernel types; no
 * pointers. */
#ifndef PYBPF_SHARED_H
#define PYBPF_SHARED_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PYBPF_MAX_PY_FRAMES 1024 /* Python frames captured per stack */
#define PYBPF_SQL_MAX	    192	 /* bytes of a statement read, and of its template kept */
#define PYBPF_MAX_NATIVE    127	 /* user and kernel ips per stack (PERF_MAX_STACK_DEPTH) */
#define PYBPF_MAX_THREADS   4096 /* thread states walked to find one thread */
#define PYBPF_MAX_LAYOUTS   32
#define PYBPF_MAX_PROCS	    4096 /* registered processes (map procs) */
#define PYBPF_MAX_FOLLOW    8192 /* processes of followed trees (map follow) */
#define PYBPF_BUF	    128	 /* bytes of a frame / code object / tstate read at once */

/* How long the BPF side trusts "this thread has no PyThreadState". */
#define PYBPF_NEGATIVE_TTL_NS 1000000000ULL
/* ... but a thread that just started is asked again sooner: its state is
 * linked to it only once it runs (CPython binds it in the new thread), so a
 * first look finds none; the wait grows with the thread's age, from this */
#define PYBPF_NEGATIVE_MIN_TTL_NS 10000000ULL

/* --- process events (ring buffer events_rb) -------------------------------- */

/* An exec or an exit of a process (thread-group leader), for the daemon's
 * discovery; a fork of a followed one (map follow: record --subprocesses),
 * whose child is followed from then on. */
enum pybpf_proc_event_kind {
	PYBPF_EV_EXEC = 1,
	PYBPF_EV_EXIT = 2,
	PYBPF_EV_FORK = 3,
};

struct pybpf_proc_event {
	__u32 pid; /* tgid, as the host sees it */
	__u32 kind;
	char comm[16];
};

/* --- the layout of one CPython version (map layouts) ------------------------ */

/* Flags of a layout record (struct py_layout.flags). */
enum py_layout_flags {
	PYL_TSTATE_VIA_CFRAME = 1 << 0, /* tstate->cframe->current_frame (3.11, 3.12) */
	PYL_FRAME_OBJECTS = 1 << 1,	/* PyFrameObject chain, f_lasti an int (<= 3.10) */
	PYL_CODE_TAGGED = 1 << 2,	/* f_executable is a tagged _PyStackRef (3.14+) */
	PYL_LASTI_BYTES = 1 << 3,	/* f_lasti counts bytes, not code units (<= 3.9) */
};

#define PYL_NO_FIELD 0xffff
#define PYL_NO_OWNER 0xff

/* What the BPF programs (and the shared unwinding steps, include/pyunwind.h)
 * read of one CPython minor version.  Offsets in bytes.  Userspace keeps a
 * table of these inside a larger record (daemon/python/pylayout.h) and
 * derives fr_read, co_read and co_tag from the other offsets
 * (pylayout_derive), never by hand. */
struct py_layout {
	__u32 flags; /* enum py_layout_flags */

	/* _PyRuntimeState */
	__u16 rt_interp_head; /* interpreters.head */
	/* PyInterpreterState */
	__u16 interp_next;
	__u16 interp_tstate_head; /* threads.head */
	/* PyThreadState */
	__u16 ts_next;
	__u16 ts_thread_id;   /* pthread_t: matched against the task's fs base */
	__u16 ts_frame;	      /* cframe (PYL_TSTATE_VIA_CFRAME) or current frame */
	__u16 cframe_current; /* _PyCFrame.current_frame */
	/* _PyInterpreterFrame (or PyFrameObject) */
	__u16 fr_code;	   /* f_code / f_executable */
	__u16 fr_previous; /* previous / f_back */
	__u16 fr_instr;	   /* prev_instr / instr_ptr (pointer) or f_lasti (int) */
	__u16 fr_owner;	   /* owner (char), PYL_NO_FIELD if none */
	__u16 fr_is_entry; /* is_entry (bool, 3.11), PYL_NO_FIELD if none */
	__u16 fr_read;	   /* derived: bytes covering every frame field above */
	__u8 owner_cstack; /* owner of C-stack shim frames to skip, PYL_NO_OWNER */
	__u8 owner_gen;	   /* owner of a generator's or coroutine's frame, PYL_NO_OWNER */
	/* PyCodeObject */
	__u16 co_read; /* derived: bytes covering ob_type and the tag */
	__u16 co_tag;  /* derived: start of 5 immutable ints (argcount .. firstlineno) */
	__u16 co_code; /* first instruction (co_code_adaptive) */
	__u16 ob_type;
	/* the GIL (struct _gil_runtime_state) */
	__u16 gil_locked;
	__u16 gil_last_holder;
	/* the GIL's condition variables and mutexes, [lo, hi): cond and mutex
	 * (take_gil waits there) and switch_cond and switch_mutex (drop_gil
	 * waits there for another thread to take it) */
	__u16 gil_futex_lo;
	__u16 gil_futex_hi;
	__u16 co_flags; /* PyCodeObject.co_flags (int), inside co_read */
};

/* co_flags of an `async def`'s code (CPython's CO_COROUTINE). */
#define PYBPF_CO_COROUTINE 0x80

/* One registered Python process (map procs, key tgid). */
struct py_proc {
	__u64 runtime_addr;   /* &_PyRuntime in the process */
	__u64 code_type_addr; /* &PyCode_Type, 0 if unknown (no check) */
	__u64 gil_addr;	      /* the main interpreter's struct _gil_runtime_state, 0 unknown */
	__u32 layout_idx;
	__u32 pad;
};

/* --- what a sample is ------------------------------------------------------ */

/* What a sample measures (pybpf_count_key.kind). */
enum sample_kind {
	KIND_CPU = 0,	 /* a perf-event sample: the thread was on CPU */
	KIND_OFFCPU = 1, /* an interval off CPU, from sched_switch */
};

/* Why a thread was off CPU (pybpf_count_key.reason), from the syscall it was
 * blocked in and its arguments. */
enum offcpu_reason {
	REASON_NONE = 0,     /* on CPU */
	REASON_GIL = 1,	     /* futex on the GIL's condition variable or mutex */
	REASON_LOCK = 2,     /* any other futex: threading.Lock, Condition, queue... */
	REASON_SOCKET = 3,   /* socket I/O: recv/send/accept/connect, read/write/poll on a socket */
	REASON_FILE = 4,     /* read/write on a regular file or block device */
	REASON_SLEEP = 5,    /* nanosleep, clock_nanosleep, select/poll with nothing to wait on */
	REASON_RUNQUEUE = 6, /* preempted: runnable, waiting for a CPU */
	REASON_OTHER = 7,    /* any other syscall, a pipe or tty, a page fault */
	REASON_DB = 8,	     /* any wait but the GIL's or the run queue, inside a database
			      * driver's call (map db_calls) */
	REASON__COUNT,
};

/* One Python frame as captured. */
struct py_frame {
	__u64 code;  /* PyCodeObject address */
	__s32 instr; /* byte offset of the instruction from co_code (3.11+), or f_lasti */
	__u32 tag;   /* hash of the code object's immutable ints: guards address reuse */
};

/* Stack flags. */
enum stack_flags {
	STACK_PY_TRUNCATED = 1 << 0, /* more Python frames than PYBPF_MAX_PY_FRAMES */
	STACK_NO_TSTATE = 1 << 1,    /* thread has no PyThreadState (not a Python thread) */
	STACK_PY_FAULT = 1 << 2,     /* a read of the frame chain failed midway */
	STACK_BAD_CODE = 1 << 3,     /* a frame's code object failed validation */
	STACK_NO_FRAME = 1 << 4,     /* Python thread with no current frame (idle) */
	STACK_SWITCH = 1 << 5,	     /* taken at a switch-out: the kernel stack starts in the
				      * tracing of sched_switch, above __schedule */
};

/* Stack hashes: the BPF side names each stack it sends by a hash with bit 63
 * clear; userspace names the stacks it builds itself (threads found asleep)
 * with bit 63 set, so the two can never collide and only kernel stacks are
 * ever "forgotten" in the kernel's known_stacks map. */
#define PYBPF_HASH_USER_BIT (1ULL << 63)

/* A stack seen for the first time, sent once through the ring buffer
 * (stacks_rb); later samples refer to it by hash.  Variable length: py[]
 * holds npy entries. */
struct pybpf_stack {
	__u64 hash;
	__u32 pid;
	__u16 npy;
	__u16 flags;
	__u16 nuser;
	__u16 nkern;
	__u32 coro_idx; /* index in py[] of the frame coro names */
	/* the outermost coroutine frame of the stack (3.11+: a frame inside its
	 * coroutine object, the one its asyncio Task runs), 0 if none; part of
	 * the hash, so that tasks running the same code have stacks of their
	 * own (userspace names the task) */
	__u64 coro;
	__u64 kern[PYBPF_MAX_NATIVE];
	__u64 user[PYBPF_MAX_NATIVE];
	/* bit i of entry[i / 64]: frame i ends a run of Python frames entered from C */
	__u64 entry[PYBPF_MAX_PY_FRAMES / 64];
	struct py_frame py[PYBPF_MAX_PY_FRAMES];
};

/* Key of the in-kernel sample counts (map counts). */
struct pybpf_count_key {
	__u64 hash; /* pybpf_stack.hash; 0 for off-CPU time counted without a stack */
	__u32 pid;
	__u32 tid;
	__u32 gen;	/* userspace flips it to drain one generation while the other fills */
	__u8 kind;	/* enum sample_kind */
	__u8 reason;	/* enum offcpu_reason */
	__u8 holds_gil; /* the thread held the GIL (at the sample, or when it left the CPU) */
	__u8 waiters;	/* other threads waited for the GIL then (capped at 255) */
	__u32 sql;	/* off CPU in a database call: its statement's template, else 0 */
	__u32 pad;
};

/* Value of the counts map. */
struct pybpf_count {
	__u64 count; /* samples, or off-CPU intervals */
	__u64 ns;    /* off-CPU: nanoseconds; CPU: 0 (count x period) */
};

/* A thread that left the CPU (map offcpu, key tid): when, with which stack
 * and why.  Written by the BPF side at a switch-out, or by userspace for a
 * thread found asleep when tracking began. */
struct offcpu_start {
	__u64 ts; /* bpf_ktime_get_ns() = CLOCK_MONOTONIC */
	__u64 hash;
	__u32 pid;
	__u8 reason;
	__u8 holds_gil;
	__u8 waiters;
	__u8 pad;
	__u32 sql; /* its database call's statement template, 0 none */
	__u32 pad2;
};

/* A thread inside a database client library's call (map db_calls, key
 * tid): uprobes on the entry points of daemon/native/drivers.c's table, on
 * entry and return.  Calls nest (PQexec calls PQgetResult): the outermost
 * one's span counts. */
struct db_call {
	__u64 start;	 /* entry of the outermost call */
	__u64 stmt_out;	 /* a prepare's out-argument: where its statement's handle goes */
	__u64 stmt;	 /* a step's handle */
	__u32 depth;	 /* calls in progress */
	__u32 sql;	 /* its statement's template (sql_texts), 0 unknown */
	__u32 execution; /* it runs its statement (counted as a call), not only
			  * prepares it or fetches more of its rows (time only) */
	__u32 pad;
};

/* What each entry point of a driver gets (drivers.c): which uprobe program. */
enum db_entry_kind {
	DB_PLAIN = 0,	 /* no statement text in its arguments */
	DB_SQL_ARG2 = 1, /* the statement's text in its second argument (PQexec) */
	DB_SQL_ARG3 = 2, /* ... third (PQprepare) */
	DB_PREPARE = 3,	 /* SQLite's prepare: text second, the handle's out-pointer fourth */
	DB_STEP = 4,	 /* a prepared statement's handle first (sqlite3_step) */
	/* a step is an execution when its handle was just prepared or its last
	 * step ended it (not SQLITE_ROW): the others fetch its rows */
	DB_KIND__COUNT,
};

/* A statement's template (map sql_texts, key: its hash, the `sql` of
 * counts), NUL-ended: made in the kernel (include/sqlnorm.h), so no
 * literal leaves it.  Written only while statement text is on. */
struct sql_text {
	char text[PYBPF_SQL_MAX];
};

/* Per process and template (map sql_stats): the calls that ended. */
struct sql_key {
	__u32 pid;
	__u32 sql;
};
struct sql_stat {
	__u64 calls;  /* executions (sql_hist has their lengths) */
	__u64 ns;     /* time in the calls that ran it, prepared it, fetched its rows */
	__u64 max_ns; /* the longest execution */
};
/* ... by length (map sql_hist): count of calls in a log_bucket. */
struct sql_hist_key {
	__u32 pid;
	__u32 sql;
	__u32 bucket;
	__u32 pad;
};
/* A SQLite statement's handle (map db_stmts): its template. */
struct db_stmt_key {
	__u32 pid;
	__u32 pad;
	__u64 stmt;
};
struct db_stmt {
	__u32 sql;
	__u32 fresh; /* prepared, or its last step ended it: the next runs it */
};

/* --- the GIL ------------------------------------------------------------------ */

/* Per-process GIL counters (map gil_stats, key tgid). */
struct gil_stats {
	__s64 waiters;		 /* threads waiting for the GIL right now */
	__u64 wait_max_ns;	 /* longest GIL wait (an episode of waits until acquired) */
	__u64 held_samples;	 /* CPU samples whose thread held the GIL */
	__u64 contended_samples; /* ... while at least one other thread waited */
};

#define GIL_HIST_BUCKETS 128 /* 4 per power of two, from 1 ns */

/* Key of map gil_hist: GIL wait episodes of process pid, by length bucket. */
static inline __attribute__((always_inline)) __u64 gil_hist_key(__u32 pid, __u32 bucket)
{
	return ((__u64)pid << 8) | (bucket & 0xff);
}

/* Per-thread GIL state (map gil_threads, key tid).  gil_stats.waiters is
 * the number of threads of the process whose `waiting` is set: a thread's
 * flag is set and cleared only by that thread's own events (switch-out,
 * switch-in, a sample holding the GIL, exit), each change moving the count
 * by one, so the count cannot drift from the flags. */
struct gil_thread {
	__u64 episode_start; /* first GIL wait of the current episode, 0 if none */
	__u64 last_wake;     /* last switch-in after a GIL wait */
	__u64 acquisitions;  /* contended acquisitions: episodes that ended */
	__u64 wait_ns;	     /* sum of episode lengths */
	__u32 pid;	     /* its process (whose waiters count it is in) */
	__u8 waiting;	     /* off CPU waiting for the GIL now */
	__u8 pad[3];
};

/* The exact GIL signal, where the interpreter has the symbols: uprobes on
 * take_gil and drop_gil, entry and return (map gil_takes, key tid).  A wait
 * is the span from asking for the GIL to holding it: a take_gil call that
 * left the CPU, and, when the thread had just been made to drop the GIL
 * and waited in drop_gil for another to take it (FORCE_SWITCHING), from that
 * wait on.  Waits are comparable with the futex signal's episodes; their
 * lengths go to gil_hist under GIL_HIST_TAKE | bucket. */
struct gil_take {
	__u64 start;	  /* entry of the take_gil it is in now, 0 if none */
	__u64 drop_start; /* entry of the drop_gil it is in now, 0 if none */
	__u64 since;	  /* a forced drop's wait began then: the next take's wait with it */
	__u64 calls;	  /* take_gil calls that returned */
	__u64 waits;	  /* ... that waited */
	__u64 wait_ns;	  /* time of the waits */
	__u32 pid;
	__u8 blocked;	   /* the current take_gil call left the CPU */
	__u8 drop_blocked; /* the current drop_gil call left the CPU */
	__u8 pad[2];
};

#define GIL_HIST_TAKE 0x80 /* gil_hist buckets of the uprobe signal */

/* --- event loops (pybpfctl asyncio) ----------------------------------------- */

/* An event loop's thread waits for its next events in one system call
 * (epoll_wait, poll, select and their variants); an iteration runs from
 * the return of one wait to the entry of the next, and its busy time is
 * that span (on CPU, or off it for any reason but the loop's own wait).
 * While a thread is in an iteration, the CPU samples and off-CPU intervals
 * it takes are kept by stack (LOOP_SLOTS at most; the rest as other_ns);
 * an iteration longer than the threshold is a stall, sent with them. */
#define LOOP_SLOTS 16

struct loop_slot {
	__u64 hash;  /* the stack (0: off CPU without one) */
	__u64 ns;    /* its time in the iteration */
	__u32 count; /* CPU samples, or off-CPU intervals */
	__u8 kind;   /* enum sample_kind */
	__u8 reason; /* off CPU: enum offcpu_reason */
	__u8 pad[2];
};

/* Per thread (map loops, key tid). */
struct loop_thread {
	__u32 pid;
	__u16 nslots; /* of the iteration now */
	__u8 epoll;   /* it waits in epoll: its poll and select calls are work */
	__u8 pad;
	__u64 iter_start;	      /* its last wait returned then; 0: in a wait, or none seen */
	__u64 iterations;	      /* busy spans ended by a wait */
	__u64 busy_ns;		      /* their total */
	__u64 max_busy_ns;	      /* the longest */
	__u64 stalls;		      /* ... longer than the threshold */
	__u64 stall_ns;		      /* their total */
	__u64 stalls_lost;	      /* stalls not sent: the ring buffer was full */
	__u64 other_ns;		      /* the iteration's time beyond LOOP_SLOTS stacks */
	__u32 hist[GIL_HIST_BUCKETS]; /* busy spans by length (log_bucket) */
	struct loop_slot slots[LOOP_SLOTS];
};

/* One stall (ring buffer stalls_rb). */
struct pybpf_stall {
	__u32 pid, tid;
	__u64 start, end; /* CLOCK_MONOTONIC: its wait returned, the next began */
	__u64 other_ns;
	__u32 nslots;
	__u32 pad;
	struct loop_slot slots[LOOP_SLOTS];
};

/* The system calls an event loop waits in (x86-64 numbers): 2 for the
 * epoll family (asyncio's selector, libuv), 1 for poll and select (a loop
 * without epoll; in one that has epoll, a blocking call of its work: a
 * socket's timeout), 0 for any other. */
static inline __attribute__((always_inline)) int pybpf_loop_wait_syscall(long nr)
{
	switch (nr) {
	case 232: /* epoll_wait */
	case 281: /* epoll_pwait */
	case 441: /* epoll_pwait2 */
		return 2;
	case 7:	  /* poll */
	case 23:  /* select */
	case 270: /* pselect6 */
	case 271: /* ppoll */
		return 1;
	default:
		return 0;
	}
}

/* A thread of a registered process that exited (map exited_threads, key
 * tid): its last name, for samples drained after it is gone. */
struct exited_thread {
	__u32 pid;
	char comm[16];
};

/* --- counters (percpu array stats) ------------------------------------------ */

/* Every counter the BPF side keeps: X(id, name, kind).  kind says what
 * userspace makes of it: STATK_INFO a plain count; STATK_DROP a sample (or
 * off-CPU interval) that was lost; STATK_EVENT_DROP a process event that was
 * lost.  The CLI summary, `pybpfctl status` and /metrics all derive
 * "dropped" from this list (daemon/sampling/recorder.c: recorder_drops). */
#define PYBPF_STATS(X)                                                                             \
	X(STAT_SAMPLES, "sampled", STATK_INFO)		   /* samples of registered processes */   \
	X(STAT_RECORDED, "recorded", STATK_INFO)	   /* counted into the counts map */       \
	X(STAT_NO_TSTATE, "no_python_thread", STATK_INFO)  /* recorded, no thread state */         \
	X(STAT_TRUNCATED, "truncated", STATK_INFO)	   /* recorded, deeper than the limit */   \
	X(STAT_PY_FAULT, "python_read_fault", STATK_INFO)  /* recorded, chain read fault */        \
	X(STAT_NEW_STACKS, "new_stacks", STATK_INFO)	   /* stacks sent to userspace */          \
	X(STAT_DROP_RINGBUF, "ringbuf_full", STATK_DROP)   /* lost: ring buffer full */            \
	X(STAT_DROP_COUNTS, "counts_map_full", STATK_DROP) /* lost: counts map full */             \
	X(STAT_TSTATE_FAULT, "thread_list_read_fault", STATK_INFO) /* recorded, list fault */      \
	X(STAT_DROP_RUNTIME, "internal", STATK_DROP)	 /* lost: no layout or scratch (never) */  \
	X(STAT_SWITCHES, "context_switches", STATK_INFO) /* switches of registered threads */      \
	X(STAT_DROP_OFFCPU, "offcpu_start_lost", STATK_DROP) /* lost: off-CPU start not kept */    \
	X(STAT_PROC_EVENTS, "process_events", STATK_INFO)    /* exec/exit events sent */           \
	X(STAT_DROP_EVENTS, "process_events_lost", STATK_EVENT_DROP) /* events ring full */        \
	X(STAT_DROP_FOLLOW, "followed_fork_lost", STATK_EVENT_DROP)  /* follow map full */         \
	X(STAT_DB_CALLS, "db_calls", STATK_INFO)	    /* database drivers' calls entered */  \
	X(STAT_DROP_DB, "db_calls_untracked", STATK_INFO)   /* db_calls full: waits keep their     \
							     * syscall's reason */                 \
	X(STAT_HTTP_REQUESTS, "http_requests", STATK_INFO)  /* HTTP requests answered */           \
	X(STAT_DROP_HTTP, "http_requests_lost", STATK_DROP) /* not sent: http_rb full */           \
	X(STAT_HTTP_UNANSWERED, "http_unanswered", STATK_INFO) /* a request's connection read      \
								* another, or closed, first */

enum pybpf_stat_kind {
	STATK_INFO = 0,
	STATK_DROP = 1,
	STATK_EVENT_DROP = 2,
};

#define PYBPF_STAT_ENUM(id, name, kind) id,
enum pybpf_stat { PYBPF_STATS(PYBPF_STAT_ENUM) STAT__COUNT };
#undef PYBPF_STAT_ENUM

/* HTTP/1.x requests at the socket (pybpfctl requests): a read on a
 * connection of a registered process whose bytes begin with a method starts
 * one, the write of its response's status line ("HTTP/1.") on the same
 * descriptor ends it.  The request line is copied as read, at most
 * PYBPF_HTTP_LINE bytes; userspace cuts it at the path and drops the query. */
#define PYBPF_HTTP_LINE	  112
#define PYBPF_HTTP_HASHES 4 /* stacks sampled while it ran: userspace finds the endpoint */

struct http_conn_key {
	__u32 pid;
	__s32 fd;
};

struct http_open {
	__u64 start; /* CLOCK_MONOTONIC: the read of its first bytes returned */
	__u32 tid;   /* the thread that read them */
	__u16 len;   /* bytes in line */
	__u16 nhash; /* stacks seen, of which the first PYBPF_HTTP_HASHES kept */
	__u64 hash[PYBPF_HTTP_HASHES];
	char line[PYBPF_HTTP_LINE];
};

/* A thread serving a request (its read began it): its samples' stacks go
 * to the request's hashes. */
struct http_thread {
	__s32 fd;
	__u32 pad;
};

/* One answered request (ring buffer http_rb). */
struct pybpf_http_req {
	__u32 pid, tid;
	__u64 start, end; /* CLOCK_MONOTONIC: request read, response begun */
	__u16 status;	  /* from the status line; 0 when it is not a number */
	__u16 len;
	__u16 nhash;
	__u16 pad;
	__u64 hash[PYBPF_HTTP_HASHES];
	char line[PYBPF_HTTP_LINE];
};

/* Whether 4 bytes begin an HTTP/1.x request: a method and its space
 * (GET, PUT) or its first four letters (POST, HEAD, DELETE, PATCH,
 * OPTIONS, CONNECT, TRACE). */
static inline __attribute__((always_inline)) int pybpf_http_method(const unsigned char *b)
{
	__u32 w = (__u32)b[0] | (__u32)b[1] << 8 | (__u32)b[2] << 16 | (__u32)b[3] << 24;
	switch (w) {
	case 0x20544547: /* "GET " */
	case 0x20545550: /* "PUT " */
	case 0x54534f50: /* "POST" */
	case 0x44414548: /* "HEAD" */
	case 0x454c4544: /* "DELE" */
	case 0x43544150: /* "PATC" */
	case 0x4954504f: /* "OPTI" */
	case 0x4e4e4f43: /* "CONN" */
	case 0x43415254: /* "TRAC" */
		return 1;
	default:
		return 0;
	}
}

#endif
