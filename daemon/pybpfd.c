/* pybpfd - the pybpf daemon (continuous profiling).  See issue 5. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: pybpfd [--help] [--version]\n\n"
		       "The continuous-profiling daemon is not implemented yet: use\n"
		       "'pybpfctl record' meanwhile.\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("pybpfd %s\n", PYBPF_VERSION);
		return 0;
	}
	fprintf(stderr, "pybpfd: the daemon is not implemented yet (see pybpfctl record)\n");
	return 1;
}
