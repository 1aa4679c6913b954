/* fuzz_procfs: the parsers of /proc text a process controls or the kernel
 * writes about it: cgroup (cgroup_primary_path), status (status_nspid), stat
 * (stat_task_state, stat_ppid), syscall (syscall_parse) in daemon/sys/procfs.c, and the
 * service naming rules over cgroup paths, cmdline and environ
 * (daemon/service/naming.c: service_from_*).
 *
 * Input: byte 0 picks the parser, the rest is the file's text. */
#include "fuzz.h"

#include "service/naming.h"
#include "sys/procfs.h"

static void check_name(const char *out, size_t len)
{
	if (strnlen(out, len) >= len)
		abort(); /* not terminated inside its buffer */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[256], small[8];
	uint64_t args[2];
	long nr;
	if (size < 1)
		return 0;
	unsigned which = data[0] % 8;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	char *text = fuzz_strndup(p, n);

	switch (which) {
	case 0:
		cgroup_primary_path(text, out, sizeof(out));
		check_name(out, sizeof(out));
		cgroup_primary_path(text, small, sizeof(small));
		check_name(small, sizeof(small));
		break;
	case 1:
		status_nspid(text, 42);
		break;
	case 2:
		stat_task_state(text);
		stat_ppid(text);
		break;
	case 3:
		syscall_parse(text, &nr, args);
		break;
	case 4:
		if (service_from_cgroup_unit(text, out, sizeof(out)) == 0)
			check_name(out, sizeof(out));
		if (service_from_cgroup_unit(text, small, sizeof(small)) == 0)
			check_name(small, sizeof(small));
		break;
	case 5:
		if (service_from_cgroup_container(text, out, sizeof(out)) == 0)
			check_name(out, sizeof(out));
		if (service_from_cgroup_container(text, small, sizeof(small)) == 0)
			check_name(small, sizeof(small));
		break;
	case 6: {
		/* NUL-separated argv, exactly n bytes (no terminator after) */
		char *argv = malloc(n ? n : 1);
		memcpy(argv, p, n);
		if (service_from_cmdline(argv, n, out, sizeof(out)) == 0)
			check_name(out, sizeof(out));
		if (service_from_cmdline(argv, n, small, sizeof(small)) == 0)
			check_name(small, sizeof(small));
		free(argv);
		break;
	}
	case 7: {
		char *env = malloc(n ? n : 1);
		memcpy(env, p, n);
		if (service_from_environ(env, n, "PYBPF_SERVICE", out, sizeof(out)) == 0)
			check_name(out, sizeof(out));
		if (service_from_environ(env, n, "X", small, sizeof(small)) == 0)
			check_name(small, sizeof(small));
		service_sanitize(text);
		free(env);
		break;
	}
	}
	free(text);
	return 0;
}
