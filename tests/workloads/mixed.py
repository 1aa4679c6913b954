"""Threads whose time is known, each in its own function: burn() on CPU,
long_sleep() asleep throughout, short_sleeps() in 1 ms sleeps, sock_wait()
blocked in recv on a socket that sender() writes to every 20 ms.

    mixed.py SECONDS [READY_FILE]

Writes READY_FILE (if given) once every thread runs."""
import socket
import sys
import threading
import time

seconds = float(sys.argv[1])
end = time.monotonic() + seconds


def burn():
    x = 0
    while time.monotonic() < end:
        for i in range(1000):
            x += i


def long_sleep():
    time.sleep(max(0.0, end - time.monotonic()))


def short_sleeps():
    while time.monotonic() < end:
        time.sleep(0.001)


def sock_wait(s):
    while time.monotonic() < end:
        if not s.recv(1):
            break


def sender(s):
    while time.monotonic() < end:
        time.sleep(0.02)
        s.send(b"x")
    s.close()


a, b = socket.socketpair()
threads = [threading.Thread(target=burn, name="burn"),
           threading.Thread(target=long_sleep, name="long_sleep"),
           threading.Thread(target=short_sleeps, name="short_sleeps"),
           threading.Thread(target=sock_wait, args=(a,), name="sock_wait"),
           threading.Thread(target=sender, args=(b,), name="sender")]
for t in threads:
    t.start()
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        f.write("ready\n")
for t in threads:
    t.join()
