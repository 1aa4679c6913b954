/* parse.c - strict parsing of numbers and booleans. */
#include "sys/parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

enum parse_result parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return PARSE_SYNTAX;
	if (s[0] == '-' && s[1] >= '0' && s[1] <= '9') {
		for (const char *p = s + 1; *p; p++)
			if (*p < '0' || *p > '9')
				return PARSE_SYNTAX;
		return PARSE_RANGE; /* a negative number */
	}
	bool over = false; /* too large, but only once all of it is digits */
	for (; *s; s++) {
		unsigned d;
		if (*s < '0' || *s > '9')
			return PARSE_SYNTAX;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			over = true;
		v = v * 10 + d;
	}
	if (over || v < min || v > max)
		return PARSE_RANGE;
	*out = v;
	return PARSE_OK;
}

enum parse_result parse_double(const char *s, double min, double max, double *out)
{
	char *end;

	if (!s || !*s || (*s != '-' && *s != '+' && *s != '.' && (*s < '0' || *s > '9')))
		return PARSE_SYNTAX; /* no leading space, no "nan" or "inf" */
	errno = 0;
	double v = strtod(s, &end);
	if (*end || end == s)
		return PARSE_SYNTAX;
	if (errno == ERANGE)
		return PARSE_RANGE;
	if (!isfinite(v))
		return PARSE_SYNTAX; /* "+inf", "-nan" */
	if (!double_in_range(v, min, max))
		return PARSE_RANGE;
	*out = v;
	return PARSE_OK;
}

enum parse_result parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; s && i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return PARSE_OK;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return PARSE_OK;
		}
	}
	return PARSE_SYNTAX;
}
