/* debugtarget.c - a program whose functions only its debug information
 * names (static, so no dynamic symbol does): the fixture of test_debuginfo. */
#include <stdio.h>

__attribute__((noinline)) static int debugtarget_inner(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) static int debugtarget_outer(int x)
{
	int s = 0;
	for (int i = 0; i < x; i++)
		s += debugtarget_inner(i);
	return s;
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("%d\n", debugtarget_outer(argc * 10));
	return 0;
}
