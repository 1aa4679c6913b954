"""A CPU-bound workload with a known split between two functions.

Runs for argv[1] seconds, calling hot() and cold() in turn; hot() does about
seven times the work of cold().  At exit it writes to argv[2], as JSON, the
share of thread CPU time each function took, measured by the workload itself.
Each call lasts milliseconds: each clock read is a system call, and on a
virtual machine the time around one (its cost, and time the host takes the
CPU for) lands in the function timed next; with calls of half a millisecond
that skewed the own measure by up to 7 pp against the samples (cold's share
inflated), with calls ten times as long by at most 0.4 pp.
"""
import json
import sys
import time


def hot(n):
    x = 0
    for i in range(n):
        x += i * i  # HOT LINE
    return x


def cold(n):
    x = 0
    for i in range(n):
        x -= i * i % 7  # COLD LINE: heavier than the loop's own line, so it is the hottest
    return x


def main(seconds, out):
    spent = {"hot": 0, "cold": 0}
    end = time.monotonic() + seconds
    clock = time.thread_time_ns
    while time.monotonic() < end:
        t0 = clock()
        hot(70000)
        t1 = clock()
        cold(30000)
        t2 = clock()
        spent["hot"] += t1 - t0
        spent["cold"] += t2 - t1
    total = spent["hot"] + spent["cold"]
    with open(out, "w") as f:
        json.dump({k: v / total for k, v in spent.items()}, f)


main(float(sys.argv[1]), sys.argv[2])
