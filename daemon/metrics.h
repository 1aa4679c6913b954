/* metrics.h - the daemon's counters in Prometheus' text exposition format
 * (version 0.0.4): samples, drops by reason, processes, errors, exports, and
 * per service GIL held / wait seconds and off-CPU seconds by reason. */
#ifndef PYBPF_METRICS_H
#define PYBPF_METRICS_H

#include <stdio.h>

struct daemon;

/* Writes the exposition (lock held). */
void metrics_write(struct daemon *d, FILE *out);

#endif
