/* elfsyms.h - symbols, sections and load segments of an ELF file (libelf). */
#ifndef PYBPF_ELFSYMS_H
#define PYBPF_ELFSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_sym {
	uint64_t addr, size;
	const char *name;
	bool func;
};

struct elf_load {
	uint64_t vaddr, offset, filesz;
};

struct elf_cfi;

/* Where a file's function names come from. */
enum elf_names {
	ELF_NAMES_DYNSYM,    /* only its exported symbols (stripped, nothing found) */
	ELF_NAMES_SYMTAB,    /* its own .symtab */
	ELF_NAMES_BUILD_ID,  /* a separate debug file found by build id */
	ELF_NAMES_DEBUGLINK, /* ... by .gnu_debuglink */
	ELF_NAMES_DEBUGDATA, /* its MiniDebugInfo (.gnu_debugdata) */
};

struct elf_file {
	struct elf_sym *syms; /* sorted by addr */
	size_t nsyms, syms_cap;
	char *strs; /* names */
	size_t strs_len, strs_cap;
	struct elf_load loads[16];
	size_t nloads;
	bool dyn;				 /* ET_DYN: position independent */
	bool symtab;				 /* had a full .symtab (not just .dynsym) */
	uint64_t pyruntime_addr, pyruntime_size; /* section .PyRuntime, 0 if none */
	/* CPython before 3.11 (no Py_Version): its PY_VERSION string ("3.10.13"),
	 * the one most often found in .rodata; "" when none */
	char py_version[16];
	/* how its separate debug information is found */
	uint8_t build_id[64];
	size_t build_id_len;
	char debuglink[256]; /* "" when none */
	uint32_t debuglink_crc;
	uint64_t debugdata_off, debugdata_size; /* .gnu_debugdata in the file */
	enum elf_names names;
	/* stripped and nothing found: the call frame information, so an
	 * address is at least named by the start of its function (NULL) */
	struct elf_cfi *cfi;
};

/* Reads fd (not closed).  Returns 0, or -1 with errno set. */
int elf_file_load(int fd, struct elf_file *out);
/* The same from an ELF image in memory (len bytes, not kept). */
int elf_file_load_mem(void *buf, size_t len, struct elf_file *out);
void elf_file_free(struct elf_file *ef);
/* Adds the symbols of from (a debug file of the same object) to ef. */
int elf_file_merge_symbols(struct elf_file *ef, const struct elf_file *from);

/* Keeps fd's call frame information (a dup of fd stays open) so that
 * elf_file_fde_start can name addresses.  0, or -1. */
int elf_file_open_cfi(struct elf_file *ef, int fd);
/* The start of the function (its FDE) that contains vaddr; -1 when none. */
int elf_file_fde_start(const struct elf_file *ef, uint64_t vaddr, uint64_t *start);

/* The function symbol containing vaddr, or NULL. */
const struct elf_sym *elf_file_func_at(const struct elf_file *ef, uint64_t vaddr);
/* A symbol's address by exact name; 0 when absent. */
uint64_t elf_file_symbol(const struct elf_file *ef, const char *name);
/* The file offset of a link-time address, via the PT_LOAD segments; -1 when
 * no segment holds it. */
int elf_file_offset(const struct elf_file *ef, uint64_t vaddr, uint64_t *offset);
/* The link-time address of a file offset, via the PT_LOAD segments; -1 when
 * the offset is not loaded. */
int elf_file_vaddr(const struct elf_file *ef, uint64_t offset, uint64_t *vaddr);

#endif
