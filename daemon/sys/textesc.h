/* textesc.h - UTF-8 validation and JSON string escaping. */
#ifndef PYBPF_TEXTESC_H
#define PYBPF_TEXTESC_H

#include <stddef.h>
#include <stdio.h>

/* Length of the UTF-8 sequence at s if it is valid, else 0. */
size_t utf8_len(const unsigned char *s);

/* The characters of s inside a JSON string (no quotes). */
void json_write_chars(FILE *out, const char *s);

/* s inside a Prometheus label value (no quotes): '\\', '"' and newline
 * escaped, other control characters as '?', invalid UTF-8 as U+FFFD. */
void prom_write_label(FILE *out, const char *s);

/* s as a quoted JSON string: control characters as \u00XX, invalid UTF-8
 * as U+FFFD; NULL as "". */
void json_write_string(FILE *out, const char *s);

#endif
