/* log.h - the daemon's log: lines on stderr with a syslog priority prefix
 * ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug) so journald files
 * each at its priority. */
#ifndef PYBPF_LOG_H
#define PYBPF_LOG_H

enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

/* Lines above level are not written (default: info). */
void log_set_level(enum log_level level);
/* Parses "error", "warning", "info", "debug"; -1 when unknown. */
int log_level_parse(const char *s);
const char *log_level_name(enum log_level level);

/* Writes "<N>" + the message + "\n" to stderr in one write (thread-safe). */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
