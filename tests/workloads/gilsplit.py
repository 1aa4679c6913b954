"""Two threads of pure Python (py1, py2: they hold the GIL whenever they run)
and one compressing with zlib (zlibber: zlib releases the GIL while it
works), for `record --gil`.

    gilsplit.py SECONDS OUT

Writes OUT (JSON) at the end: {"threads": {name: native tid}, "cpu": {name:
seconds of its own CPU clock}, "steal": the share of the CPUs' time the
hypervisor took meanwhile (machine.py)}, the clocks read from when all three run to
when they stop (the capture covers the whole run: its shares are of it).
"""
import sys
import threading
import time
import zlib

from machine import run_threads


seconds, out = float(sys.argv[1]), sys.argv[2]
ids, cpu = {}, {}
start = threading.Barrier(3)
end = time.monotonic() + seconds


def python_loop():
    name = threading.current_thread().name
    ids[name] = threading.get_native_id()
    start.wait()
    t0 = time.thread_time()
    x = 0
    while time.monotonic() < end:
        for i in range(2000):
            x += i * i % 7
    cpu[name] = time.thread_time() - t0


def zlib_loop():
    name = threading.current_thread().name
    ids[name] = threading.get_native_id()
    data = bytes(range(256)) * 4096 + b"x" * (1 << 20)  # 2 MiB: ~0.1 s a call, the GIL released
    start.wait()
    t0 = time.thread_time()
    while time.monotonic() < end:
        zlib.compress(data, 6)
    cpu[name] = time.thread_time() - t0


threads = [threading.Thread(target=python_loop, name="py1"), threading.Thread(target=python_loop, name="py2"),
           threading.Thread(target=zlib_loop, name="zlibber")]
run_threads(threads, out, threads=ids, cpu=cpu)
