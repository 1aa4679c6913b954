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

struct elf_file {
	struct elf_sym *syms; /* sorted by addr */
	size_t nsyms;
	char *strs; /* names */
	size_t strs_len, strs_cap;
	struct elf_load loads[16];
	size_t nloads;
	bool dyn;				 /* ET_DYN: position independent */
	bool symtab;				 /* had a full .symtab (not just .dynsym) */
	uint64_t pyruntime_addr, pyruntime_size; /* section .PyRuntime, 0 if none */
};

/* Reads fd (not closed).  Returns 0, or -1 with errno set. */
int elf_file_load(int fd, struct elf_file *out);
void elf_file_free(struct elf_file *ef);

/* The function symbol containing vaddr, or NULL. */
const struct elf_sym *elf_file_func_at(const struct elf_file *ef, uint64_t vaddr);
/* A symbol's address by exact name; 0 when absent. */
uint64_t elf_file_symbol(const struct elf_file *ef, const char *name);
/* The link-time address of a file offset, via the PT_LOAD segments; -1 when
 * the offset is not loaded. */
int elf_file_vaddr(const struct elf_file *ef, uint64_t offset, uint64_t *vaddr);

#endif
