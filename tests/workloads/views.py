"""What the profile views (--native, --no-native, --function, --nolineno,
--threads) are checked on: hot() spends its time on two lines of its own
(the interpreter's frames run them) and in zlib.compress (libz's frames),
in a thread named "worker", for argv[1] seconds."""
import sys
import threading
import time
import zlib

DATA = bytes(range(256)) * 2048


def hot(end):
    x = 0
    while time.monotonic() < end:
        for i in range(20000):
            x += i  # HOT LINE A
        zlib.compress(DATA, 6)  # HOT LINE B
    return x


t = threading.Thread(target=hot, args=(time.monotonic() + float(sys.argv[1]),), name="worker")
t.start()
t.join()
