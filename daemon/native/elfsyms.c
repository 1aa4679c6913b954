/* elfsyms.c - symbols, sections and load segments of an ELF file (libelf). */
#include "native/elfsyms.h"

#include <stddef.h>

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "sys/sorted.h"

#define ELF_MAX_SYMS (4u << 20)

static const char *add_str(struct elf_file *ef, const char *s, size_t *off)
{
	size_t n = strlen(s) + 1;
	if (ef->strs_len + n > ef->strs_cap) {
		size_t ncap = ef->strs_cap ? ef->strs_cap * 2 : 65536;
		while (ncap < ef->strs_len + n)
			ncap *= 2;
		char *ns = realloc(ef->strs, ncap);
		if (!ns)
			return NULL;
		ef->strs = ns;
		ef->strs_cap = ncap;
	}
	memcpy(ef->strs + ef->strs_len, s, n);
	*off = ef->strs_len;
	ef->strs_len += n;
	return ef->strs;
}

static int read_symtab(struct elf_file *ef, Elf *e, Elf_Scn *scn, GElf_Shdr *sh, size_t *cap)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || sh->sh_entsize == 0)
		return 0;
	size_t n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n && ef->nsyms < ELF_MAX_SYMS; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s) || s.st_value == 0 || s.st_shndx == SHN_UNDEF)
			continue;
		int type = GELF_ST_TYPE(s.st_info);
		if (type != STT_FUNC && type != STT_OBJECT)
			continue;
		const char *name = elf_strptr(e, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		if (ef->nsyms == *cap) {
			*cap = *cap ? *cap * 2 : 1024;
			struct elf_sym *ns = realloc(ef->syms, *cap * sizeof(*ns));
			if (!ns)
				return -1;
			ef->syms = ns;
		}
		size_t off;
		if (!add_str(ef, name, &off))
			return -1;
		ef->syms[ef->nsyms++] = (struct elf_sym){
			.addr = s.st_value,
			.size = s.st_size,
			.name = (const char *)(uintptr_t)off, /* fixed up after loading */
			.func = type == STT_FUNC,
		};
	}
	return 0;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (x->func ? 0 : 1) - (y->func ? 0 : 1);
}

static int read_sections(struct elf_file *ef, Elf *e)
{
	size_t shstrndx, cap = 0;
	Elf_Scn *scn = NULL, *dynsym = NULL;
	GElf_Shdr dynsh;

	if (elf_getshdrstrndx(e, &shstrndx)) {
		errno = ENOEXEC;
		return -1;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name && strcmp(name, ".PyRuntime") == 0) {
			ef->pyruntime_addr = sh.sh_addr;
			ef->pyruntime_size = sh.sh_size;
		}
		if (sh.sh_type == SHT_SYMTAB) {
			ef->symtab = true;
			if (read_symtab(ef, e, scn, &sh, &cap))
				return -1;
		} else if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			dynsh = sh;
		}
	}
	/* .dynsym holds exported data symbols .symtab may lack in stripped files;
	 * duplicates are harmless for lookups. */
	if (dynsym && read_symtab(ef, e, dynsym, &dynsh, &cap))
		return -1;
	for (size_t i = 0; i < ef->nsyms; i++)
		ef->syms[i].name = ef->strs + (uintptr_t)ef->syms[i].name;
	if (ef->nsyms)
		qsort(ef->syms, ef->nsyms, sizeof(*ef->syms), cmp_sym);
	return 0;
}

static int read_segments(struct elf_file *ef, Elf *e)
{
	size_t n;
	if (elf_getphdrnum(e, &n)) {
		errno = ENOEXEC;
		return -1;
	}
	for (size_t i = 0; i < n && ef->nloads < sizeof(ef->loads) / sizeof(ef->loads[0]); i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		ef->loads[ef->nloads++] = (struct elf_load){ph.p_vaddr, ph.p_offset, ph.p_filesz};
	}
	return 0;
}

int elf_file_load(int fd, struct elf_file *out)
{
	int ret = -1;
	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return -1;
	}
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e) {
		errno = ENOEXEC;
		return -1;
	}
	GElf_Ehdr eh;
	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		errno = ENOEXEC;
		goto out;
	}
	out->dyn = eh.e_type == ET_DYN;
	if (read_segments(out, e) || read_sections(out, e))
		goto out;
	ret = 0;
out:
	elf_end(e);
	if (ret)
		elf_file_free(out);
	return ret;
}

void elf_file_free(struct elf_file *ef)
{
	free(ef->syms);
	free(ef->strs);
	memset(ef, 0, sizeof(*ef));
}

const struct elf_sym *elf_file_func_at(const struct elf_file *ef, uint64_t vaddr)
{
	size_t lo = count_at_or_below(ef->syms, ef->nsyms, sizeof(*ef->syms),
				      offsetof(struct elf_sym, addr), vaddr);
	for (size_t i = lo; i-- > 0;) {
		const struct elf_sym *s = &ef->syms[i];
		if (!s->func)
			continue;
		if (vaddr < s->addr + (s->size ? s->size : 1))
			return s;
		/* a sized function that ends before vaddr: nothing covers it */
		return s->size ? NULL : s;
	}
	return NULL;
}

uint64_t elf_file_symbol(const struct elf_file *ef, const char *name)
{
	for (size_t i = 0; i < ef->nsyms; i++)
		if (strcmp(ef->syms[i].name, name) == 0)
			return ef->syms[i].addr;
	return 0;
}

int elf_file_vaddr(const struct elf_file *ef, uint64_t offset, uint64_t *vaddr)
{
	for (size_t i = 0; i < ef->nloads; i++) {
		const struct elf_load *l = &ef->loads[i];
		uint64_t lo = l->offset & ~0xfffULL;
		if (offset >= lo && offset < l->offset + l->filesz) {
			*vaddr = l->vaddr - (l->offset - lo) + (offset - lo);
			return 0;
		}
	}
	return -1;
}
