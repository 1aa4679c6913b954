"""Parks a thread named "parker" in parked_here() until argv[1] seconds pass."""
import sys
import threading
import time


def parked_here(ev):
    ev.wait()  # PARK LINE


def worker(ev):
    parked_here(ev)


ev = threading.Event()
t = threading.Thread(target=worker, args=(ev,), name="parker")
t.start()
print("ready", flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 30)
ev.set()
t.join()
