/* opts.c - pybpfctl's argument parsing: every value checked, every error
 * said with what was given and what is allowed. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "sampling/aggregate.h"
#include "sys/parse.h"

#define MAX_PID	 0x3fffffffUL
#define MAX_RATE 10000UL

int parse_uint(const char *s, const char *what, unsigned long min, unsigned long max,
	       unsigned long *out)
{
	uint64_t v;
	switch (parse_u64(s, min, max, &v)) {
	case PARSE_OK:
		*out = (unsigned long)v;
		return 0;
	case PARSE_RANGE:
		fprintf(stderr, "pybpfctl: %s '%s' is out of range (%lu to %lu)\n", what, s, min,
			max);
		return -1;
	case PARSE_SYNTAX:
		break;
	}
	fprintf(stderr, "pybpfctl: invalid %s '%s' (a whole number, %lu to %lu)\n", what, s, min,
		max);
	return -1;
}

int parse_pid(const char *s, pid_t *out)
{
	unsigned long v;
	if (parse_uint(s, "pid", 1, MAX_PID, &v))
		return -1;
	*out = (pid_t)v;
	return 0;
}

int parse_rate(const char *s, unsigned long *out)
{
	return parse_uint(s, "rate (samples per second per CPU)", 1, MAX_RATE, out);
}

int parse_seconds(const char *s, double max, double *out)
{
	double v;
	enum parse_result r = parse_double(s, 0, max, &v);
	if (r == PARSE_OK && v > 0) {
		*out = v;
		return 0;
	}
	if (r == PARSE_SYNTAX)
		fprintf(stderr, "pybpfctl: invalid duration '%s' (seconds, e.g. 10 or 0.5)\n", s);
	else /* 0 is no duration */
		fprintf(stderr,
			"pybpfctl: duration '%s' is out of range (seconds, > 0, at most %g)\n", s,
			max);
	return -1;
}

int parse_mode(const char *s)
{
	int m = agg_mode_parse(s);
	if (m < 0)
		fprintf(stderr, "pybpfctl: unknown mode '%s' (cpu, wall, offcpu, gil)\n", s);
	return m;
}
