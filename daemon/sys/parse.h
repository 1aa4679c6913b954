/* parse.h - numbers and booleans from text, strictly: every user-given
 * value (command line, configuration, HTTP query, control request) goes
 * through these, so "12abc", " 5", "-1", "nan" and "inf" are refused the
 * same way everywhere. */
#ifndef PYBPF_PARSE_H
#define PYBPF_PARSE_H

#include <stdbool.h>
#include <stdint.h>

enum parse_result {
	PARSE_OK = 0,
	PARSE_SYNTAX = -1, /* not a number of that kind */
	PARSE_RANGE = -2,  /* a number, out of [min, max] */
};

/* Decimal digits only (no sign, no spaces), no overflow, within [min, max]. */
enum parse_result parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A finite decimal number (strtod syntax, no NaN or infinity, nothing
 * after it) within [min, max]. */
enum parse_result parse_double(const char *s, double min, double max, double *out);

/* true/false, yes/no, on/off, 1/0, in any case. */
enum parse_result parse_bool(const char *s, bool *out);

/* Is v a finite number within [min, max]?  (A NaN is not.) */
static inline bool double_in_range(double v, double min, double max)
{
	return v >= min && v <= max;
}

#endif
