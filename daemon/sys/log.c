/* log.c - the daemon's log: one line per message on stderr, prefixed with
 * its syslog priority ("<3>" ... "<7>") for journald.  Each line is built in
 * a buffer and written with a single write(2), so lines of concurrent
 * threads never interleave; overlong messages are cut (and end in "..."). */
#include "sys/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static int log_level_cur = LOG_LVL_INFO;

void log_set_level(enum log_level level)
{
	__atomic_store_n(&log_level_cur, (int)level, __ATOMIC_RELAXED);
}

int log_level_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcasecmp(s, "error") || !strcasecmp(s, "err"))
		return LOG_LVL_ERR;
	if (!strcasecmp(s, "warning") || !strcasecmp(s, "warn"))
		return LOG_LVL_WARNING;
	if (!strcasecmp(s, "info"))
		return LOG_LVL_INFO;
	if (!strcasecmp(s, "debug"))
		return LOG_LVL_DEBUG;
	return -1;
}

const char *log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERR:
		return "error";
	case LOG_LVL_WARNING:
		return "warning";
	case LOG_LVL_INFO:
		return "info";
	case LOG_LVL_DEBUG:
		return "debug";
	}
	return "unknown";
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	int saved_errno = errno;
	size_t n, off = 0;
	va_list ap;
	int r;

	if ((int)level > __atomic_load_n(&log_level_cur, __ATOMIC_RELAXED))
		return;
	r = snprintf(line, sizeof(line), "<%d>", (int)level);
	if (r > 0)
		off = (size_t)r;
	va_start(ap, fmt);
	errno = saved_errno; /* for %m */
	r = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	va_end(ap);
	if (r < 0)
		r = 0;
	n = off + (size_t)r;
	if (n > sizeof(line) - 2) { /* cut: keep room for "...\n" */
		n = sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	/* one line per message: a message's own newlines would split it */
	for (size_t i = off; i < n; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n++] = '\n';
	for (size_t done = 0; done < n;) {
		ssize_t w = write(STDERR_FILENO, line + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	errno = saved_errno;
}
