/* fuzz_procmaps: the /proc/PID/maps parser (daemon/sys/procmaps.c,
 * procmaps_parse) and the lookups over what it read.
 *
 * Input: the text of a maps file. */
#include "fuzz.h"

#include "sys/procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procmaps pm = {.pid = 1};
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0; /* fmemopen refuses an empty buffer in older glibc */
	if (procmaps_parse(f, &pm) == 0) {
		for (size_t i = 0; i < pm.n; i++) {
			const struct mapping *m = &pm.m[i];
			if (!m->path)
				abort();
			fuzz_touch(m->path, strlen(m->path) + 1);
			procmaps_find(&pm, m->start);
			procmaps_find(&pm, m->end - 1);
			procmaps_base(&pm, m);
		}
		procmaps_free(&pm);
	}
	fclose(f);
	return 0;
}
