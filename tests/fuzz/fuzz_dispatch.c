/* fuzz_dispatch: the endpoint of a stack (daemon/python/dispatch.c), whose
 * frames' names and files come from the target's code objects.
 * dispatch_view() of the frames, dispatch_endpoint_name() of the view with
 * a package test decided by the input, into a buffer of fuzzed size.
 *
 * Input: byte 0: the name buffer's size (1-256); byte 1: which directories
 * are packages (bit k: the one k levels up); then NUL-separated strings,
 * name then file, leaf first. */
#include "fuzz.h"

#include "python/dispatch.h"

#define MAX_FRAMES 64

static bool is_package(void *ctx, const char *dir)
{
	unsigned mask = *(const unsigned *)ctx;
	size_t depth = 0;
	for (const char *p = dir; *p; p++)
		depth += *p == '/';
	return (mask >> (depth % 8)) & 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t len = (size_t)data[0] % DISPATCH_NAME_MAX + 1;
	unsigned mask = data[1];
	char *s = fuzz_strndup(data + 2, size - 2), *end = s + (size - 2);
	struct dispatch_frame f[MAX_FRAMES];
	size_t n = 0;
	for (char *p = s; p < end && n < MAX_FRAMES;) {
		char *name = p;
		p += strlen(p) + 1;
		if (p >= end)
			break;
		f[n++] = (struct dispatch_frame){.name = name, .file = p};
		p += strlen(p) + 1;
	}
	const char *framework = NULL;
	int v = dispatch_view(f, n, &framework);
	if (v >= (int)n || v < -1 || (v >= 0 && !framework))
		abort();
	if (v >= 0) {
		char *out = malloc(len);
		if (!out)
			abort();
		dispatch_endpoint_name(&f[v], is_package, &mask, out, len);
		if (strnlen(out, len) >= len)
			abort(); /* unterminated */
		fuzz_touch(out, strlen(out));
		free(out);
	}
	free(s);
	return 0;
}
