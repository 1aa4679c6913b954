/* pybpf_shared.h - structs and constants shared by the BPF programs and the
 * userspace daemon.  Only fixed-width kernel types; no pointers. */
#ifndef PYBPF_SHARED_H
#define PYBPF_SHARED_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PYBPF_MAX_PY_FRAMES 1024 /* Python frames captured per stack */
#define PYBPF_MAX_NATIVE    127	 /* user and kernel ips per stack (PERF_MAX_STACK_DEPTH) */
#define PYBPF_MAX_THREADS   4096 /* thread states walked to find one thread */
#define PYBPF_MAX_LAYOUTS   32

/* An exec or an exit of a process (thread-group leader), for the daemon's
 * discovery (events_rb). */
enum pybpf_proc_event_kind {
	PYBPF_EV_EXEC = 1,
	PYBPF_EV_EXIT = 2,
};

struct pybpf_proc_event {
	__u32 pid; /* tgid, as the host sees it */
	__u32 kind;
	char comm[16];
};
#define PYBPF_BUF 128 /* bytes of a frame / code object / tstate read at once */

/* Flags of a layout record (struct py_layout.flags). */
enum py_layout_flags {
	PYL_TSTATE_VIA_CFRAME = 1 << 0, /* tstate->cframe->current_frame (3.11, 3.12) */
	PYL_FRAME_OBJECTS = 1 << 1,	/* PyFrameObject chain, f_lasti an int (<= 3.10) */
	PYL_CODE_TAGGED = 1 << 2,	/* f_executable is a tagged _PyStackRef (3.14+) */
	PYL_LASTI_BYTES = 1 << 3,	/* f_lasti counts bytes, not code units (<= 3.9) */
};

#define PYL_NO_FIELD 0xffff
#define PYL_NO_OWNER 0xff

/* Where things are in one CPython minor version.  Offsets in bytes.  The
 * userspace table (daemon/pylayout.c) has one of these per version. */
struct py_layout {
	__u32 version; /* (major << 8) | minor */
	__u32 flags;   /* enum py_layout_flags */

	/* _PyRuntimeState */
	__u16 rt_interp_head; /* interpreters.head */
	/* PyInterpreterState */
	__u16 interp_next;
	__u16 interp_tstate_head; /* threads.head */
	/* PyThreadState */
	__u16 ts_next;
	__u16 ts_native_tid;  /* native_thread_id: tid in the process's pid namespace
			       * (3.11+), else PYL_NO_FIELD */
	__u16 ts_thread_id;   /* pthread_t: matched against the task's fs base */
	__u16 ts_frame;	      /* cframe (PYL_TSTATE_VIA_CFRAME) or current frame */
	__u16 cframe_current; /* _PyCFrame.current_frame */
	/* _PyInterpreterFrame (or PyFrameObject) */
	__u16 fr_code;	   /* f_code / f_executable */
	__u16 fr_previous; /* previous / f_back */
	__u16 fr_instr;	   /* prev_instr / instr_ptr (pointer) or f_lasti (int) */
	__u16 fr_owner;	   /* owner (char), PYL_NO_FIELD if none */
	__u16 fr_is_entry; /* is_entry (bool, 3.11), PYL_NO_FIELD if none */
	__u16 fr_read;	   /* bytes to read to cover every frame field */
	__u8 owner_cstack; /* owner of C-stack shim frames to skip, PYL_NO_OWNER */
	__u8 owner_entry;  /* an owner that marks an entry frame, PYL_NO_OWNER */
	/* PyCodeObject */
	__u16 co_read;	   /* bytes to read from the start: covers ob_type and the tag */
	__u16 co_tag;	   /* start of 5 immutable ints (argcount .. firstlineno) */
	__u16 co_code;	   /* first instruction (co_code_adaptive) */
	__u16 co_filename; /* the rest is read by userspace only */
	__u16 co_name;
	__u16 co_qualname; /* PYL_NO_FIELD before 3.11 */
	__u16 co_firstlineno;
	__u16 co_linetable; /* co_linetable, or co_lnotab */
	__u16 co_flags;
	/* objects */
	__u16 ob_type;
	__u16 var_size;	    /* PyVarObject.ob_size */
	__u16 bytes_sval;   /* PyBytesObject.ob_sval */
	__u16 ascii_state;  /* PyASCIIObject.state */
	__u16 ascii_length; /* PyASCIIObject.length */
	__u16 ascii_data;   /* sizeof(PyASCIIObject): compact ASCII data */
	__u16 compact_data; /* sizeof(PyCompactUnicodeObject): compact non-ASCII data */
	/* the GIL (struct _gil_runtime_state) */
	__u16 rt_gil;	      /* _PyRuntime.ceval.gil, embedded (<= 3.11), else PYL_NO_FIELD */
	__u16 interp_gil_ptr; /* interp->ceval.gil, a pointer (3.12+), else PYL_NO_FIELD */
	__u16 gil_locked;
	__u16 gil_last_holder;
	__u16 gil_switch_number;
	__u16 gil_cond;	 /* the condition variable waiters sleep on */
	__u16 gil_mutex; /* the mutex guarding it */
	__u16 pad;
};

/* One registered Python process (map procs, key tgid). */
struct py_proc {
	__u64 runtime_addr;   /* &_PyRuntime in the process */
	__u64 code_type_addr; /* &PyCode_Type, 0 if unknown (no check) */
	__u64 gil_addr;	      /* the main interpreter's struct _gil_runtime_state, 0 unknown */
	__u32 layout_idx;
	__u32 flags;
};

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
	REASON__COUNT,
};

/* Per-process GIL counters (map gil_stats, key tgid). */
struct gil_stats {
	__s64 waiters;		 /* threads waiting for the GIL right now */
	__u64 wait_max_ns;	 /* longest GIL wait (an episode of waits until acquired) */
	__u64 held_samples;	 /* CPU samples whose thread held the GIL */
	__u64 contended_samples; /* ... while at least one other thread waited */
};

#define GIL_HIST_BUCKETS 128 /* 4 per power of two, from 1 ns */

/* Per-thread GIL state (map gil_threads, key tid). */
struct gil_thread {
	__u64 episode_start; /* first GIL wait of the current episode, 0 if none */
	__u64 last_wake;     /* last switch-in after a GIL wait */
	__u64 acquisitions;  /* contended acquisitions: episodes that ended */
	__u64 wait_ns;	     /* sum of episode lengths */
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
};

/* A stack seen for the first time, sent once through the ring buffer; later
 * samples refer to it by hash.  Variable length: py[] holds npy entries. */
struct pybpf_stack {
	__u64 hash;
	__u32 pid;
	__u16 npy;
	__u16 flags;
	__u16 nuser;
	__u16 nkern;
	__u32 pad;
	__u64 kern[PYBPF_MAX_NATIVE];
	__u64 user[PYBPF_MAX_NATIVE];
	/* bit i of entry[i / 64]: frame i ends a run of Python frames entered from C */
	__u64 entry[PYBPF_MAX_PY_FRAMES / 64];
	struct py_frame py[PYBPF_MAX_PY_FRAMES];
};

/* Key of the in-kernel sample counts (map counts). */
struct pybpf_count_key {
	__u64 hash; /* pybpf_stack.hash */
	__u32 pid;
	__u32 tid;
	__u32 gen;	/* userspace flips it to drain one generation while the other fills */
	__u8 kind;	/* enum sample_kind */
	__u8 reason;	/* enum offcpu_reason */
	__u8 holds_gil; /* the thread held the GIL (at the sample, or when it left the CPU) */
	__u8 waiters;	/* other threads waited for the GIL then (capped at 255) */
};

/* Value of the counts map. */
struct pybpf_count {
	__u64 count; /* samples, or off-CPU intervals */
	__u64 ns;    /* off-CPU: nanoseconds; CPU: 0 (count x period) */
};

/* Counters (percpu array stats), reported to the user by name. */
enum pybpf_stat {
	STAT_SAMPLES = 0,  /* samples of registered processes */
	STAT_RECORDED,	   /* samples counted into the counts map */
	STAT_NO_TSTATE,	   /* recorded, but the thread has no Python thread state */
	STAT_TRUNCATED,	   /* recorded, Python stack deeper than the limit */
	STAT_PY_FAULT,	   /* recorded, frame chain read fault midway */
	STAT_NEW_STACKS,   /* stacks sent to userspace */
	STAT_DROP_RINGBUF, /* dropped: ring buffer full */
	STAT_DROP_COUNTS,  /* dropped: counts map full */
	STAT_TSTATE_FAULT, /* recorded, but the thread list could not be read */
	STAT_DROP_RUNTIME, /* dropped: no layout or scratch for the sample (never expected) */
	STAT_SWITCHES,	   /* context switches of registered threads seen */
	STAT_DROP_OFFCPU,  /* dropped: an off-CPU interval whose start was not kept */
	STAT_PROC_EVENTS,  /* exec/exit events sent to userspace */
	STAT_DROP_EVENTS,  /* dropped: exec/exit event, events ring buffer full */
	STAT__COUNT,
};

#endif
