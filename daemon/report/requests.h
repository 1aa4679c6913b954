/* requests.h - `pybpfctl requests`: where a web process's endpoints spend
 * their time (CPU, the GIL, the database, other I/O, locks, sleeps) from a
 * wall capture's endpoint labels, and its database statements by total
 * time, with their calls' count and latency (the kernel's per template
 * counts, bpf/db.bpf.h) and the endpoint they ran under. */
#ifndef PYBPF_REPORT_REQUESTS_H
#define PYBPF_REPORT_REQUESTS_H

#include <stdbool.h>
#include <stdio.h>

#include "profile/profile.h"
#include "report/http.h"
#include "python/pyprocess.h"
#include "sampling/bpf_loader.h"

#define REQUESTS_TOP_SQL 50

struct requests_input {
	const struct profile *p;    /* the capture, wall mode */
	struct bpf_session *bpf;    /* its session: the statements' counts */
	const struct pyprocess *pp; /* the one measured, or the tree's root */
	const pid_t *pids;	    /* --subprocesses: every process of the tree */
	size_t npids;		    /* ... registered; 0: pp's alone */
	double seconds;
	bool sql_text; /* statements' templates were read */
	/* the requests answered meanwhile, their routes' endpoints named;
	 * NULL: not measured, http_why says why */
	const struct http_log *http;
	const char *http_why;
};

/* 0, -1 out of memory. */
int report_requests(const struct requests_input *in, bool json, FILE *out);

#endif
