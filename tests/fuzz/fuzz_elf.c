/* fuzz_elf: the reading of an ELF file a process maps (daemon/native/
 * elfsyms.c, debuginfo.c): sections, symbols, load segments, the build id
 * note, .gnu_debuglink, CPython's version string, the .eh_frame_hdr table,
 * and the separate debug information found from them (a debug file by
 * build id or debuglink under tests/fuzz/elf-debug, MiniDebugInfo: xz'd
 * .gnu_debugdata, itself an ELF image).
 *
 * Input: the file. */
#include "fuzz.h"

#include "native/debuginfo.h"
#include "native/elfsyms.h"

#ifndef FUZZ_ELF_DEBUG_DIR
#define FUZZ_ELF_DEBUG_DIR "tests/fuzz/elf-debug"
#endif

static struct fuzz_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_init(&file, "elf");
	return 0;
}

/* Every lookup a profile makes of a loaded file. */
static void lookups(const struct elf_file *ef)
{
	uint64_t v;
	for (size_t i = 0; i < ef->nsyms; i++) {
		const struct elf_sym *s = &ef->syms[i];
		if (!s->name || (i && ef->syms[i - 1].addr > s->addr))
			abort();
		fuzz_touch(s->name, strlen(s->name) + 1);
		elf_file_func_at(ef, s->addr);
		elf_file_func_at(ef, s->addr + s->size);
		if (ef->cfi)
			elf_file_fde_start(ef, s->addr, &v);
	}
	for (size_t i = 0; i < ef->nloads; i++) {
		const struct elf_load *l = &ef->loads[i];
		elf_file_vaddr(ef, l->offset, &v);
		elf_file_offset(ef, l->vaddr, &v);
		if (ef->cfi)
			elf_file_fde_start(ef, l->vaddr, &v);
	}
	elf_file_symbol(ef, "_PyRuntime");
	if (ef->build_id_len > sizeof(ef->build_id) ||
	    strnlen(ef->debuglink, sizeof(ef->debuglink)) >= sizeof(ef->debuglink) ||
	    strnlen(ef->py_version, sizeof(ef->py_version)) >= sizeof(ef->py_version))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_file ef;
	static const char *const dirs[] = {FUZZ_ELF_DEBUG_DIR, NULL};

	/* in memory (as MiniDebugInfo is read): libelf may convert in place */
	void *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	if (elf_file_load_mem(copy, size, &ef) == 0) {
		lookups(&ef);
		elf_file_free(&ef);
	}
	free(copy);

	/* from a file, as a mapped object is read: its call frame information
	 * when it is stripped, then its debug information where it says */
	fuzz_file_set(&file, data, size);
	if (elf_file_load(file.fd, &ef) == 0) {
		if (!ef.symtab)
			elf_file_open_cfi(&ef, file.fd);
		debuginfo_apply(&ef, file.fd, "", "/pybpf-fuzz/lib/object", dirs);
		lookups(&ef);
		elf_file_free(&ef);
	}
	return 0;
}
