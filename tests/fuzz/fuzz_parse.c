/* fuzz_parse: the strict number and boolean parsers every user-given value
 * goes through (daemon/sys/parse.c), checked against a plain reference.
 *
 * Input: bytes 0-7 and 8-15 the bounds (u64 min, max; as doubles for
 * parse_double), then the text (cut at its first NUL). */
#include "fuzz.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <strings.h>

#include "sys/parse.h"

/* parse_u64 as its comment says: digits only, or a negative number */
static enum parse_result ref_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	size_t n = strlen(s);
	const char *d = s[0] == '-' ? s + 1 : s;
	if (!*d)
		return PARSE_SYNTAX;
	for (const char *p = d; *p; p++)
		if (!isdigit((unsigned char)*p))
			return PARSE_SYNTAX;
	if (d != s)
		return PARSE_RANGE;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno == ERANGE || n == 0)
		return PARSE_RANGE;
	if (v < min || v > max)
		return PARSE_RANGE;
	*out = v;
	return PARSE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t min, max, got = 0, want = 0;
	double dmin, dmax, dv = 0;
	bool b;
	if (size < 16)
		return 0;
	memcpy(&min, data, 8);
	memcpy(&max, data + 8, 8);
	memcpy(&dmin, data, 8);
	memcpy(&dmax, data + 8, 8);
	char *s = fuzz_strndup(data + 16, size - 16);

	enum parse_result r = parse_u64(s, min, max, &got);
	enum parse_result rr = ref_u64(s, min, max, &want);
	if (r != rr || (r == PARSE_OK && got != want)) {
		fprintf(stderr, "parse_u64(\"%s\", %llu, %llu): %d %llu, reference %d %llu\n", s,
			(unsigned long long)min, (unsigned long long)max, r,
			(unsigned long long)got, rr, (unsigned long long)want);
		abort();
	}

	r = parse_double(s, dmin, dmax, &dv);
	if (r == PARSE_OK) {
		char *end;
		double ref = strtod(s, &end);
		if (*end || !isfinite(dv) || !(dv >= dmin && dv <= dmax) || ref != dv ||
		    isspace((unsigned char)s[0])) {
			fprintf(stderr, "parse_double(\"%s\") = %g\n", s, dv);
			abort();
		}
	}

	r = parse_bool(s, &b);
	bool yes = !strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") ||
		   !strcmp(s, "1");
	bool no = !strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") ||
		  !strcmp(s, "0");
	if ((r == PARSE_OK) != (yes || no) || (r == PARSE_OK && b != yes))
		abort();
	free(s);
	return 0;
}
