/* fuzz_config: pybpfd's configuration parser (daemon/service/config.c):
 * config_load() of a file of fuzzed bytes (a memfd opened by its
 * /proc/self/fd path), and config_set() of a fuzzed key and value.  What
 * loads must print and load back to the same settings.
 *
 * Input: byte 0 even: the rest is a configuration file; odd: the rest is
 * "key\0value". */
#include "fuzz.h"

#include "service/config.h"

static struct fuzz_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_init(&file, "pybpfd.conf");
	return 0;
}

static char *printed(const struct config *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		abort();
	config_print(c, f);
	if (fclose(f))
		abort();
	return buf;
}

/* print(c) loads back as c (but for pull_token: a secret is never printed) */
static void check_roundtrip(const struct config *orig)
{
	char err[512];
	size_t len, len2;
	struct config back, shown = *orig;
	const struct config *c = &shown;
	shown.pull_token[0] = 0;
	char *text = printed(c, &len);
	fuzz_file_set(&file, (const uint8_t *)text, len);
	config_defaults(&back);
	if (config_load(&back, file.path, false, err, sizeof(err))) {
		fprintf(stderr, "config_print wrote what config_load refuses: %s\n%s", err, text);
		abort();
	}
	char *again = printed(&back, &len2);
	if (len != len2 || memcmp(text, again, len)) {
		fprintf(stderr, "config_print / config_load changed a value:\n%s---\n%s", text,
			again);
		abort();
	}
	free(text);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512];
	if (size < 1)
		return 0;
	config_defaults(&c);
	err[0] = 0;
	if (!(data[0] & 1)) {
		fuzz_file_set(&file, data + 1, size - 1);
		int r = config_load(&c, file.path, false, err, sizeof(err));
		if (r && !err[0])
			abort();
		if (r == 0)
			check_roundtrip(&c);
		return 0;
	}
	char *kv[2];
	fuzz_split(data + 1, size - 1, kv, 2);
	int r = config_set(&c, kv[0], kv[1], err, sizeof(err));
	if (r && !err[0])
		abort();
	if (r == 0)
		check_roundtrip(&c);
	fuzz_free_parts(kv, 2);
	return 0;
}
