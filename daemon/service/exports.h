/* exports.h - where a window goes when it ends: the spool directory and the
 * push queue, each switchable (lock held). */
#ifndef PYBPF_EXPORTS_H
#define PYBPF_EXPORTS_H

#include "service/daemon.h"

/* Opens the spool as configured (or closes it when off).  0 or -1 (logged). */
int exports_open_spool(struct daemon *d);
/* Starts the pusher as configured (nothing when off).  0 or -1 (logged). */
int exports_open_push(struct daemon *d);

#endif
