/* bpf_loader.c - the BPF side's lifecycle and maps, seen from userspace.
 * The types of every map are in include/pybpf_shared.h. */
#define _GNU_SOURCE
#include "sampling/bpf_loader.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "profile.skel.h"
#include "sqlnorm.h"
#include "sys/clock.h"
#include "sys/htab.h"

#define MAX_CPUS 1024

#define MAX_TAKE_PROBES 32
#define MAX_DB_PROBES	32
#define LOOP_LINKS	6

struct bpf_session {
	struct profile_bpf *skel;
	struct bpf_link *links[MAX_CPUS];
	int nlinks;
	struct bpf_link *switch_link;
	struct bpf_link *exec_link, *exit_link, *fork_link;
	/* while loops are measured: the wait functions' fentry/fexit pairs, or
	 * sys_enter and sys_exit */
	struct bpf_link *loop_links[LOOP_LINKS];
	bool loop_fentry;	/* the wait functions' programs are loaded */
	const char *loop_hooks; /* what measures them now, NULL while off */
	bool stalls_rb_added;
	/* sys_enter and sys_exit, while one of their users is on */
	struct bpf_link *sys_links[2];
	unsigned sys_users; /* SYS_LOOPS, SYS_HTTP */
	bool http_rb_added;
	struct ring_buffer *rb;
	uint32_t gen;
	struct py_layout layouts[PYBPF_MAX_LAYOUTS]; /* uploaded to the layouts map */
	uint32_t nlayouts;
	/* uprobes on take_gil: one pair per interpreter file (dev, inode) */
	struct take_probe {
		dev_t dev;
		ino_t ino;
		struct bpf_link *links[4];
	} takes[MAX_TAKE_PROBES];
	int ntakes;
	/* uprobes on database drivers' calls: per library file, every process */
	struct db_probe {
		dev_t dev;
		ino_t ino;
		struct bpf_link **links;
		size_t nlinks;
	} dbs[MAX_DB_PROBES];
	int ndbs;
};

#define STAT_NAME(id, name, kind) [id] = name,
static const char *const stat_names[STAT__COUNT] = {PYBPF_STATS(STAT_NAME)};
#undef STAT_NAME
#define STAT_KIND(id, name, kind) [id] = kind,
static const unsigned char stat_kinds[STAT__COUNT] = {PYBPF_STATS(STAT_KIND)};
#undef STAT_KIND

const char *bpfs_stat_name(int stat)
{
	return stat >= 0 && stat < STAT__COUNT ? stat_names[stat] : "?";
}

enum pybpf_stat_kind bpfs_stat_kind(int stat)
{
	return stat >= 0 && stat < STAT__COUNT ? (enum pybpf_stat_kind)stat_kinds[stat]
					       : STATK_INFO;
}

static void set_err(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level; /* PYBPF_DEBUG_BPF: everything libbpf says, the verifier's log too */
	return getenv("PYBPF_DEBUG_BPF") ? vfprintf(stderr, fmt, ap) : 0;
}

static int preflight(char *err, size_t errlen)
{
	/* PYBPF_KERNEL_BTF: where to look for the kernel's BTF (for tests) */
	const char *btf = getenv("PYBPF_KERNEL_BTF");
	if (!btf)
		btf = "/sys/kernel/btf/vmlinux";
	if (access(btf, R_OK) != 0) {
		set_err(err, errlen,
			"this kernel has no BTF (%s is missing): pybpf needs a kernel built with "
			"CONFIG_DEBUG_INFO_BTF=y (5.10 or later)",
			btf);
		return -1;
	}
	return 0;
}

static void explain_load_error(int e, char *err, size_t errlen)
{
	if (e == EPERM || (e == EACCES && geteuid() != 0))
		set_err(err, errlen,
			"not allowed to load BPF programs (%s): run as root, or grant "
			"CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE (e.g. sudo pybpfctl ...)",
			strerror(e));
	else
		set_err(err, errlen,
			"loading the BPF programs failed: %s%s (set PYBPF_DEBUG_BPF=1 for the "
			"verifier log)",
			strerror(e), e == EACCES ? ": the kernel's verifier rejected them" : "");
}

/* The slot of the layouts map holding L, uploading it on first use: each
 * distinct layout (a table record, or one corrected by a process's own debug
 * offsets) takes one slot. */
static int layout_slot(struct bpf_session *s, const struct py_layout *L, uint32_t *slot)
{
	for (uint32_t i = 0; i < s->nlayouts; i++) {
		if (memcmp(&s->layouts[i], L, sizeof(*L)) == 0) {
			*slot = i;
			return 0;
		}
	}
	if (s->nlayouts == PYBPF_MAX_LAYOUTS) {
		errno = ENOSPC;
		return -1;
	}
	uint32_t key = s->nlayouts;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.layouts), &key, L, BPF_ANY))
		return -1;
	s->layouts[s->nlayouts++] = *L;
	*slot = key;
	return 0;
}

static int attach_cpus(struct bpf_session *s, uint32_t rate_hz, char *err, size_t errlen)
{
	int ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0 || ncpus > MAX_CPUS)
		ncpus = ncpus <= 0 ? 1 : MAX_CPUS;
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = 1000000000ULL / rate_hz, /* ns of CPU time */
	};
	for (int cpu = 0; cpu < ncpus; cpu++) {
		int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1,
				      PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* possible but offline CPU */
			set_err(err, errlen, "perf_event_open on CPU %d failed: %s%s", cpu,
				strerror(errno),
				errno == EACCES || errno == EPERM
					? " (run as root or grant CAP_PERFMON)"
					: "");
			return -1;
		}
		struct bpf_link *l = bpf_program__attach_perf_event(s->skel->progs.on_sample, fd);
		if (!l) {
			int e = errno;
			close(fd);
			set_err(err, errlen, "attaching to CPU %d failed: %s", cpu, strerror(e));
			return -1;
		}
		s->links[s->nlinks++] = l;
	}
	return 0;
}

/* The programs on the wait functions event loops sit in (bpf/profile.bpf.c),
 * entry and exit of each: out[LOOP_LINKS]. */
static void loop_fentry_progs(const struct profile_bpf *skel, struct bpf_program **out)
{
	out[0] = skel->progs.on_epoll_enter;
	out[1] = skel->progs.on_epoll_exit;
	out[2] = skel->progs.on_poll_enter;
	out[3] = skel->progs.on_poll_exit;
	out[4] = skel->progs.on_select_enter;
	out[5] = skel->progs.on_select_exit;
}

/* The BTF id of the first of fns when every one is a function in the
 * kernel's BTF (not inlined away), else 0. */
static int btf_funcs(const char *const *fns, size_t n)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return 0;
	int id = 0;
	for (size_t i = 0; i < n; i++) {
		int f = btf__find_by_name_kind(vmlinux, fns[i], BTF_KIND_FUNC);
		if (f <= 0) {
			id = 0;
			break;
		}
		if (!i)
			id = f;
	}
	btf__free(vmlinux);
	return id;
}

/* Whether the wait functions can be traced here: each in the kernel's BTF,
 * and a trivial fentry program on one loads (it does not where the kernel
 * forbids BPF trampolines: EPERM in some VMs).  PYBPF_LOOP_HOOKS=syscalls:
 * the fallback, as on such a kernel (to test it on one that can). */
static bool loop_fentry_wanted(void)
{
	static const char *const fns[] = {"do_epoll_wait", "do_sys_poll", "core_sys_select"};
	const char *e = getenv("PYBPF_LOOP_HOOKS");
	if (e && strcmp(e, "syscalls") == 0)
		return false;
	int id = btf_funcs(fns, sizeof(fns) / sizeof(fns[0]));
	if (id <= 0)
		return false;
	const struct bpf_insn ret0[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = (__u32)id);
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "pybpf_probe", "GPL", ret0, 2, &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Opens and loads the programs; with fentry, those on the wait functions
 * too, and where they do not load (a function not in the kernel's BTF, or
 * inlined; no BPF trampolines) everything again without them. */
static int open_load(struct bpf_session *s, bool fentry, char *err, size_t errlen)
{
	s->skel = profile_bpf__open();
	if (!s->skel) {
		explain_load_error(errno, err, errlen);
		return -1;
	}
	struct bpf_program *progs[LOOP_LINKS];
	loop_fentry_progs(s->skel, progs);
	for (size_t i = 0; i < LOOP_LINKS && !fentry; i++)
		bpf_program__set_autoload(progs[i], false);
	if (profile_bpf__load(s->skel) == 0) {
		s->loop_fentry = fentry;
		return 0;
	}
	int e = errno;
	if (!fentry) {
		explain_load_error(e, err, errlen);
		return -1; /* the skeleton goes with the session (bpfs_close) */
	}
	profile_bpf__destroy(s->skel);
	s->skel = NULL;
	return open_load(s, false, err, errlen);
}

struct bpf_session *bpfs_open(uint32_t rate_hz, bpfs_stack_fn on_stack, void *ctx, char *err,
			      size_t errlen)
{
	libbpf_set_print(silent_print);
	if (preflight(err, errlen))
		return NULL;
	if (rate_hz == 0 || rate_hz > 10000) {
		set_err(err, errlen, "rate %u Hz is out of range (1-10000)", rate_hz);
		return NULL;
	}
	struct bpf_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (open_load(s, loop_fentry_wanted(), err, errlen))
		goto fail;
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.stacks_rb),
				 (ring_buffer_sample_fn)on_stack, ctx, NULL);
	if (!s->rb) {
		set_err(err, errlen, "opening the ring buffer failed: %s", strerror(errno));
		goto fail;
	}
	if (attach_cpus(s, rate_hz, err, errlen))
		goto fail;
	/* every thread's exit: what was kept of it goes, its name stays */
	s->exit_link = bpf_program__attach(s->skel->progs.on_exit);
	if (!s->exit_link) {
		set_err(err, errlen, "attaching to sched_process_exit failed: %s", strerror(errno));
		goto fail;
	}
	return s;
fail:
	bpfs_close(s);
	return NULL;
}

void bpfs_stop(struct bpf_session *s)
{
	for (int i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	s->nlinks = 0;
	bpf_link__destroy(s->switch_link);
	s->switch_link = NULL;
	bpf_link__destroy(s->exec_link);
	bpf_link__destroy(s->fork_link);
	s->exec_link = s->fork_link = NULL;
	bpfs_loops_stop(s);
	bpfs_http_stop(s);
	/* the exit hook stays until bpfs_close: the last counts are named
	 * after sampling stops, and a thread that ends meanwhile is named
	 * from what the hook kept of it */
}

/* The wait functions' pairs, all or none. */
/* sys_enter and sys_exit, attached once for all their users: a program
 * attached twice would run twice. */
#define SYS_LOOPS 1u
#define SYS_HTTP  2u

static void sys_hooks_off(struct bpf_session *s, unsigned user)
{
	s->sys_users &= ~user;
	if (s->sys_users)
		return;
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(s->sys_links[i]);
		s->sys_links[i] = NULL;
	}
}

static int sys_hooks_on(struct bpf_session *s, unsigned user)
{
	if (!s->sys_links[0]) {
		s->sys_links[0] = bpf_program__attach(s->skel->progs.on_sys_enter);
		s->sys_links[1] =
			s->sys_links[0] ? bpf_program__attach(s->skel->progs.on_sys_exit) : NULL;
		if (!s->sys_links[1]) {
			int e = errno;
			sys_hooks_off(s, 0);
			errno = e;
			return -1;
		}
	}
	s->sys_users |= user;
	return 0;
}

static int attach_loop_fentry(struct bpf_session *s)
{
	struct bpf_program *progs[LOOP_LINKS];
	loop_fentry_progs(s->skel, progs);
	for (size_t i = 0; i < LOOP_LINKS; i++) {
		s->loop_links[i] = bpf_program__attach(progs[i]);
		if (!s->loop_links[i]) {
			bpfs_loops_stop(s);
			return -1;
		}
	}
	return 0;
}

int bpfs_loops_start(struct bpf_session *s, uint64_t threshold_ns, bpfs_event_fn on_stall,
		     void *ctx)
{
	s->skel->bss->loop_threshold_ns = threshold_ns;
	if (s->loop_hooks)
		return 0; /* on: the new threshold holds from now */
	if (!s->stalls_rb_added && ring_buffer__add(s->rb, bpf_map__fd(s->skel->maps.stalls_rb),
						    (ring_buffer_sample_fn)on_stall, ctx))
		return -1;
	s->stalls_rb_added = true;
	s->skel->bss->loop_threshold_ns = threshold_ns;
	if (s->loop_fentry && attach_loop_fentry(s) == 0) {
		s->loop_hooks = "fentry";
	} else {
		if (sys_hooks_on(s, SYS_LOOPS))
			return -1;
		s->loop_hooks = "syscalls";
	}
	s->skel->bss->loops_enabled = 1;
	return 0;
}

int bpfs_http_start(struct bpf_session *s, bpfs_event_fn on_request, void *ctx)
{
	if (s->sys_users & SYS_HTTP)
		return 0;
	if (!s->http_rb_added && ring_buffer__add(s->rb, bpf_map__fd(s->skel->maps.http_rb),
						  (ring_buffer_sample_fn)on_request, ctx))
		return -1;
	s->http_rb_added = true;
	if (sys_hooks_on(s, SYS_HTTP))
		return -1;
	s->skel->bss->http_enabled = 1;
	return 0;
}

void bpfs_http_stop(struct bpf_session *s)
{
	if (s->skel)
		s->skel->bss->http_enabled = 0;
	sys_hooks_off(s, SYS_HTTP);
}

const char *bpfs_loop_hooks(const struct bpf_session *s)
{
	return s->loop_hooks;
}

void bpfs_loops_stop(struct bpf_session *s)
{
	if (s->skel) /* NULL when the programs did not open or load */
		s->skel->bss->loops_enabled = 0;
	s->loop_hooks = NULL;
	for (int i = 0; i < LOOP_LINKS; i++) {
		bpf_link__destroy(s->loop_links[i]);
		s->loop_links[i] = NULL;
	}
	sys_hooks_off(s, SYS_LOOPS);
}

int bpfs_loop_each(struct bpf_session *s, bpfs_loop_fn fn, void *ctx)
{
	int fd = bpf_map__fd(s->skel->maps.loops);
	struct loop_thread lt;
	uint32_t key, next;
	for (int r = bpf_map_get_next_key(fd, NULL, &next); r == 0;
	     r = bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &lt))
			continue; /* gone meanwhile */
		if (fn(ctx, key, &lt))
			return 1;
	}
	return 0;
}

struct loop_collect {
	uint32_t pid, *tids;
	struct loop_thread *out;
	size_t n, max;
};

static int collect_loop(void *ctx, uint32_t tid, const struct loop_thread *lt)
{
	struct loop_collect *c = ctx;
	if (lt->pid != c->pid)
		return 0;
	c->tids[c->n] = tid;
	c->out[c->n++] = *lt;
	return c->n == c->max;
}

size_t bpfs_loop_threads(struct bpf_session *s, pid_t pid, uint32_t *tids, struct loop_thread *out,
			 size_t max)
{
	struct loop_collect c = {(uint32_t)pid, tids, out, 0, max};
	if (max)
		bpfs_loop_each(s, collect_loop, &c);
	return c.n;
}

int bpfs_set_rate(struct bpf_session *s, uint32_t rate_hz, char *err, size_t errlen)
{
	if (rate_hz == 0 || rate_hz > 10000) {
		set_err(err, errlen, "rate %u Hz is out of range (1-10000)", rate_hz);
		return -1;
	}
	for (int i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	s->nlinks = 0;
	return attach_cpus(s, rate_hz, err, errlen);
}

void bpfs_set_task_stacks(struct bpf_session *s, int on)
{
	s->skel->data->task_stacks = on ? 1 : 0;
}

void bpfs_set_offcpu_stacks(struct bpf_session *s, int on)
{
	s->skel->data->offcpu_stacks = on ? 1 : 0;
}

int bpfs_enable_proc_events(struct bpf_session *s, bpfs_event_fn on_event, void *ctx)
{
	if (s->exec_link) {
		s->skel->bss->proc_events_followed_only = 0; /* every exec from now on */
		return 0;
	}
	if (ring_buffer__add(s->rb, bpf_map__fd(s->skel->maps.events_rb),
			     (ring_buffer_sample_fn)on_event, ctx))
		return -1;
	s->exec_link = bpf_program__attach(s->skel->progs.on_exec);
	if (!s->exec_link)
		return -1;
	s->skel->bss->proc_events_enabled = 1;
	return 0;
}

int bpfs_follow(struct bpf_session *s, pid_t pid, bpfs_event_fn on_event, void *ctx)
{
	__u32 key = (__u32)pid;
	__u8 one = 1;
	if (!s->exec_link) {
		/* nobody asked for every exec: only the followed ones' */
		s->skel->bss->proc_events_followed_only = 1;
		if (bpfs_enable_proc_events(s, on_event, ctx))
			return -1;
	}
	if (!s->fork_link) {
		s->fork_link = bpf_program__attach(s->skel->progs.on_fork);
		if (!s->fork_link)
			return -1;
	}
	return bpf_map__update_elem(s->skel->maps.follow, &key, sizeof(key), &one, sizeof(one),
				    BPF_ANY);
}

int bpfs_enable_offcpu(struct bpf_session *s)
{
	if (s->switch_link)
		return 0;
	s->switch_link = bpf_program__attach(s->skel->progs.on_switch);
	if (!s->switch_link)
		return -1;
	s->skel->bss->offcpu_enabled = 1;
	return 0;
}

int bpfs_attach_gil_takes(struct bpf_session *s, const struct pyprocess *pp)
{
	char path[PATH_MAX + 64];
	struct stat st;
	if (!pp->take_gil_off) {
		errno = ENOENT;
		return -1;
	}
	/* the file the process maps, seen through its root */
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pp->pid, pp->object);
	if (stat(path, &st))
		return -1;
	for (int i = 0; i < s->ntakes; i++)
		if (s->takes[i].dev == st.st_dev && s->takes[i].ino == st.st_ino)
			return 0;
	if (s->ntakes == MAX_TAKE_PROBES) {
		errno = ENOSPC;
		return -1;
	}
	struct take_probe *t = &s->takes[s->ntakes];
	const struct {
		struct bpf_program *prog;
		bool ret;
		uint64_t off;
	} p[4] = {{s->skel->progs.on_take_gil, false, pp->take_gil_off},
		  {s->skel->progs.on_take_gil_ret, true, pp->take_gil_off},
		  {s->skel->progs.on_drop_gil, false, pp->drop_gil_off},
		  {s->skel->progs.on_drop_gil_ret, true, pp->drop_gil_off}};
	for (int i = 0; i < 4; i++) {
		t->links[i] = bpf_program__attach_uprobe(p[i].prog, p[i].ret, -1, path, p[i].off);
		if (!t->links[i]) {
			int e = errno;
			while (i-- > 0)
				bpf_link__destroy(t->links[i]);
			errno = e;
			return -1;
		}
	}
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	s->ntakes++;
	return 0;
}

void bpfs_detach_gil_takes(struct bpf_session *s)
{
	for (int i = 0; i < s->ntakes; i++)
		for (int j = 0; j < 4; j++)
			bpf_link__destroy(s->takes[i].links[j]);
	s->ntakes = 0;
}

int bpfs_gil_takes_attached(const struct bpf_session *s)
{
	return s->ntakes;
}

bool bpfs_db_attached(const struct bpf_session *s, dev_t dev, ino_t ino)
{
	for (int i = 0; i < s->ndbs; i++)
		if (s->dbs[i].dev == dev && s->dbs[i].ino == ino)
			return true;
	return false;
}

static struct bpf_program *db_program(struct bpf_session *s, enum db_entry_kind k)
{
	switch (k) {
	case DB_SQL_ARG2:
		return s->skel->progs.on_db_sql2;
	case DB_SQL_ARG3:
		return s->skel->progs.on_db_sql3;
	case DB_PREPARE:
		return s->skel->progs.on_db_prepare;
	case DB_STEP:
		return s->skel->progs.on_db_step;
	default:
		return s->skel->progs.on_db_call;
	}
}

int bpfs_attach_db(struct bpf_session *s, const char *path, dev_t dev, ino_t ino,
		   const struct bpfs_db_point *pts, size_t n)
{
	if (bpfs_db_attached(s, dev, ino))
		return 0;
	if (s->ndbs == MAX_DB_PROBES) {
		errno = ENOSPC;
		return -1;
	}
	struct db_probe *d = &s->dbs[s->ndbs];
	d->links = n ? calloc(2 * n, sizeof(*d->links)) : NULL;
	if (n && !d->links)
		return -1;
	/* the returns first: a call entered between its entry's probe and its
	 * return's would stay open, and every wait of its thread after it be
	 * the database's; a return without its entry closes a call early */
	for (size_t i = 0; i < 2 * n; i++) {
		bool ret = i < n;
		struct bpf_program *prog =
			ret ? s->skel->progs.on_db_call_ret : db_program(s, pts[i % n].kind);
		d->links[i] = bpf_program__attach_uprobe(prog, ret, -1, path, pts[i % n].offset);
		if (!d->links[i]) {
			int e = errno;
			while (i-- > 0)
				bpf_link__destroy(d->links[i]);
			free(d->links);
			d->links = NULL;
			errno = e;
			return -1;
		}
	}
	d->nlinks = 2 * n;
	d->dev = dev;
	d->ino = ino;
	s->ndbs++;
	return 0;
}

void bpfs_set_sql_text(struct bpf_session *s, bool on)
{
	s->skel->data->sql_text_enabled = on;
}

int bpfs_sql_text(struct bpf_session *s, uint32_t sql, char *out, size_t len)
{
	struct sql_text t;
	if (!len || bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.sql_texts), &sql, &t))
		return -1;
	t.text[sizeof(t.text) - 1] = 0;
	sqlnorm_compact(t.text, sizeof(t.text));
	snprintf(out, len, "%s", t.text);
	return 0;
}

int bpfs_sql_stats(struct bpf_session *s, pid_t pid, bpfs_sql_fn fn, void *ctx)
{
	int fd = bpf_map__fd(s->skel->maps.sql_stats), hfd = bpf_map__fd(s->skel->maps.sql_hist);
	struct sql_key key, cur, *prev = NULL;
	uint64_t hist[GIL_HIST_BUCKETS];
	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		struct sql_stat st;
		cur = key;
		prev = &cur;
		if (key.pid != (uint32_t)pid || bpf_map_lookup_elem(fd, &key, &st))
			continue;
		for (uint32_t b = 0; b < GIL_HIST_BUCKETS; b++) {
			struct sql_hist_key hk = {.pid = key.pid, .sql = key.sql, .bucket = b};
			hist[b] = 0;
			bpf_map_lookup_elem(hfd, &hk, &hist[b]);
		}
		if (fn(ctx, key.sql, &st, hist))
			return -1;
	}
	return 0;
}

static void detach_db(struct bpf_session *s)
{
	for (int i = 0; i < s->ndbs; i++) {
		for (size_t j = 0; j < s->dbs[i].nlinks; j++)
			bpf_link__destroy(s->dbs[i].links[j]);
		free(s->dbs[i].links);
	}
	s->ndbs = 0;
}

/* The wait a thread is in now, so far: a take_gil call that left the CPU
 * (or follows a forced drop's wait), or a forced drop_gil waiting.  A wait
 * adds to wait_ns only when it ends; with its part so far added, two
 * readings differ by the waiting between them, clipped at both ends like
 * the futex signal's episodes (else a call straddling a window's end is
 * lost from it, one at its start counted whole). */
static uint64_t take_wait_so_far(const struct gil_take *t, uint64_t now)
{
	uint64_t from = 0;
	if (t->start && (t->blocked || t->since))
		from = t->since ? t->since : t->start;
	else if (t->drop_start && t->drop_blocked)
		from = t->drop_start;
	return from && now > from ? now - from : 0;
}

int bpfs_gil_take(struct bpf_session *s, uint32_t tid, struct gil_take *out)
{
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.gil_takes), &tid, out))
		return -1;
	out->wait_ns += take_wait_so_far(out, monotonic_ns());
	return 0;
}

int bpfs_gil_stats(struct bpf_session *s, pid_t pid, struct gil_stats *out,
		   uint64_t hist[GIL_HIST_BUCKETS])
{
	uint32_t key = (uint32_t)pid;
	memset(out, 0, sizeof(*out));
	bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.gil_stats), &key, out);
	int fd = bpf_map__fd(s->skel->maps.gil_hist);
	for (uint32_t b = 0; b < GIL_HIST_BUCKETS; b++) {
		uint64_t k = gil_hist_key((uint32_t)pid, b);
		hist[b] = 0;
		bpf_map_lookup_elem(fd, &k, &hist[b]);
	}
	return 0;
}

void bpfs_gil_take_hist(struct bpf_session *s, pid_t pid, uint64_t hist[GIL_HIST_BUCKETS])
{
	int fd = bpf_map__fd(s->skel->maps.gil_hist);
	for (uint32_t b = 0; b < GIL_HIST_BUCKETS; b++) {
		uint64_t k = gil_hist_key((uint32_t)pid, GIL_HIST_TAKE | b);
		hist[b] = 0;
		bpf_map_lookup_elem(fd, &k, &hist[b]);
	}
}

int bpfs_gil_thread(struct bpf_session *s, uint32_t tid, struct gil_thread *out)
{
	memset(out, 0, sizeof(*out));
	return bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.gil_threads), &tid, out);
}

int bpfs_seed_offcpu(struct bpf_session *s, uint32_t tid, uint32_t pid, uint64_t hash,
		     uint8_t reason)
{
	struct offcpu_start v = {
		.ts = monotonic_ns(), /* the clock of bpf_ktime_get_ns() */
		.hash = hash,
		.pid = pid,
		.reason = reason,
	};
	return bpf_map_update_elem(bpf_map__fd(s->skel->maps.offcpu), &tid, &v, BPF_NOEXIST);
}

int bpfs_offcpu_of(struct bpf_session *s, uint32_t tid, struct offcpu_start *out)
{
	return bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.offcpu), &tid, out) ? -1 : 0;
}

struct bpfs_offcpu *bpfs_offcpu_now(struct bpf_session *s, size_t *n)
{
	int fd = bpf_map__fd(s->skel->maps.offcpu);
	uint32_t max = bpf_map__max_entries(s->skel->maps.offcpu), key, cur, *prev = NULL;
	/* grown as entries come: the map's size (MiBs) every tick would be
	 * zeroed for a few sleepers, and freed chunks that size fragment the
	 * heap once malloc's mmap threshold has risen past them */
	size_t cap = 256;
	struct bpfs_offcpu *out = malloc(cap * sizeof(*out));
	struct htab seen;
	*n = 0;
	if (!out || htab_init(&seen, 256)) {
		free(out);
		return NULL;
	}
	/* the BPF side deletes entries meanwhile: a walk may restart and see a
	 * key twice */
	while (*n < max && bpf_map_get_next_key(fd, prev, &key) == 0) {
		cur = key;
		prev = &cur;
		if (*n == cap) {
			struct bpfs_offcpu *no = realloc(out, 2 * cap * sizeof(*out));
			if (!no) { /* a partial walk would end the intervals it missed */
				free(out);
				out = NULL;
				break;
			}
			out = no;
			cap *= 2;
		}
		struct bpfs_offcpu *o = &out[*n];
		memset(o, 0, sizeof(*o));
		o->tid = key;
		if (htab_get(&seen, key, NULL, NULL) >= 0 || bpf_map_lookup_elem(fd, &key, &o->v))
			continue;
		if (htab_put(&seen, key, (uint32_t)*n))
			break;
		(*n)++;
	}
	htab_free(&seen);
	return out;
}

void bpfs_close(struct bpf_session *s)
{
	if (!s)
		return;
	bpfs_detach_gil_takes(s);
	detach_db(s);
	bpfs_stop(s);
	bpf_link__destroy(s->exit_link);
	ring_buffer__free(s->rb);
	profile_bpf__destroy(s->skel);
	free(s);
}

int bpfs_add_process(struct bpf_session *s, const struct pyprocess *pp)
{
	uint32_t pid = (uint32_t)pp->pid;
	struct py_proc v = {
		.runtime_addr = pp->runtime_addr,
		.code_type_addr = pp->code_type_addr,
		.gil_addr = pp->gil_addr,
	};
	if (layout_slot(s, &pp->layout.bpf, &v.layout_idx))
		return -1;
	return bpf_map_update_elem(bpf_map__fd(s->skel->maps.procs), &pid, &v, BPF_ANY);
}

int bpfs_remove_process(struct bpf_session *s, pid_t pid)
{
	uint32_t key = (uint32_t)pid;
	int ret = bpf_map_delete_elem(bpf_map__fd(s->skel->maps.procs), &key);
	/* pids are reused and the maps are bounded: a long run must not fill
	 * them with processes long gone */
	bpf_map_delete_elem(bpf_map__fd(s->skel->maps.gil_stats), &key);
	int hfd = bpf_map__fd(s->skel->maps.gil_hist);
	for (uint32_t b = 0; b < GIL_HIST_BUCKETS; b++) {
		uint64_t hk = gil_hist_key(key, b);
		bpf_map_delete_elem(hfd, &hk);
	}
	return ret;
}

void bpfs_forget_stack(struct bpf_session *s, uint64_t hash)
{
	bpf_map_delete_elem(bpf_map__fd(s->skel->maps.known_stacks), &hash);
}

int bpfs_epoll_fd(struct bpf_session *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

int bpfs_poll(struct bpf_session *s, int timeout_ms)
{
	int n = ring_buffer__poll(s->rb, timeout_ms);
	/* the requests' ring wakes no one for each (bpf/http.bpf.h): taken
	 * at every poll */
	if (s->sys_users & SYS_HTTP)
		ring_buffer__consume(s->rb);
	return n < 0 && n != -EINTR ? n : 0;
}

void bpfs_consume(struct bpf_session *s)
{
	ring_buffer__consume(s->rb);
}

static int by_gen(const void *a, const void *b)
{
	const struct pybpf_count_key *x = a, *y = b;
	return (int32_t)(x->gen - y->gen) < 0 ? -1 : x->gen != y->gen;
}

/* Counts whose generation is older than keep_from, oldest generation first. */
static int drain_older(struct bpf_session *s, uint32_t keep_from, bpfs_count_fn on_count, void *ctx)
{
	int fd = bpf_map__fd(s->skel->maps.counts);
	uint32_t max = bpf_map__max_entries(s->skel->maps.counts);
	struct pybpf_count_key *keys = calloc(max, sizeof(*keys));
	struct pybpf_count_key cur, next;
	uint32_t n = 0;
	int ret = 0;

	if (!keys)
		return -1;
	void *prev = NULL;
	while (n < max && bpf_map_get_next_key(fd, prev, &next) == 0) {
		if ((int32_t)(next.gen - keep_from) < 0)
			keys[n++] = next;
		cur = next;
		prev = &cur;
	}
	if (n)
		qsort(keys, n, sizeof(*keys), by_gen);
	for (uint32_t i = 0; i < n; i++) {
		struct pybpf_count v = {0, 0};
		if (bpf_map_lookup_elem(fd, &keys[i], &v) || bpf_map_delete_elem(fd, &keys[i]))
			continue;
		if (v.count && on_count(ctx, &keys[i], &v))
			ret = -1;
	}
	free(keys);
	return ret;
}

int bpfs_exited_thread(struct bpf_session *s, uint32_t pid, uint32_t tid, char *comm, size_t len)
{
	struct exited_thread e;
	if (!len || bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.exited_threads), &tid, &e) ||
	    e.pid != pid)
		return -1;
	size_t n = strnlen(e.comm, sizeof(e.comm));
	if (n >= len)
		n = len - 1;
	memcpy(comm, e.comm, n);
	comm[n] = 0;
	return 0;
}

uint32_t bpfs_flip(struct bpf_session *s)
{
	uint32_t filling = s->gen;
	s->gen++;
	s->skel->bss->gen = s->gen;
	return filling;
}

int bpfs_drain(struct bpf_session *s, uint32_t keep_from, bpfs_count_fn on_count, void *ctx)
{
	/* stacks are published before they are counted: read them first */
	ring_buffer__consume(s->rb);
	return drain_older(s, keep_from, on_count, ctx);
}

int bpfs_prog_runtime(struct bpf_session *s, uint64_t *run_ns, uint64_t *run_cnt)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(s->skel->progs.on_sample), &info, &len))
		return -1;
	*run_ns = info.run_time_ns;
	*run_cnt = info.run_cnt;
	return 0;
}

int bpfs_stats(struct bpf_session *s, uint64_t out[STAT__COUNT])
{
	int ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		return -1;
	uint64_t *vals = calloc((size_t)ncpus, sizeof(*vals));
	if (!vals)
		return -1;
	int fd = bpf_map__fd(s->skel->maps.stats);
	for (uint32_t k = 0; k < STAT__COUNT; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpus; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}
