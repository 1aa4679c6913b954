/* elfsyms.c - symbols, sections and load segments of an ELF file (libelf). */
#include "native/elfsyms.h"

#include <stddef.h>

#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/sorted.h"

#define ELF_MAX_SYMS (4u << 20)

/* A stripped file's call frame information: libdw's view of it says
 * whether an address lies in a function at all, and the binary search table
 * of .eh_frame_hdr (the index the unwinders use) where that function starts. */
struct elf_cfi {
	int fd;
	Elf *elf;
	Dwarf_CFI *cfi;
	const uint8_t *table; /* (initial location, FDE) pairs, datarel sdata4 */
	size_t nfde;
	uint64_t hdr_vaddr;
};

#define DW_EH_PE_udata4	 0x03
#define DW_EH_PE_sdata4	 0x0b
#define DW_EH_PE_datarel 0x30

static void elf_cfi_close(struct elf_cfi *c)
{
	if (!c)
		return;
	if (c->cfi)
		dwarf_cfi_end(c->cfi);
	if (c->elf)
		elf_end(c->elf);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* The table of .eh_frame_hdr, in the one encoding compilers emit for it. */
static int find_fde_table(struct elf_cfi *c)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	if (elf_getshdrstrndx(c->elf, &shstrndx))
		return -1;
	while ((scn = elf_nextscn(c->elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(c->elf, shstrndx, sh.sh_name)) ||
		    strcmp(name, ".eh_frame_hdr"))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		const uint8_t *b = d ? d->d_buf : NULL;
		if (!b || d->d_size < 12 || b[0] != 1 || (b[1] & 0x0f) != DW_EH_PE_sdata4 ||
		    b[2] != DW_EH_PE_udata4 || b[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
			return -1;
		uint32_t n;
		memcpy(&n, b + 8, 4);
		if (n > (d->d_size - 12) / 8)
			return -1;
		c->table = b + 12;
		c->nfde = n;
		c->hdr_vaddr = sh.sh_addr;
		return 0;
	}
	return -1;
}

int elf_file_open_cfi(struct elf_file *ef, int fd)
{
	struct elf_cfi *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	c->fd = dup(fd);
	c->elf = c->fd >= 0 ? elf_begin(c->fd, ELF_C_READ_MMAP, NULL) : NULL;
	c->cfi = c->elf ? dwarf_getcfi_elf(c->elf) : NULL;
	if (!c->cfi || find_fde_table(c)) {
		elf_cfi_close(c);
		return -1;
	}
	ef->cfi = c;
	return 0;
}

static uint64_t fde_loc(const struct elf_cfi *c, size_t i)
{
	int32_t rel;
	memcpy(&rel, c->table + 8 * i, 4);
	return c->hdr_vaddr + (uint64_t)(int64_t)rel;
}

int elf_file_fde_start(const struct elf_file *ef, uint64_t vaddr, uint64_t *start)
{
	const struct elf_cfi *c = ef->cfi;
	Dwarf_Frame *f = NULL;
	if (!c || dwarf_cfi_addrframe(c->cfi, vaddr, &f) || !f)
		return -1; /* in no function the unwinder knows */
	free(f);
	/* the last FDE that starts at or below vaddr (the table is sorted) */
	size_t lo = 0, hi = c->nfde;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fde_loc(c, mid) <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	*start = fde_loc(c, lo - 1);
	return 0;
}

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

static int read_symtab(struct elf_file *ef, Elf *e, Elf_Scn *scn, GElf_Shdr *sh)
{
	size_t *cap = &ef->syms_cap;
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

/* Names are kept as offsets into strs while strs grows, pointers after. */
static void names_to_pointers(struct elf_file *ef)
{
	for (size_t i = 0; i < ef->nsyms; i++)
		ef->syms[i].name = ef->strs + (uintptr_t)ef->syms[i].name;
	if (ef->nsyms)
		qsort(ef->syms, ef->nsyms, sizeof(*ef->syms), cmp_sym);
}

static void names_to_offsets(struct elf_file *ef)
{
	for (size_t i = 0; i < ef->nsyms; i++)
		ef->syms[i].name = (const char *)(uintptr_t)(ef->syms[i].name - ef->strs);
}

/* The build id note (NT_GNU_BUILD_ID) of a SHT_NOTE section. */
static void read_build_id(struct elf_file *ef, Elf_Scn *scn)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	GElf_Nhdr nh;
	size_t off = 0, name_off, desc_off, next;
	while (d && (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && nh.n_descsz &&
		    nh.n_descsz <= sizeof(ef->build_id) &&
		    !memcmp((const char *)d->d_buf + name_off, "GNU", 4)) {
			memcpy(ef->build_id, (const char *)d->d_buf + desc_off, nh.n_descsz);
			ef->build_id_len = nh.n_descsz;
			return;
		}
		off = next;
	}
}

/* .gnu_debuglink: a file name, NUL, padding to 4, a CRC-32 of that file. */
static void read_debuglink(struct elf_file *ef, Elf_Scn *scn)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || d->d_size < 8)
		return;
	const char *b = d->d_buf;
	size_t n = strnlen(b, d->d_size);
	size_t crc_off = (n + 4) & ~(size_t)3;
	if (n == 0 || n >= sizeof(ef->debuglink) || crc_off + 4 > d->d_size || memchr(b, '/', n))
		return;
	memcpy(ef->debuglink, b, n);
	ef->debuglink[n] = 0;
	memcpy(&ef->debuglink_crc, b + crc_off, 4);
}

static void read_section(struct elf_file *ef, Elf_Scn *scn, const GElf_Shdr *sh, const char *name)
{
	if (strcmp(name, ".PyRuntime") == 0) {
		ef->pyruntime_addr = sh->sh_addr;
		ef->pyruntime_size = sh->sh_size;
	} else if (sh->sh_type == SHT_NOTE && !ef->build_id_len) {
		read_build_id(ef, scn);
	} else if (strcmp(name, ".gnu_debuglink") == 0) {
		read_debuglink(ef, scn);
	} else if (strcmp(name, ".gnu_debugdata") == 0 && sh->sh_type == SHT_PROGBITS) {
		ef->debugdata_off = sh->sh_offset;
		ef->debugdata_size = sh->sh_size;
	}
}

static int read_sections(struct elf_file *ef, Elf *e)
{
	size_t shstrndx;
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
		if (name)
			read_section(ef, scn, &sh, name);
		if (sh.sh_type == SHT_SYMTAB) {
			ef->symtab = true;
			if (read_symtab(ef, e, scn, &sh))
				return -1;
		} else if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			dynsh = sh;
		}
	}
	/* .dynsym holds exported data symbols .symtab may lack in stripped files;
	 * duplicates are harmless for lookups. */
	if (dynsym && read_symtab(ef, e, dynsym, &dynsh))
		return -1;
	names_to_pointers(ef);
	ef->names = ef->symtab ? ELF_NAMES_SYMTAB : ELF_NAMES_DYNSYM;
	return 0;
}

/* "3.N.M" with an optional release suffix (a1, b2, rc1, +), ending at its
 * NUL; the length, or 0. */
static size_t version_at(const char *p, const char *end)
{
	const char *q = p;
	int dots = 0;
	if (q >= end || *q != '3')
		return 0;
	for (q++; q < end && dots < 2; dots++) {
		if (*q != '.' || q + 1 >= end || *(q + 1) < '0' || *(q + 1) > '9')
			return 0;
		for (q++; q < end && *q >= '0' && *q <= '9'; q++)
			;
	}
	while (q < end && (*q == 'a' || *q == 'b' || *q == 'r' || *q == 'c' || *q == '+' ||
			   (*q >= '0' && *q <= '9')))
		q++;
	if (dots < 2 || q >= end || *q || q - p >= 16)
		return 0;
	return (size_t)(q - p);
}

/* PY_VERSION of an interpreter without Py_Version: the version string most
 * often in .rodata (it also ends paths the build left, which agree). */
static void read_py_version(struct elf_file *ef, Elf *e)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	struct {
		char s[16];
		int n;
	} cand[8] = {0};
	if (elf_getshdrstrndx(e, &shstrndx))
		return;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(name = elf_strptr(e, shstrndx, sh.sh_name)) || strcmp(name, ".rodata"))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			return;
		const char *b = d->d_buf, *end = b + d->d_size;
		for (const char *p = b; (p = memchr(p, '3', (size_t)(end - p))); p++) {
			if (p > b && ((p[-1] >= '0' && p[-1] <= '9') || p[-1] == '.'))
				continue;
			size_t n = version_at(p, end);
			for (size_t i = 0; n && i < 8; i++) {
				if (!cand[i].n)
					memcpy(cand[i].s, p, n);
				if (!strcmp(cand[i].s, p)) {
					cand[i].n++;
					break;
				}
			}
		}
	}
	int best = 0;
	for (size_t i = 0; i < 8; i++)
		if (cand[i].n > best) {
			best = cand[i].n;
			memcpy(ef->py_version, cand[i].s, sizeof(ef->py_version));
		}
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

static int load_elf(Elf *e, struct elf_file *out)
{
	int ret = -1;
	GElf_Ehdr eh;
	if (!e) {
		errno = ENOEXEC;
		return -1;
	}
	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		errno = ENOEXEC;
		goto out;
	}
	out->dyn = eh.e_type == ET_DYN;
	if (read_segments(out, e) || read_sections(out, e))
		goto out;
	if (elf_file_symbol(out, "_PyRuntime") && !elf_file_symbol(out, "Py_Version"))
		read_py_version(out, e);
	ret = 0;
out:
	elf_end(e);
	if (ret)
		elf_file_free(out);
	return ret;
}

int elf_file_load(int fd, struct elf_file *out)
{
	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return -1;
	}
	return load_elf(elf_begin(fd, ELF_C_READ_MMAP, NULL), out);
}

int elf_file_load_mem(void *buf, size_t len, struct elf_file *out)
{
	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOSYS;
		return -1;
	}
	return load_elf(elf_memory(buf, len), out);
}

int elf_file_merge_symbols(struct elf_file *ef, const struct elf_file *from)
{
	int ret = 0;
	names_to_offsets(ef);
	for (size_t i = 0; i < from->nsyms && ef->nsyms < ELF_MAX_SYMS; i++) {
		size_t off;
		if (ef->nsyms == ef->syms_cap) {
			size_t ncap = ef->syms_cap ? ef->syms_cap * 2 : 1024;
			struct elf_sym *ns = realloc(ef->syms, ncap * sizeof(*ns));
			if (!ns) {
				ret = -1;
				break;
			}
			ef->syms = ns;
			ef->syms_cap = ncap;
		}
		if (!add_str(ef, from->syms[i].name, &off)) {
			ret = -1;
			break;
		}
		ef->syms[ef->nsyms] = from->syms[i];
		ef->syms[ef->nsyms++].name = (const char *)(uintptr_t)off;
	}
	names_to_pointers(ef);
	return ret;
}

void elf_file_free(struct elf_file *ef)
{
	elf_cfi_close(ef->cfi);
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

int elf_file_offset(const struct elf_file *ef, uint64_t vaddr, uint64_t *offset)
{
	for (size_t i = 0; i < ef->nloads; i++) {
		const struct elf_load *l = &ef->loads[i];
		if (vaddr >= l->vaddr && vaddr < l->vaddr + l->filesz) {
			*offset = l->offset + (vaddr - l->vaddr);
			return 0;
		}
	}
	return -1;
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
