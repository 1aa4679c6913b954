/* fuzz_kallsyms: kallsyms_load() (daemon/native/kallsyms.c) over a file of
 * fuzzed text (a memfd opened by its /proc/self/fd path), then lookups at
 * and around every symbol it kept.
 *
 * Input: the text of a kallsyms file. */
#include "fuzz.h"

#include "native/kallsyms.h"

static struct fuzz_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_init(&file, "kallsyms");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kallsyms ks;
	fuzz_file_set(&file, data, size);
	if (kallsyms_load(&ks, file.path))
		return 0;
	for (size_t i = 0; i < ks.n; i++) {
		const struct ksym *k = &ks.syms[i];
		if (i && ks.syms[i - 1].addr > k->addr)
			abort(); /* not sorted */
		if (k->end < k->addr)
			abort();
		const struct ksym *f = kallsyms_find(&ks, k->addr);
		if (f && (k->addr < f->addr || k->addr >= f->end))
			abort();
		kallsyms_find(&ks, k->addr - 1);
		kallsyms_find(&ks, k->end);
	}
	kallsyms_find(&ks, 0);
	kallsyms_find(&ks, UINT64_MAX);
	kallsyms_free(&ks);
	return 0;
}
