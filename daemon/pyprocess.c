/* pyprocess.c - recognising a CPython process. */
#define _GNU_SOURCE
#include "pyprocess.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "elfcache.h"
#include "memread.h"
#include "procmaps.h"
#include "pylayout.h"

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
	return version_from_name(pp->object, &pp->major, &pp->minor);
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

static enum pyprocess_result find_runtime(struct pyprocess *pp, const struct procmaps *pm,
					  const char *exe, const struct elf_file **efp)
{
	for (size_t i = 0; i < pm->n; i++) {
		const struct mapping *m = &pm->m[i];
		if (!candidate(m, exe))
			continue;
		const struct elf_file *ef = elfcache_get(pm, m);
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

enum pyprocess_result pyprocess_inspect(pid_t pid, struct pyprocess *pp, char *err, size_t errlen)
{
	char exe_link[64], exe[PATH_MAX] = "";
	struct procmaps pm;
	const struct elf_file *ef = NULL;
	enum pyprocess_result r;

	memset(pp, 0, sizeof(*pp));
	pp->pid = pid;
	snprintf(exe_link, sizeof(exe_link), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(exe_link, exe, sizeof(exe) - 1);
	if (n < 0 && errno == ENOENT)
		return fail(err, errlen, PYPROC_ERROR, "pid %d: no such process", (int)pid);
	if (n < 0)
		return fail(err, errlen, PYPROC_ERROR, "pid %d: cannot read %s: %s%s", (int)pid,
			    exe_link, strerror(errno),
			    errno == EACCES || errno == EPERM
				    ? " (profiling another user's process needs root or "
				      "CAP_SYS_PTRACE)"
				    : "");
	exe[n] = 0;
	if (procmaps_read(pid, &pm))
		return fail(err, errlen, PYPROC_ERROR, "pid %d: cannot read /proc/%d/maps: %s",
			    (int)pid, (int)pid, strerror(errno));
	r = find_runtime(pp, &pm, exe, &ef);
	procmaps_free(&pm);
	if (r != PYPROC_OK)
		return fail(err, errlen, r, "pid %d (%s): no CPython runtime (_PyRuntime) found",
			    (int)pid, exe);
	if (read_version(pp, ef))
		return fail(err, errlen, PYPROC_UNSUPPORTED,
			    "pid %d: cannot tell the CPython version of %s", (int)pid, pp->object);
	pp->layout = pylayout_find(pp->major, pp->minor);
	if (!pp->layout)
		return fail(err, errlen, PYPROC_UNSUPPORTED,
			    "pid %d: CPython %u.%u.%u (%s) is not supported yet (supported: %s)",
			    (int)pid, pp->major, pp->minor, pp->micro, pp->object,
			    pylayout_supported());
	uint64_t interp = 0;
	if (mem_read_u64(pid, pp->runtime_addr + pp->layout->rt_interp_head, &interp))
		return fail(err, errlen, PYPROC_ERROR,
			    "pid %d: cannot read _PyRuntime at 0x%llx: %s", (int)pid,
			    (unsigned long long)pp->runtime_addr, strerror(errno));
	if (!interp)
		return fail(err, errlen, PYPROC_NOT_READY,
			    "pid %d: CPython %u.%u has not initialised its interpreter yet",
			    (int)pid, pp->major, pp->minor);
	return PYPROC_OK;
}
