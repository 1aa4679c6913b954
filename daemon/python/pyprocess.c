/* pyprocess.c - recognising a CPython process. */
#define _GNU_SOURCE
#include "python/pyprocess.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "native/elfcache.h"
#include "python/pylayout.h"
#include "sys/memread.h"
#include "sys/procfs.h"
#include "sys/procmaps.h"

/* Is this mapped object a candidate for holding the CPython runtime? */
static bool candidate(const struct mapping *m, const char *exe)
{
	if (!m->inode || !m->path[0])
		return false;
	if (strcmp(m->path, exe) == 0)
		return true;
	const char *base = strrchr(m->path, '/');
	base = base ? base + 1 : m->path;
	return strncmp(base, "libpython", 9) == 0;
}

static uint64_t runtime_vaddr(const struct elf_file *ef)
{
	uint64_t a = elf_file_symbol(ef, "_PyRuntime");
	return a ? a : ef->pyruntime_addr;
}

/* Version from the file name: python3.11, libpython3.11.so.1.0 ... */
static int version_from_name(const char *path, unsigned *major, unsigned *minor)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *p = strstr(base, "python");
	if (!p)
		return -1;
	return sscanf(p, "python%u.%u", major, minor) == 2 ? 0 : -1;
}

static int read_version(struct pyprocess *pp, const struct elf_file *ef)
{
	uint64_t pv = elf_file_symbol(ef, "Py_Version");
	uint32_t hex = 0;
	if (pv && mem_read(pp->pid, pp->bias + pv, &hex, sizeof(hex)) == 0 && (hex >> 24) == 3) {
		pp->major = hex >> 24;
		pp->minor = (hex >> 16) & 0xff;
		pp->micro = (hex >> 8) & 0xff;
		return 0;
	}
	/* before 3.11: the PY_VERSION string, checked against the file name */
	unsigned maj, min, mic;
	int named = version_from_name(pp->object, &pp->major, &pp->minor);
	if (sscanf(ef->py_version, "%u.%u.%u", &maj, &min, &mic) == 3 &&
	    (named || (maj == pp->major && min == pp->minor))) {
		pp->major = maj;
		pp->minor = min;
		pp->micro = mic;
		return 0;
	}
	return named;
}

static enum pyprocess_result fail(char *err, size_t len, enum pyprocess_result r, const char *fmt,
				  ...) __attribute__((format(printf, 4, 5)));

static enum pyprocess_result fail(char *err, size_t len, enum pyprocess_result r, const char *fmt,
				  ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return r;
}

/* Free-threaded (3.13t+) and debug (Py_DEBUG) builds lay objects out
 * differently: refuse them by name and by their telltale symbols. */
static const char *unsupported_build(const struct pyprocess *pp, const struct elf_file *ef)
{
	const char *base = strrchr(pp->object, '/');
	unsigned major, minor;
	char suffix = 0;
	base = base ? base + 1 : pp->object;
	const char *p = strstr(base, "python");
	if (p && sscanf(p, "python%u.%u%c", &major, &minor, &suffix) == 3) {
		if (suffix == 't')
			return "a free-threaded build";
		if (suffix == 'd')
			return "a debug build";
	}
	if (elf_file_symbol(ef, "_Py_NegativeRefcount"))
		return "a debug build (Py_DEBUG)";
	return NULL;
}

struct debug_field {
	const char *name;
	size_t layout_off; /* in struct pylayout */
	size_t map_off;	   /* in struct py_debug_map */
};

#define DF(f)                                                                                      \
	{                                                                                          \
#f, offsetof(struct pylayout, f), offsetof(struct py_debug_map, f)                 \
	}
#define DFB(f)                                                                                     \
	{                                                                                          \
#f, offsetof(struct pylayout, bpf.f), offsetof(struct py_debug_map, f)             \
	}
static const struct debug_field debug_fields[] = {
	DFB(rt_interp_head), DFB(interp_next), DFB(interp_tstate_head),
	DF(interp_gil_ptr),  DFB(ts_next),     DF(ts_native_tid),
	DFB(ts_thread_id),   DFB(ts_frame),    DFB(fr_code),
	DFB(fr_previous),    DFB(fr_instr),    DFB(fr_owner),
	DF(co_filename),     DF(co_name),      DF(co_qualname),
	DF(co_firstlineno),  DF(co_linetable), DFB(co_code),
	DFB(ob_type),	     DF(var_size),     DF(bytes_sval),
	DF(ascii_length),    DF(ascii_data),
	/* the GIL fields there are offsets from the interpreter state, not from
	 * the gil struct: they are cross-checked by the GIL tracking instead */
};
#undef DF
#undef DFB

static uint16_t *layout_field(struct pylayout *L, size_t off)
{
	return (uint16_t *)((char *)L + off);
}

static void note(struct pyprocess *pp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct pyprocess *pp, const char *fmt, ...)
{
	size_t used = strlen(pp->layout_note);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pp->layout_note + used, sizeof(pp->layout_note) - used, fmt, ap);
	va_end(ap);
}

/* 3.13+: the interpreter describes its own layout in _Py_DebugOffsets at the
 * start of _PyRuntime.  Use those values, noting where the table differs. */
static enum pyprocess_result apply_debug_offsets(struct pyprocess *pp, char *err, size_t errlen)
{
	const struct py_debug_map *map = pylayout_debug_map(pp->major, pp->minor);
	uint8_t buf[2048];
	uint64_t v;

	if (!map)
		return PYPROC_OK;
	if (map->size > sizeof(buf) || mem_read(pp->pid, pp->runtime_addr, buf, map->size)) {
		note(pp, "cannot read _Py_DebugOffsets; using the table");
		return PYPROC_OK;
	}
	if (memcmp(buf + map->cookie, "xdebugpy", 8) != 0) {
		note(pp, "no _Py_DebugOffsets cookie; using the table");
		return PYPROC_OK;
	}
	memcpy(&v, buf + map->dversion, sizeof(v));
	if ((v >> 24) != pp->major || ((v >> 16) & 0xff) != pp->minor)
		return fail(err, errlen, PYPROC_UNSUPPORTED,
			    "pid %d: _Py_DebugOffsets say version 0x%llx, not %u.%u", (int)pp->pid,
			    (unsigned long long)v, pp->major, pp->minor);
	if (map->free_threaded != PYL_NO_FIELD && buf[map->free_threaded])
		return fail(err, errlen, PYPROC_UNSUPPORTED,
			    "pid %d: CPython %u.%u.%u (%s) is a free-threaded build, which is not "
			    "supported yet",
			    (int)pp->pid, pp->major, pp->minor, pp->micro, pp->object);
	struct pylayout live = pp->layout;
	size_t n = sizeof(debug_fields) / sizeof(debug_fields[0]), differ = 0;
	for (size_t i = 0; i < n; i++) {
		const struct debug_field *f = &debug_fields[i];
		uint16_t pos = *(const uint16_t *)((const char *)map + f->map_off);
		uint16_t *dst = layout_field(&live, f->layout_off);
		if (pos == PYL_NO_FIELD || *dst == PYL_NO_FIELD || pos + 8u > map->size)
			continue;
		memcpy(&v, buf + pos, sizeof(v));
		if (v >= PYL_NO_FIELD || v == *dst)
			continue;
		note(pp, "%s%s: table %u, live %llu", pp->layout_note[0] ? "; " : "", f->name, *dst,
		     (unsigned long long)v);
		*dst = (uint16_t)v;
		differ++;
	}
	/* A patch release moves a field or two; a struct laid out otherwise
	 * than the map expects moves everything: then trust neither. */
	if (differ > n / 2)
		return fail(
			err, errlen, PYPROC_UNSUPPORTED,
			"pid %d: CPython %u.%u.%u's _Py_DebugOffsets disagree with pybpf's table "
			"in %zu of %zu fields; not profiling it rather than guessing",
			(int)pp->pid, pp->major, pp->minor, pp->micro, differ, n);
	pylayout_derive(&live);
	if (live.bpf.fr_read > PYBPF_BUF || live.bpf.co_read > PYBPF_BUF)
		return fail(err, errlen, PYPROC_UNSUPPORTED,
			    "pid %d: CPython %u.%u's frames or code objects are larger than pybpf "
			    "reads (%u/%u bytes)",
			    (int)pp->pid, pp->major, pp->minor, live.bpf.fr_read, live.bpf.co_read);
	pp->layout = live;
	pp->debug_offsets = true;
	return PYPROC_OK;
}

static enum pyprocess_result find_runtime(struct pyprocess *pp, struct elfcache *cache,
					  const struct procmaps *pm, const char *exe,
					  const struct elf_file **efp)
{
	for (size_t i = 0; i < pm->n; i++) {
		const struct mapping *m = &pm->m[i];
		if (!candidate(m, exe))
			continue;
		const struct elf_file *ef = elfcache_get(cache, pm, m);
		uint64_t rt = ef ? runtime_vaddr(ef) : 0;
		if (!rt || elfcache_bias(ef, m, &pp->bias))
			continue;
		snprintf(pp->object, sizeof(pp->object), "%s", m->path);
		pp->shared = strcmp(m->path, exe) != 0;
		pp->stripped = !ef->symtab;
		pp->runtime_addr = pp->bias + rt;
		uint64_t ct = elf_file_symbol(ef, "PyCode_Type");
		pp->code_type_addr = ct ? pp->bias + ct : 0;
		*efp = ef;
		return PYPROC_OK;
	}
	return PYPROC_NOT_PYTHON;
}

/* Host pid, namespace pid, cgroup and root: where the process lives. */
static void read_identity(struct pyprocess *pp)
{
	pp->ns_pid = (pid_t)procfs_nspid(pp->pid, 0);
	procfs_cgroup(pp->pid, pp->cgroup, sizeof(pp->cgroup));
	procfs_root(pp->pid, pp->root, sizeof(pp->root));
}

/* The GIL: embedded in _PyRuntime up to 3.11, the interpreter's from 3.12
 * (interp->ceval.gil; the last interpreter in the list is the main one). */
static void find_gil(struct pyprocess *pp, uint64_t interp)
{
	const struct pylayout *L = &pp->layout;
	if (L->rt_gil != PYL_NO_FIELD) {
		pp->gil_addr = pp->runtime_addr + L->rt_gil;
		return;
	}
	if (L->interp_gil_ptr == PYL_NO_FIELD)
		return;
	uint64_t next = interp;
	for (int i = 0; next && i < 64; i++) {
		interp = next;
		if (mem_read_u64(pp->pid, interp + L->bpf.interp_next, &next))
			return;
	}
	mem_read_u64(pp->pid, interp + L->interp_gil_ptr, &pp->gil_addr);
}

enum pyprocess_result pyprocess_inspect(pid_t pid, struct elfcache *cache, struct pyprocess *pp,
					char *err, size_t errlen)
{
	char exe[PATH_MAX] = "";
	struct procmaps pm;
	const struct elf_file *ef = NULL;
	enum pyprocess_result r;

	memset(pp, 0, sizeof(*pp));
	pp->pid = pid;
	if (procfs_exe(pid, exe, sizeof(exe))) {
		if (errno == ENOENT)
			return fail(err, errlen, PYPROC_ERROR, "pid %d: no such process", (int)pid);
		return fail(err, errlen, PYPROC_ERROR, "pid %d: cannot read /proc/%d/exe: %s%s",
			    (int)pid, (int)pid, strerror(errno),
			    errno == EACCES || errno == EPERM
				    ? " (profiling another user's process needs root or "
				      "CAP_SYS_PTRACE)"
				    : "");
	}
	read_identity(pp);
	if (procmaps_read(pid, &pm))
		return fail(err, errlen, PYPROC_ERROR, "pid %d: cannot read /proc/%d/maps: %s",
			    (int)pid, (int)pid, strerror(errno));
	r = find_runtime(pp, cache, &pm, exe, &ef);
	procmaps_free(&pm);
	if (r != PYPROC_OK)
		return fail(err, errlen, r, "pid %d (%s): no CPython runtime (_PyRuntime) found",
			    (int)pid, exe);
	if (read_version(pp, ef))
		return fail(err, errlen, PYPROC_UNSUPPORTED,
			    "pid %d: cannot tell the CPython version of %s", (int)pid, pp->object);
	const char *why = unsupported_build(pp, ef);
	if (why)
		return fail(err, errlen, PYPROC_UNSUPPORTED,
			    "pid %d: CPython %u.%u.%u (%s) is %s, which is not supported yet",
			    (int)pid, pp->major, pp->minor, pp->micro, pp->object, why);
	const struct pylayout *rec = pylayout_find(pp->major, pp->minor);
	if (!rec)
		return fail(err, errlen, PYPROC_UNSUPPORTED,
			    "pid %d: CPython %u.%u.%u (%s) is not supported yet (supported: %s)",
			    (int)pid, pp->major, pp->minor, pp->micro, pp->object,
			    pylayout_supported());
	pp->layout = *rec;
	uint64_t take = elf_file_symbol(ef, "take_gil"), drop = elf_file_symbol(ef, "drop_gil");
	if (!take || !drop || elf_file_offset(ef, take, &pp->take_gil_off) ||
	    elf_file_offset(ef, drop, &pp->drop_gil_off))
		pp->take_gil_off = pp->drop_gil_off = 0;
	r = apply_debug_offsets(pp, err, errlen);
	if (r != PYPROC_OK)
		return r;
	uint64_t interp = 0;
	if (mem_read_u64(pid, pp->runtime_addr + pp->layout.bpf.rt_interp_head, &interp))
		return fail(err, errlen, PYPROC_ERROR,
			    "pid %d: cannot read _PyRuntime at 0x%llx: %s", (int)pid,
			    (unsigned long long)pp->runtime_addr, strerror(errno));
	if (!interp)
		return fail(err, errlen, PYPROC_NOT_READY,
			    "pid %d: CPython %u.%u has not initialised its interpreter yet",
			    (int)pid, pp->major, pp->minor);
	find_gil(pp, interp);
	/* 3.12+: the GIL is the interpreter's, made a little later in its
	 * start; registered before, its waits would never be seen */
	if (!pp->gil_addr && pp->layout.interp_gil_ptr != PYL_NO_FIELD)
		return fail(err, errlen, PYPROC_NOT_READY,
			    "pid %d: CPython %u.%u has not created its GIL yet", (int)pid,
			    pp->major, pp->minor);
	return PYPROC_OK;
}
