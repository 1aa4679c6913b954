"""Threads on CPU, off it, and half of each, for `record --idle`.

    idle.py SECONDS OUT

spinner spins, sleeper sleeps (one time.sleep), half alternates 50 ms of
spinning and 50 ms asleep, each for SECONDS.  Writes OUT (JSON) at the end:
{"threads": {name: native tid}, "cpu": {name: its own CPU seconds},
"alive": {name: seconds from its start to its end}, "steal": the share of
the CPUs' time the hypervisor took meanwhile (machine.py)}.
"""
import sys
import threading
import time

from machine import run_threads


seconds, out = float(sys.argv[1]), sys.argv[2]
ids, cpu, alive = {}, {}, {}


def run(body):
    def thread():
        name = threading.current_thread().name
        ids[name] = threading.get_native_id()
        t0, c0 = time.monotonic(), time.thread_time()
        body(t0 + seconds)
        cpu[name] = time.thread_time() - c0
        alive[name] = time.monotonic() - t0
    return thread


def spin(until):
    x = 0
    while time.monotonic() < until:
        x += 1


def sleep(until):
    time.sleep(until - time.monotonic())


def half(until):
    while time.monotonic() < until:
        spin(min(until, time.monotonic() + 0.05))
        time.sleep(max(0.0, min(0.05, until - time.monotonic())))


threads = [threading.Thread(target=run(b), name=n) for n, b in (("spinner", spin), ("sleeper", sleep), ("half", half))]
run_threads(threads, out, threads=ids, cpu=cpu, alive=alive)
