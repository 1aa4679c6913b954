"""A CPU-bound workload with a known split between two functions.

Runs for argv[1] seconds, calling hot() and cold() in turn; hot() does about
seven times the work of cold().  At exit it writes to argv[2], as JSON, the
share of thread CPU time each function took, measured by the workload itself.
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
        hot(7000)
        t1 = clock()
        cold(3000)
        t2 = clock()
        spent["hot"] += t1 - t0
        spent["cold"] += t2 - t1
    total = spent["hot"] + spent["cold"]
    with open(out, "w") as f:
        json.dump({k: v / total for k, v in spent.items()}, f)


main(float(sys.argv[1]), sys.argv[2])
