"""Threads whose waits are known, for the GIL and off-CPU tests.

    waits.py MODE SECONDS OUT

gil4:   four CPU-bound threads (each should wait for the GIL ~3/4 of the time);
gil2:   two (each waits ~1/2 of the time, one switch interval at a time);
onecpu: one CPU-bound thread among three sleeping ones (no contention);
io:     a thread asking a loopback server that answers after a delay
        (ask_server blocks in recv), a thread in time.sleep, a thread blocked
        on a threading.Lock, and the server.

Writes OUT (JSON) once every thread runs: {"threads": {name: native tid}};
and OUT.done at the end, with the asker's measured share of time in recv and
each spinning thread's own CPU clock every 50 ms ("cpu": {name: [[monotonic,
thread_time], ...]}): the truth a GIL report is checked against, whatever the
hand-over's fairness.  A file OUT.stop ends every mode early: the tests run
it for longer than they need and stop it once their capture is over, so that
its threads outlast a capture whose start-up takes seconds.
"""
import json
import os
import socket
import sys
import threading
import time

mode, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
end = time.monotonic() + seconds
ids = {}
done = {"cpu": {}}


def over():
    return time.monotonic() >= end or os.path.exists(out + ".stop")


def spin():
    name = threading.current_thread().name
    ids[name] = threading.get_native_id()
    marks = done["cpu"][name] = []
    x = 0
    next_mark = 0.0
    while True:
        now = time.monotonic()
        if now >= next_mark:
            marks.append((now, time.thread_time()))
            next_mark = now + 0.05
            if over():
                # read again: the GIL may have passed to others since `now`
                marks.append((time.monotonic(), time.thread_time()))
                break
        for i in range(2000):
            x += i  # SPIN LINE


def sleeper():
    ids[threading.current_thread().name] = threading.get_native_id()
    while not over():
        time.sleep(1.0)  # SLEEP LINE


def wait_lock(lock):
    ids[threading.current_thread().name] = threading.get_native_id()
    lock.acquire()  # LOCK LINE
    lock.release()


def serve(listener, delay):
    ids[threading.current_thread().name] = threading.get_native_id()
    conn, _ = listener.accept()
    with conn:
        while conn.recv(16):
            time.sleep(delay)
            conn.sendall(b"answer")


def ask_server(sock):
    sock.sendall(b"question")
    return sock.recv(16)  # RECV LINE


def asker(port):
    ids[threading.current_thread().name] = threading.get_native_id()
    sock = socket.create_connection(("127.0.0.1", port))
    in_recv = 0.0
    t_start = time.monotonic()
    while not over():
        busy_until = time.monotonic() + 0.05
        while time.monotonic() < busy_until:
            pass
        t0 = time.monotonic()
        ask_server(sock)
        in_recv += time.monotonic() - t0
    done["recv_share"] = in_recv / (time.monotonic() - t_start)
    sock.close()


threads = []
if mode in ("gil4", "gil2"):
    threads = [threading.Thread(target=spin, name=f"spin{i}") for i in range(int(mode[3]))]
elif mode == "onecpu":
    threads = [threading.Thread(target=spin, name="spin0")]
    threads += [threading.Thread(target=sleeper, name=f"sleeper{i}") for i in range(3)]
elif mode == "io":
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    lock = threading.Lock()
    lock.acquire()
    threads = [
        threading.Thread(target=serve, args=(listener, 0.15), name="server"),
        threading.Thread(target=asker, args=(listener.getsockname()[1],), name="asker"),
        threading.Thread(target=sleeper, name="sleeper"),
        threading.Thread(target=wait_lock, args=(lock,), name="locker"),
    ]
else:
    sys.exit(f"unknown mode {mode}")
for t in threads:
    t.start()
while len(ids) < len(threads):
    time.sleep(0.01)
# written whole, then renamed: the test reads it as soon as the name exists
with open(out + ".tmp", "w") as f:
    json.dump({"threads": ids}, f)
os.rename(out + ".tmp", out)
# one long sleep (or a join): a main thread waking often would itself
# contend for the GIL
if mode == "io":
    while not over():  # 5 wake-ups a second: nothing beside these waits
        time.sleep(0.2)
    lock.release()
for t in threads:
    t.join()
with open(out + ".done.tmp", "w") as f:
    json.dump(done, f)
os.rename(out + ".done.tmp", out + ".done")
