"""A Python callback run by C: libc's qsort, called through ctypes, calls
cmp() for each comparison, and cmp() blocks (in time.sleep, or spinning on
the CPU), so a dump sees caller -> qsort (libc) -> libffi -> cmp.

    native.py sleep|spin SECONDS READY_FILE

Writes READY_FILE (JSON: the native thread id of the sorting thread)
once the callback runs."""
import ctypes
import ctypes.util
import json
import sys
import threading
import time

mode, seconds, ready = sys.argv[1], float(sys.argv[2]), sys.argv[3]
end = time.monotonic() + seconds
libc = ctypes.CDLL(ctypes.util.find_library("c"))
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
told = False


def cmp(a, b):
    global told
    if not told:
        told = True
        with open(ready + ".tmp", "w") as f:
            json.dump({"tid": threading.get_native_id()}, f)
        import os
        os.rename(ready + ".tmp", ready)
    while time.monotonic() < end:  # LOOP LINE
        if mode == "sleep":
            time.sleep(0.05)  # SLEEP LINE
        else:
            sum(range(100000))  # SPIN LINE (~1 ms: rarely caught on the loop's own lines)
    return a[0] - b[0]


def sort_with_qsort():
    arr = (ctypes.c_int * 8)(5, 3, 7, 1, 8, 2, 6, 4)
    libc.qsort(arr, len(arr), ctypes.sizeof(ctypes.c_int), CMP(cmp))  # QSORT LINE
    return list(arr)


sort_with_qsort()
