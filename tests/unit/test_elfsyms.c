/* daemon/elfsyms.c on real files of this machine: Debian's static, stripped
 * python3.11, its libpython3.11.so, and this test binary (with a .symtab).
 * Expected values come from reading the ELF headers here with <elf.h>. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "native/elfcache.h"
#include "native/elfsyms.h"

#define PYTHON_EXE "/usr/bin/python3.11"
#define LIBPYTHON  "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"

/* Static functions of this file, looked up in its own .symtab. */
__attribute__((noinline, used)) static int probe_alpha(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline, used)) static int probe_beta(int x)
{
	return x * 5 + probe_alpha(x);
}

static void load_path(const char *path, struct elf_file *ef)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	if (elf_file_load(fd, ef))
		fail_msg("elf_file_load %s: %s", path, strerror(errno));
	close(fd);
}

/* The PT_LOAD headers of path, read with <elf.h>; returns their count. */
static size_t read_loads(const char *path, Elf64_Phdr *out, size_t max)
{
	Elf64_Ehdr eh;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
	assert_memory_equal(eh.e_ident, ELFMAG, SELFMAG);
	assert_int_equal(eh.e_ident[EI_CLASS], ELFCLASS64);
	assert_int_equal(eh.e_phentsize, sizeof(Elf64_Phdr));
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		off_t off = (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph));
		assert_int_equal(pread(fd, &ph, sizeof(ph), off), sizeof(ph));
		if (ph.p_type == PT_LOAD && n < max)
			out[n++] = ph;
	}
	close(fd);
	return n;
}

static uint16_t elf_type(const char *path)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
	close(fd);
	return eh.e_type;
}

static void check_sorted_named(const struct elf_file *ef)
{
	assert_true(ef->nsyms > 0);
	for (size_t i = 0; i < ef->nsyms; i++) {
		assert_non_null(ef->syms[i].name);
		assert_true(ef->syms[i].name[0] != '\0');
		if (i && ef->syms[i - 1].addr > ef->syms[i].addr)
			fail_msg("symbol %zu (%s) out of order", i, ef->syms[i].name);
	}
}

static uint64_t vaddr_of(const struct elf_file *ef, uint64_t offset)
{
	uint64_t v = 0;
	if (elf_file_vaddr(ef, offset, &v))
		fail_msg("offset %#llx not mapped", (unsigned long long)offset);
	return v;
}

/* elf_file_vaddr against the program headers read here. */
static void check_loads(const char *path, const struct elf_file *ef)
{
	Elf64_Phdr ph[16];
	size_t n = read_loads(path, ph, 16);
	uint64_t end = 0;

	assert_true(n >= 2);
	assert_int_equal(ef->nloads, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ef->loads[i].vaddr, ph[i].p_vaddr);
		assert_int_equal(ef->loads[i].offset, ph[i].p_offset);
		assert_int_equal(ef->loads[i].filesz, ph[i].p_filesz);
		if (!ph[i].p_filesz)
			continue;
		uint64_t last = ph[i].p_filesz - 1;
		assert_int_equal(vaddr_of(ef, ph[i].p_offset), ph[i].p_vaddr);
		assert_int_equal(vaddr_of(ef, ph[i].p_offset + last), ph[i].p_vaddr + last);
		assert_int_equal(vaddr_of(ef, ph[i].p_offset + last / 2), ph[i].p_vaddr + last / 2);
		if (ph[i].p_offset + ph[i].p_filesz > end)
			end = ph[i].p_offset + ph[i].p_filesz;
	}
	uint64_t v = 0xdead;
	assert_int_equal(elf_file_vaddr(ef, end + 0x100000, &v), -1);
	assert_int_equal(v, 0xdead);
}

static void check_python_symbols(const struct elf_file *ef)
{
	assert_false(ef->symtab);
	check_sorted_named(ef);
	assert_true(ef->pyruntime_addr != 0);
	assert_true(ef->pyruntime_size != 0);
	assert_int_equal(ef->pyruntime_addr, elf_file_symbol(ef, "_PyRuntime"));
	assert_true(elf_file_symbol(ef, "Py_Version") != 0);
	assert_true(elf_file_symbol(ef, "PyCode_Type") != 0);
	assert_int_equal(elf_file_symbol(ef, "no_such_symbol_pybpf"), 0);

	uint64_t save = elf_file_symbol(ef, "PyEval_SaveThread");
	assert_true(save != 0);
	const struct elf_sym *s = elf_file_func_at(ef, save + 10);
	assert_non_null(s);
	assert_string_equal(s->name, "PyEval_SaveThread");
	assert_true(s->func);
	assert_true(s->size > 10);
	assert_int_equal(s->addr, save);
	/* a data symbol is never a function */
	s = elf_file_func_at(ef, elf_file_symbol(ef, "PyCode_Type"));
	if (s)
		assert_true(s->func);
	assert_null(elf_file_func_at(ef, 0));
}

/* The function symbol with the highest address. */
static const struct elf_sym *last_func(const struct elf_file *ef)
{
	for (size_t i = ef->nsyms; i-- > 0;)
		if (ef->syms[i].func)
			return &ef->syms[i];
	return NULL;
}

/* Past every symbol: NULL, unless the last function has no size (then it
 * runs to the end and is returned). */
static void check_beyond(const struct elf_file *ef)
{
	uint64_t top = 0;
	for (size_t i = 0; i < ef->nsyms; i++)
		if (ef->syms[i].addr + ef->syms[i].size > top)
			top = ef->syms[i].addr + ef->syms[i].size;
	const struct elf_sym *last = last_func(ef);
	assert_non_null(last);
	const struct elf_sym *s = elf_file_func_at(ef, top + 0x1000);
	if (last->size)
		assert_null(s);
	else
		assert_ptr_equal(s, last);
}

/* Whether any function symbol covers addr. */
static int covered(const struct elf_file *ef, uint64_t addr)
{
	for (size_t i = 0; i < ef->nsyms; i++) {
		const struct elf_sym *s = &ef->syms[i];
		if (s->func && addr >= s->addr && addr < s->addr + (s->size ? s->size : 1))
			return 1;
	}
	return 0;
}

/* An address in a gap between two sized functions finds nothing. */
static void check_gap(const struct elf_file *ef)
{
	const struct elf_sym *prev = NULL;
	for (size_t i = 0; i < ef->nsyms; i++) {
		const struct elf_sym *s = &ef->syms[i];
		if (!s->func || !s->size)
			continue;
		if (prev && prev->addr + prev->size < s->addr &&
		    !covered(ef, prev->addr + prev->size)) {
			assert_null(elf_file_func_at(ef, prev->addr + prev->size));
			assert_ptr_equal(elf_file_func_at(ef, s->addr), s);
			return;
		}
		prev = s;
	}
	fail_msg("no gap between functions found");
}

static void python_executable(void **state)
{
	(void)state;
	struct elf_file ef;
	load_path(PYTHON_EXE, &ef);
	assert_int_equal(elf_type(PYTHON_EXE), ET_EXEC);
	assert_false(ef.dyn);
	check_python_symbols(&ef);
	check_loads(PYTHON_EXE, &ef);
	check_beyond(&ef);
	check_gap(&ef);
	elf_file_free(&ef);
}

static void libpython_shared(void **state)
{
	(void)state;
	struct elf_file ef;
	load_path(LIBPYTHON, &ef);
	assert_int_equal(elf_type(LIBPYTHON), ET_DYN);
	assert_true(ef.dyn);
	check_python_symbols(&ef);
	check_loads(LIBPYTHON, &ef);
	check_beyond(&ef);
	check_gap(&ef);
	elf_file_free(&ef);
}

/* The file offset of addr in this process, from /proc/self/maps. */
static uint64_t self_offset(uintptr_t addr)
{
	char line[512];
	unsigned long lo, hi, off;
	uint64_t res = UINT64_MAX;
	FILE *f = fopen("/proc/self/maps", "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &off) == 3 && addr >= lo && addr < hi)
			res = addr - lo + off;
	fclose(f);
	assert_true(res != UINT64_MAX);
	return res;
}

static void self_symtab(void **state)
{
	(void)state;
	struct elf_file ef;
	load_path("/proc/self/exe", &ef);
	assert_true(ef.symtab);
	assert_int_equal(ef.dyn, elf_type("/proc/self/exe") == ET_DYN);
	check_sorted_named(&ef);
	assert_int_equal(ef.pyruntime_addr, 0);
	check_loads("/proc/self/exe", &ef);

	uint64_t alpha = elf_file_symbol(&ef, "probe_alpha");
	uint64_t beta = elf_file_symbol(&ef, "probe_beta");
	assert_true(alpha != 0 && beta != 0 && alpha != beta);
	uint64_t bias = (uintptr_t)&probe_alpha - alpha;
	if (!ef.dyn)
		assert_int_equal(bias, 0);
	assert_int_equal((uintptr_t)&probe_beta - bias, beta);

	const struct elf_sym *s = elf_file_func_at(&ef, (uintptr_t)&probe_beta - bias + 3);
	assert_non_null(s);
	assert_string_equal(s->name, "probe_beta");
	s = elf_file_func_at(&ef, (uintptr_t)&probe_alpha - bias);
	assert_non_null(s);
	assert_string_equal(s->name, "probe_alpha");
	assert_int_equal(probe_beta(1), 9);

	/* runtime address -> file offset (maps) -> link-time address */
	assert_int_equal(vaddr_of(&ef, self_offset((uintptr_t)&probe_beta)), beta);
	elf_file_free(&ef);
}

/* A temporary file holding len bytes of data; returns an open fd. */
static int temp_with(const void *data, size_t len)
{
	char path[] = "/tmp/pybpf-elfsyms-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

static void expect_enoexec(int fd)
{
	struct elf_file ef;
	memset(&ef, 0xa5, sizeof(ef));
	errno = EAGAIN; /* stale: the failure must set its own errno */
	assert_int_equal(elf_file_load(fd, &ef), -1);
	assert_int_equal(errno, ENOEXEC);
	assert_null(ef.syms);
	assert_null(ef.strs);
	assert_int_equal(ef.nsyms, 0);
	close(fd);
}

static void not_elf(void **state)
{
	(void)state;
	static const char text[] = "#!/bin/sh\necho this is not an ELF file\n";
	expect_enoexec(temp_with(text, sizeof(text) - 1));
	expect_enoexec(temp_with("", 0));
}

/* The first 64 bytes of a real ELF: a valid header, nothing behind it.
 * libelf rejects the program headers without setting errno, so this checks
 * that elf_file_load reports ENOEXEC rather than a stale errno. */
static void truncated_elf(void **state)
{
	(void)state;
	unsigned char head[sizeof(Elf64_Ehdr)];
	int src = open(PYTHON_EXE, O_RDONLY | O_CLOEXEC);
	assert_true(src >= 0);
	assert_int_equal(pread(src, head, sizeof(head), 0), sizeof(head));
	close(src);
	expect_enoexec(temp_with(head, sizeof(head)));
}

static void free_zeroes_and_is_repeatable(void **state)
{
	(void)state;
	struct elf_file ef;
	load_path(LIBPYTHON, &ef);
	assert_non_null(ef.syms);
	elf_file_free(&ef);
	assert_null(ef.syms);
	assert_null(ef.strs);
	assert_int_equal(ef.nsyms, 0);
	assert_int_equal(ef.nloads, 0);
	assert_int_equal(ef.pyruntime_addr, 0);
	assert_false(ef.dyn);
	elf_file_free(&ef);
	assert_null(ef.syms);
	/* lookups on an empty file find nothing */
	uint64_t v;
	assert_null(elf_file_func_at(&ef, 0x1000));
	assert_int_equal(elf_file_symbol(&ef, "_PyRuntime"), 0);
	assert_int_equal(elf_file_vaddr(&ef, 0, &v), -1);
}

static bool keep_libc(void *ctx, uint64_t inode, unsigned major, unsigned minor)
{
	const struct mapping *libc = ctx;
	return inode == libc->inode && major == libc->dev_major && minor == libc->dev_minor;
}

/* elfcache_prune forgets the files it is told no one maps, and only those:
 * what is kept is found again without a new load, what is gone loads anew */
static void cache_prune(void **state)
{
	(void)state;
	struct procmaps pm;
	assert_int_equal(procmaps_read(getpid(), &pm), 0);
	const struct mapping *exe = NULL, *libc = NULL;
	for (size_t i = 0; i < pm.n; i++) {
		const struct mapping *m = &pm.m[i];
		if (!m->exec || !m->inode)
			continue;
		if (!libc && strstr(m->path, "libc.so"))
			libc = m;
		else if (!exe && strstr(m->path, "test_elfsyms"))
			exe = m;
	}
	assert_non_null(exe);
	assert_non_null(libc);
	struct elfcache *c = elfcache_new();
	assert_non_null(c);
	const struct elf_file *e1 = elfcache_get(c, &pm, exe), *l1 = elfcache_get(c, &pm, libc);
	assert_non_null(e1);
	assert_non_null(l1);
	assert_int_equal(elfcache_size(c), 2);
	assert_int_equal(elfcache_prune(c, keep_libc, (void *)libc), 1);
	assert_int_equal(elfcache_size(c), 1);
	assert_ptr_equal(elfcache_get(c, &pm, libc), l1); /* kept, not loaded again */
	assert_non_null(elfcache_get(c, &pm, exe));	  /* gone: loaded anew */
	assert_int_equal(elfcache_size(c), 2);
	assert_int_equal(elfcache_prune(c, keep_libc, (void *)libc), 1);
	elfcache_free(c);
	procmaps_free(&pm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(python_executable),
		cmocka_unit_test(libpython_shared),
		cmocka_unit_test(self_symtab),
		cmocka_unit_test(not_elf),
		cmocka_unit_test(truncated_elf),
		cmocka_unit_test(free_zeroes_and_is_repeatable),
		cmocka_unit_test(cache_prune),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
