/* config.c - pybpfd's configuration file and overrides.
 *
 * Syntax, one setting a line:  key = value
 *   - blank lines are ignored; whitespace around key and value is trimmed;
 *   - '#' starts a comment at the start of a line or after whitespace (so
 *     "http://h/#x" keeps its '#');
 *   - a value may be double-quoted ("" is the empty string; inside quotes
 *     \" and \\ are the only escapes, and '#' is an ordinary character);
 *     unquoted values may be empty too ("push_labels =");
 *   - booleans: true/false, yes/no, on/off, 1/0 (any case).
 * A later line overrides an earlier one.  config_load() commits nothing when
 * any line is bad, so a reload with a broken file keeps the running values. */
#include "service/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/naming.h"
#include "sys/fileio.h"
#include "sys/log.h"
#include "sys/parse.h"
#include "profile/view.h"

#define LINE_MAX_LEN	 4096
#define CONFIG_MAX_BYTES (1 << 20)

enum key_type {
	KT_U32,
	KT_U64,
	KT_BOOL,
	KT_STR,
	KT_LOGLEVEL,
	KT_NATIVE,
	KT_RULE,
};

struct key_desc {
	const char *name;
	enum key_type type;
	size_t off;
	size_t size; /* KT_STR/KT_RULE: the buffer's size */
	uint64_t min, max;
};

#define U32(f, lo, hi)                                                                             \
	{                                                                                          \
#f, KT_U32, offsetof(struct config, f), 0, lo, hi                                  \
	}
#define U64(f, lo, hi)                                                                             \
	{                                                                                          \
#f, KT_U64, offsetof(struct config, f), 0, lo, hi                                  \
	}
#define BOOL(f)                                                                                    \
	{                                                                                          \
#f, KT_BOOL, offsetof(struct config, f), 0, 0, 0                                   \
	}
#define STR(f)                                                                                     \
	{                                                                                          \
#f, KT_STR, offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, 0      \
	}

/* megabytes that still fit in bytes in 64 bits */
#define MB_MAX (UINT64_MAX >> 20)

static const struct key_desc keys[] = {
	U32(rate_hz, 1, 10000),
	U32(window_s, 1, 3600),
	BOOL(offcpu),
	BOOL(event_loops),
	BOOL(task_labels),
	BOOL(sql_text),
	BOOL(db_time),
	BOOL(http_requests),
	U32(event_loop_threshold_ms, 1, 600000),
	U32(stack_idle_s, 1, 86400),
	{"service_rule", KT_RULE, offsetof(struct config, service_rule),
	 sizeof(((struct config *)0)->service_rule), 0, 0},
	STR(socket),
	STR(socket_group),
	BOOL(spool),
	STR(spool_dir),
	U64(spool_max_mb, 1, MB_MAX),
	BOOL(push),
	STR(push_url),
	STR(push_labels),
	STR(push_queue_dir),
	U64(push_queue_max_mb, 1, MB_MAX),
	U32(push_timeout_s, 1, UINT32_MAX),
	U32(push_backoff_max_s, 1, UINT32_MAX),
	BOOL(pull),
	STR(pull_listen),
	STR(pull_token),
	BOOL(pull_insecure),
	{"native", KT_NATIVE, offsetof(struct config, native), 0, 0, 0},
	{"log_level", KT_LOGLEVEL, offsetof(struct config, log_level), 0, 0, 0},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key_desc *key_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static void set_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	memset(dst, 0, size);
	memcpy(dst, src, n < size ? n : size - 1);
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->rate_hz = 99;
	c->window_s = 15;
	c->offcpu = true;
	c->event_loops = false; /* the tracepoints cost every system call of the host */
	c->event_loop_threshold_ms = 100;
	c->task_labels = true;
	c->sql_text = true;
	c->stack_idle_s = 600;
	set_str(c->service_rule, sizeof(c->service_rule),
		"env:PYBPF_SERVICE,unit,container,script");
	set_str(c->socket, sizeof(c->socket), "/run/pybpf/pybpfd.sock");
	set_str(c->socket_group, sizeof(c->socket_group), "pybpf");
	c->spool = true;
	set_str(c->spool_dir, sizeof(c->spool_dir), "/var/lib/pybpf/spool");
	c->spool_max_mb = 256;
	c->push = false;
	set_str(c->push_url, sizeof(c->push_url), "http://127.0.0.1:4040");
	set_str(c->push_labels, sizeof(c->push_labels), "");
	set_str(c->push_queue_dir, sizeof(c->push_queue_dir), "/var/lib/pybpf/queue");
	c->push_queue_max_mb = 64;
	c->push_timeout_s = 10;
	c->push_backoff_max_s = 60;
	c->pull = true;
	set_str(c->pull_listen, sizeof(c->pull_listen), "127.0.0.1:6171");
	c->log_level = LOG_LVL_INFO;
}

/* s with leading and trailing whitespace removed, in place. */
static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

static void range_err(const struct key_desc *k, const char *value, char *err, size_t errlen)
{
	if (k->max == UINT32_MAX || k->max == MB_MAX)
		snprintf(err, errlen, "%s: '%s' is out of range (>= %" PRIu64 ")", k->name, value,
			 k->min);
	else
		snprintf(err, errlen, "%s: '%s' is out of range (%" PRIu64 "-%" PRIu64 ")", k->name,
			 value, k->min, k->max);
}

static int set_value(struct config *c, const struct key_desc *k, const char *value, char *err,
		     size_t errlen)
{
	char *field = (char *)c + k->off;
	char rerr[200];
	uint64_t v;
	bool b;
	int lvl;

	switch (k->type) {
	case KT_U32:
	case KT_U64:
		switch (parse_u64(value, k->min, k->max, &v)) {
		case PARSE_OK:
			break;
		case PARSE_RANGE:
			range_err(k, value, err, errlen);
			return -1;
		case PARSE_SYNTAX:
			snprintf(err, errlen, "%s: '%s' is not a number", k->name, value);
			return -1;
		}
		if (k->type == KT_U32)
			*(uint32_t *)(void *)field = (uint32_t)v;
		else
			*(uint64_t *)(void *)field = v;
		return 0;
	case KT_BOOL:
		if (parse_bool(value, &b)) {
			snprintf(err, errlen,
				 "%s: '%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
				 k->name, value);
			return -1;
		}
		*(bool *)(void *)field = b;
		return 0;
	case KT_LOGLEVEL:
		lvl = log_level_parse(value);
		if (lvl < 0) {
			snprintf(err, errlen,
				 "%s: '%s' is not a log level (error, warning, info, debug)",
				 k->name, value);
			return -1;
		}
		*(int *)(void *)field = lvl;
		return 0;
	case KT_NATIVE:
		lvl = prof_native_parse(value);
		if (lvl < 0) {
			snprintf(err, errlen, "%s: '%s' is not fold, all or none", k->name, value);
			return -1;
		}
		*(int *)(void *)field = lvl;
		return 0;
	case KT_RULE:
		if (service_rule_check(value, rerr, sizeof(rerr))) {
			snprintf(err, errlen, "%s: %s", k->name, rerr);
			return -1;
		}
		/* fall through */
	case KT_STR:
		for (const char *p = value; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				snprintf(err, errlen, "%s: value contains a control character",
					 k->name);
				return -1;
			}
		}
		if (strlen(value) >= k->size) {
			snprintf(err, errlen, "%s: value is too long (%zu bytes, at most %zu)",
				 k->name, strlen(value), k->size - 1);
			return -1;
		}
		set_str(field, k->size, value);
		return 0;
	}
	snprintf(err, errlen, "%s: internal error", k->name);
	return -1;
}

int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen)
{
	const struct key_desc *k;
	char *kbuf, *vbuf, *kt, *vt;
	int rc = -1;

	if (!key || !value) {
		snprintf(err, errlen, "missing key or value");
		return -1;
	}
	kbuf = strdup(key);
	vbuf = strdup(value);
	if (!kbuf || !vbuf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	kt = trim(kbuf);
	vt = trim(vbuf);
	k = key_find(kt);
	if (!k) {
		snprintf(err, errlen, "unknown key '%s'", kt);
		goto out;
	}
	rc = set_value(c, k, vt, err, errlen);
out:
	free(kbuf);
	free(vbuf);
	return rc;
}

/* Splits one line (modified in place) into key and value.  Returns 1 for a
 * setting, 0 for a blank or comment line, -1 with err on a syntax error. */
static int parse_line(char *line, char **key, char **value, char *err, size_t errlen)
{
	char *s = line, *eq, *v, *end;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s || *s == '#')
		return 0;
	eq = strchr(s, '=');
	if (!eq) {
		/* a comment after the key would still be a missing '=' */
		snprintf(err, errlen, "expected 'key = value', got '%.60s'", trim(s));
		return -1;
	}
	*eq = '\0';
	*key = trim(s);
	if (!**key) {
		snprintf(err, errlen, "missing key before '='");
		return -1;
	}
	for (const char *p = *key; *p; p++) {
		if (isspace((unsigned char)*p) || *p == '#') {
			snprintf(err, errlen, "expected 'key = value', got key '%.60s'", *key);
			return -1;
		}
	}
	v = eq + 1;
	while (isspace((unsigned char)*v))
		v++;
	if (*v == '"') {
		char *out = v, *in = v + 1;
		for (;; in++) {
			if (!*in) {
				snprintf(err, errlen, "%s: unterminated quoted value", *key);
				return -1;
			}
			if (*in == '"')
				break;
			if (*in == '\\' && (in[1] == '"' || in[1] == '\\'))
				in++;
			*out++ = *in;
		}
		*out = '\0';
		/* after the closing quote: nothing but whitespace and a comment */
		for (end = in + 1; isspace((unsigned char)*end); end++)
			;
		if (*end && *end != '#') {
			snprintf(err, errlen, "%s: unexpected text after the quoted value: '%.40s'",
				 *key, end);
			return -1;
		}
		*value = v;
		return 1;
	}
	/* '#' begins a comment at the start of the value or after whitespace */
	for (end = v; *end; end++) {
		if (*end == '#' && (end == v || isspace((unsigned char)end[-1]))) {
			*end = '\0';
			break;
		}
	}
	*value = trim(v);
	return 1;
}

/* One line of the file (NUL-terminated in place) into tmp; -1 with err. */
static int load_line(struct config *tmp, char *line, size_t n, char *err, size_t errlen)
{
	char *key, *value;
	if (n > LINE_MAX_LEN) {
		snprintf(err, errlen, "line too long (%zu bytes, at most %d)", n, LINE_MAX_LEN);
		return -1;
	}
	if (strlen(line) != n) {
		snprintf(err, errlen, "NUL byte in line");
		return -1;
	}
	int r = parse_line(line, &key, &value, err, errlen);
	if (r <= 0)
		return r;
	return config_set(tmp, key, value, err, errlen);
}

int config_load(struct config *c, const char *path, bool missing_ok, char *err, size_t errlen)
{
	struct config tmp = *c;
	char lerr[400];
	unsigned lineno = 0;
	size_t n;

	/* the whole file, bounded: /dev/zero or a runaway file is an error,
	 * never an endless read or an out-of-memory taken for its end */
	char *buf = read_file_bounded(path, CONFIG_MAX_BYTES, 0, &n);
	if (!buf) {
		if (errno == ENOENT && missing_ok)
			return 0;
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: larger than %d bytes: not a configuration file",
				 path, CONFIG_MAX_BYTES);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (char *line = buf; line < buf + n;) {
		char *nl = memchr(line, '\n', (size_t)(buf + n - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(buf + n - line);
		line[len] = 0;
		lineno++;
		if (load_line(&tmp, line, len, lerr, sizeof(lerr))) {
			snprintf(err, errlen, "%s: line %u: %s", path, lineno, lerr);
			free(buf);
			return -1;
		}
		line += len + 1;
	}
	free(buf);
	*c = tmp;
	return 0;
}

const char *config_get(const struct config *c, const char *key, char *buf, size_t len)
{
	const struct key_desc *k = key ? key_find(key) : NULL;
	const char *field;

	if (!k || !buf || !len)
		return NULL;
	field = (const char *)c + k->off;
	switch (k->type) {
	case KT_U32:
		snprintf(buf, len, "%" PRIu32, *(const uint32_t *)(const void *)field);
		break;
	case KT_U64:
		snprintf(buf, len, "%" PRIu64, *(const uint64_t *)(const void *)field);
		break;
	case KT_BOOL:
		snprintf(buf, len, "%s", *(const bool *)(const void *)field ? "true" : "false");
		break;
	case KT_LOGLEVEL:
		snprintf(buf, len, "%s",
			 log_level_name((enum log_level) * (const int *)(const void *)field));
		break;
	case KT_NATIVE:
		snprintf(buf, len, "%s",
			 prof_native_name((enum prof_native) * (const int *)(const void *)field));
		break;
	case KT_STR:
	case KT_RULE:
		snprintf(buf, len, "%.*s", (int)k->size, field);
		break;
	}
	return buf;
}

/* A value as the file's syntax needs it: quoted when empty or when it would
 * not read back as itself unquoted. */
static void print_value(FILE *out, const char *v)
{
	bool quote = !*v || *v == '"' || isspace((unsigned char)*v) ||
		     isspace((unsigned char)v[strlen(v) - 1]) || *v == '#';

	for (const char *p = v; *p && !quote; p++)
		if (*p == '#' && isspace((unsigned char)p[-1]))
			quote = true;
	if (!quote) {
		fputs(v, out);
		return;
	}
	fputc('"', out);
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

void config_print(const struct config *c, FILE *out)
{
	char buf[600];

	for (size_t i = 0; i < NKEYS; i++) {
		config_get(c, keys[i].name, buf, sizeof(buf));
		/* a secret is not shown */
		if (!strcmp(keys[i].name, "pull_token") && buf[0]) {
			fprintf(out, "# pull_token is set (%zu characters, not shown)\n",
				strlen(buf));
			continue;
		}
		fprintf(out, "%s = ", keys[i].name);
		print_value(out, buf);
		fputc('\n', out);
	}
}
