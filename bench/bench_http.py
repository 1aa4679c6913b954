"""The cost of HTTP request tracking (bpf/http.bpf.h: sys_enter and
sys_exit, every system call of the host while on; recvfrom/read and
sendto/write of registered processes looked at).  A keep-alive HTTP/1.1
server in Python (one thread: recv, parse, sendall), one client on
loopback in another process:

- paced at 2,000 requests/s: the server's CPU time per request;
- as fast as it goes: requests/s.

Each unprofiled (twice: the noise floor), under `pybpfctl io` (wall mode:
the same sampling without the socket tracking) and under `pybpfctl
requests` (the same and the tracking), and under pybpfd with
`http_requests = false` and `= true` (its requests per endpoint in
/metrics), interleaved, medians, ratio to `io` (to pybpfd without them);
and the sys_enter/sys_exit programs' run time per request
(kernel.bpf_stats_enabled).

    python3 bench/bench_http.py
    PYBPF_BENCH_MODES=none,none2,pybpfd,pybpfd-http python3 bench/bench_http.py"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import BUILD, PY

REPEATS = int(os.environ.get("PYBPF_BENCH_REPEATS", "7"))
MODES = tuple(os.environ.get("PYBPF_BENCH_MODES", "none,none2,io,requests,pybpfd,pybpfd-http").split(","))
SECONDS = 3
RATE = 2000
SERVER = r'''
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
body = b"ok"
resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\n" + body
while True:
    c, _ = s.accept()
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        buf += d
        while b"\r\n\r\n" in buf:
            head, buf = buf.split(b"\r\n\r\n", 1)
            method, path, _ = head.split(b"\r\n", 1)[0].split(b" ", 2)
            c.sendall(resp)
    c.close()
'''
CLIENT = r'''
import socket, sys, time
port, rate, seconds, out = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
c = socket.create_connection(("127.0.0.1", port))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def one(i):
    c.sendall(b"GET /orders/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
    got = b""
    while not got.endswith(b"ok"):
        got += c.recv(4096)
for i in range(500):
    one(i)
open(out + ".ready", "w").close()
while not __import__("os").path.exists(out + ".go"):
    time.sleep(0.01)
n, t0 = 0, time.monotonic()
end = t0 + seconds
while True:
    now = time.monotonic()
    if now >= end:
        break
    if rate and n > (now - t0) * rate:
        time.sleep(max(0.0, t0 + n / rate - now))
        continue
    one(n)
    n += 1
open(out, "w").write(str(n))
'''


def start_pybpfd(d, http):
    """A pybpfd of its own (HTTP requests measured or not), once it has
    registered pid."""
    conf = os.path.join(d, "pybpfd.conf")
    with open(conf, "w") as f:
        f.write(f"rate_hz = 99\nwindow_s = 15\nsocket = {d}/sock\nsocket_group =\nspool = false\n"
                f"spool_dir = {d}/spool\npull = false\nlog_level = warning\n"
                f"http_requests = {'true' if http else 'false'}\n")
    return subprocess.Popen([os.path.join(BUILD, "pybpfd"), "-c", conf], stderr=subprocess.DEVNULL)


def registered(d, pid):
    for _ in range(600):
        ps = subprocess.run([os.path.join(BUILD, "pybpfctl"), "--socket", f"{d}/sock", "ps", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        if f'"pid": {pid}' in ps:
            return
        time.sleep(0.1)
    sys.exit(f"pybpfd did not register pid {pid}")


def once(tool, rate):
    d = tempfile.mkdtemp(prefix="pybpf-bench-")
    for name, text in (("server.py", SERVER), ("client.py", CLIENT)):
        open(os.path.join(d, name), "w").write(text)
    portf, out = os.path.join(d, "port"), os.path.join(d, "n")
    server = subprocess.Popen([PY, os.path.join(d, "server.py"), portf])
    while not os.path.exists(portf) or not open(portf).read():
        time.sleep(0.01)
    client = subprocess.Popen([PY, os.path.join(d, "client.py"), open(portf).read(), str(rate), str(SECONDS), out])
    while not os.path.exists(out + ".ready"):
        if client.poll() is not None:
            sys.exit(f"the client exited {client.returncode}")
        time.sleep(0.01)
    prof = None
    if tool and tool.startswith("pybpfd"):
        prof = start_pybpfd(d, tool == "pybpfd-http")
        registered(d, server.pid)
        time.sleep(1)
    elif tool:
        prof = subprocess.Popen([os.path.join(BUILD, "pybpfctl"), "--no-daemon", tool, "--pid", str(server.pid),
                                 "-d", str(SECONDS + 4), "--json", "-r", "99"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2.5)  # attached
    before = benchlib.prog_stats(("on_sys_enter", "on_sys_exit"))
    cpu0 = benchlib.sched_seconds(server.pid)
    open(out + ".go", "w").close()
    client.wait()
    cpu = benchlib.sched_seconds(server.pid) - cpu0
    after = benchlib.prog_stats(("on_sys_enter", "on_sys_exit"))
    n = int(open(out).read())
    if prof:
        prof.kill()
        prof.wait()
    server.kill()
    server.wait()
    shutil.rmtree(d, ignore_errors=True)
    return n, cpu, after[0] - before[0], after[1] - before[1]


def series(rate):
    modes = MODES
    res = {m: [] for m in modes}
    bpf_ns = []
    for _ in range(REPEATS):
        for m in modes:
            n, cpu, ns, runs = once(None if m.startswith("none") else m, rate)
            res[m].append((n, cpu))
            if m in ("requests", "pybpfd-http") and n and runs:
                bpf_ns.append((ns / n, runs / n, ns / runs))
    what = f"paced at {RATE}/s: server CPU us a request" if rate else "unpaced: requests/s"
    print(f"{what} ({SECONDS} s timed, {REPEATS} interleaved runs each)")
    fig = {}
    for m, runs in res.items():
        fig[m] = statistics.median(1e6 * c / n if rate else n / SECONDS for n, c in runs)
        print(f"{m:>9}: median {fig[m]:9.2f}")
    for base, with_ in (("io", "requests"), ("pybpfd", "pybpfd-http")):
        if base not in fig or with_ not in fig:
            continue
        if rate:
            print(f"  tracking ({with_}): {fig[with_] / fig[base]:.4f}x the server's CPU a request under "
                  f"{base} (+{fig[with_] - fig[base]:.2f} us)")
        else:
            print(f"  tracking ({with_}): slowdown {fig[base] / fig[with_]:.4f} against {base}")
    if "none" in fig and "none2" in fig:
        print(f"  none vs none2 {fig['none2'] / fig['none']:.4f}")
    if bpf_ns:
        per_req, runs, per_run = (statistics.median(x[k] for x in bpf_ns) for k in range(3))
        print(f"  sys_enter/sys_exit programs (requests, pybpfd-http): median {per_req:.0f} ns a request: {runs:.1f} runs a "
              f"request (every system call of the host), {per_run:.0f} ns a run")


def main():
    with benchlib.bpf_stats():
        series(RATE)
        series(0)


if __name__ == "__main__":
    main()
