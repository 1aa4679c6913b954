"""Short-lived threads, one at a time, beside a sleeping main thread: each
lives 0.1 s (half on CPU, half asleep) and names itself short-N in the
kernel (prctl), so its samples can be told apart after it is gone.

    shortthreads.py SECONDS [READY_FILE]"""
import ctypes
import sys
import threading
import time

seconds = float(sys.argv[1])
end = time.monotonic() + seconds
libc = ctypes.CDLL(None)
PR_SET_NAME = 15


def short(n):
    libc.prctl(PR_SET_NAME, f"short-{n}".encode(), 0, 0, 0)
    stop = time.monotonic() + 0.05
    x = 0
    while time.monotonic() < stop:
        x += 1
    time.sleep(0.05)


def spawner():
    n = 0
    while time.monotonic() < end:
        t = threading.Thread(target=short, args=(n,))
        t.start()
        t.join()
        n += 1


s = threading.Thread(target=spawner)
s.start()
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        f.write("ready\n")
time.sleep(max(0.0, end - time.monotonic()))
s.join()
