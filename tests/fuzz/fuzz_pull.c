/* fuzz_pull: the validation of the pull endpoint's query arguments
 * (daemon/service/pull.c, pull_parse_args: seconds, pid, service of
 * /debug/pprof/profile).
 *
 * Input: byte 0 says which of the three are present (bits 0-2), the rest
 * is their values separated by NUL bytes. */
#include "fuzz.h"

#include "service/pull.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[3], err[512];
	struct pull_args a;
	if (size < 1)
		return 0;
	fuzz_split(data + 1, size - 1, parts, 3);
	const char *arg[3];
	for (int i = 0; i < 3; i++)
		arg[i] = (data[0] >> i) & 1 ? parts[i] : NULL;
	err[0] = 0;
	if (pull_parse_args(arg[0], arg[1], arg[2], &a, err, sizeof(err)) == 0) {
		if (a.seconds < 1 || a.seconds > 600 || a.pid > 0x3fffffff || (!arg[1] && a.pid) ||
		    (!arg[0] && a.seconds != 10) || a.service != arg[2])
			abort();
	} else if (!err[0] || strnlen(err, sizeof(err)) >= sizeof(err)) {
		abort();
	}
	fuzz_free_parts(parts, 3);
	return 0;
}
