/* config.h - pybpfd's configuration: /etc/pybpf/pybpfd.conf ("key = value",
 * '#' comments), command-line overrides on top, every key with a default. */
#ifndef PYBPF_CONFIG_H
#define PYBPF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH "/etc/pybpf/pybpfd.conf"

struct config {
	uint32_t rate_hz;		  /* rate_hz = 99 (1..10000) */
	uint32_t window_s;		  /* window_s = 15 (1..3600) */
	bool offcpu;			  /* offcpu = true */
	bool event_loops;		  /* event_loops = false: loop iterations and stalls */
	uint32_t event_loop_threshold_ms; /* event_loop_threshold_ms = 100 (1..600000) */
	bool task_labels;		  /* task_labels = true: asyncio tasks' own stacks */
	bool sql_text;			  /* sql_text = true: database statements' templates */
	bool db_time;			  /* db_time = false: uprobes on database drivers */
	bool http_requests;	     /* http_requests = false: HTTP/1.x requests at the socket */
	uint32_t stack_idle_s;	     /* stack_idle_s = 600 (1..86400) */
	char service_rule[256];	     /* service_rule = env:PYBPF_SERVICE,unit,container,script */
	char socket[108];	     /* socket = /run/pybpf/pybpfd.sock */
	char socket_group[64];	     /* socket_group = pybpf */
	bool spool;		     /* spool = true */
	char spool_dir[256];	     /* spool_dir = /var/lib/pybpf/spool */
	uint64_t spool_max_mb;	     /* spool_max_mb = 256 */
	bool push;		     /* push = false */
	char push_url[512];	     /* push_url = http://127.0.0.1:4040 */
	char push_labels[512];	     /* push_labels = "" ("k=v,k=v") */
	char push_queue_dir[256];    /* push_queue_dir = /var/lib/pybpf/queue */
	uint64_t push_queue_max_mb;  /* push_queue_max_mb = 64 */
	uint32_t push_timeout_s;     /* push_timeout_s = 10 */
	uint32_t push_backoff_max_s; /* push_backoff_max_s = 60 */
	bool pull;		     /* pull = true */
	char pull_listen[128];	     /* pull_listen = 127.0.0.1:6171 */
	char pull_token[128];	     /* pull_token = "" (asked as Authorization: Bearer) */
	bool pull_insecure;	     /* pull_insecure = false (beyond loopback with no token) */
	int native;		     /* native = fold (enum prof_native: fold, all, none) */
	int log_level;		     /* log_level = info (enum log_level) */
};

/* Every key at its default. */
void config_defaults(struct config *c);

/* Sets one key from its text ("key", "value").  On error returns -1 and err
 * says why (unknown key, value out of range). */
int config_set(struct config *c, const char *key, const char *value, char *err, size_t errlen);

/* Reads path on top of c.  A missing file is an error unless missing_ok.
 * err names the file and line of the first bad line. */
int config_load(struct config *c, const char *path, bool missing_ok, char *err, size_t errlen);

/* Writes every key with its value, in the file's syntax. */
void config_print(const struct config *c, FILE *out);

/* The value of a key as text (for status); NULL when unknown. */
const char *config_get(const struct config *c, const char *key, char *buf, size_t len);

#endif
