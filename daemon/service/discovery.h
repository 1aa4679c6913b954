/* discovery.h - which processes are Pythons to profile.  At start a /proc
 * scan; then every exec the BPF side reports is inspected a few times in
 * its first seconds (its libpython may not be mapped, its interpreter not
 * initialised yet) on a schedule of growing delays, and given up after a
 * while; every exit of a registered process ends it.  The pure parts (the
 * list of processes waiting for their next look, and the verdict on each
 * look) are sampling/pending.h's, shared with record --subprocesses; the
 * daemon's side is in discovery.c. */
#ifndef PYBPF_DISCOVERY_H
#define PYBPF_DISCOVERY_H

#include "sampling/pending.h"

#endif
