"""Threads with Python names the OS does not have, for the thread-name tests.

    named.py SECONDS [CROWD]

A thread named at its creation with a name longer than the OS keeps (15
characters), one renamed after it started, and the main thread renamed; the
two threads spin (so a CPU profile has them), the main one sleeps; then
CROWD (default 0) idle threads, newer in threading's registry than the
named ones.  Prints "ready" once all are named, then {"name": native tid,
...} as JSON.
"""
import json
import sys
import threading
import time

seconds = float(sys.argv[1])
crowd = int(sys.argv[2]) if len(sys.argv) > 2 else 0
end = time.monotonic() + seconds
started = threading.Barrier(3)


def spin():
    started.wait()
    x = 0
    while time.monotonic() < end:
        for i in range(1000):
            x += i


long_one = threading.Thread(target=spin, name="worker-with-a-long-python-name")
renamed = threading.Thread(target=spin)
long_one.start()
renamed.start()
renamed.name = "renamed-after-start"
threading.current_thread().name = "main-renamed-too"
started.wait()
idle = threading.Event()
for i in range(crowd):
    threading.Thread(target=idle.wait, name=f"crowd-{i}", daemon=True).start()
print("ready", flush=True)
print(json.dumps({t.name: t.native_id for t in (long_one, renamed, threading.current_thread())}), flush=True)
time.sleep(max(0.0, end - time.monotonic()))
long_one.join()
renamed.join()
