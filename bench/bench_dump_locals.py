"""The cost of `dump --locals`: a Python process of THREADS threads (default
500), each asleep 8 frames deep with six variables a frame (a str, an int, a
float, a list of 20, a dict of 20, an object); prints the wall time and peak
RSS (VmHWM, read every 5 ms) of `pybpfctl dump` with and without --locals (median of RUNS, default 5),
the variables shown and the time per variable.  Usage: bench_dump_locals.py
[THREADS [RUNS]]."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(HERE, "..", "build"))
PY = os.environ.get("PYBPF_BENCH_PYTHON", "/usr/bin/python3.11")
THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 500
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
CODE = f"""
import sys, threading
class Item:
    pass
def deep(n, ready):
    text, number, ratio = "frame %d" % n, n * 1000003, n / 7
    items, table, thing = list(range(20)), dict.fromkeys(range(20)), Item()
    if n:
        return deep(n - 1, ready)
    ready.release()
    threading.Event().wait()
ready = threading.Semaphore(0)
for i in range({THREADS}):
    threading.Thread(target=deep, args=(7, ready), daemon=True).start()
for i in range({THREADS}):
    ready.acquire()
print("ready", flush=True)
threading.Event().wait()
"""


def run(pid, *extra):
    """Wall seconds, peak RSS (KiB) of one dump (its own, from wait4), and
    its JSON."""
    with tempfile.TemporaryFile("w+") as out:
        argv = [os.path.join(BUILD, "pybpfctl"), "--no-daemon", "dump", "--pid", str(pid), "--json", *extra]
        t0 = time.monotonic()
        # its peak RSS is its memory's high-water mark (VmHWM), read while it
        # runs: the rusage of a child of this (large) Python counts the
        # pages it had before its exec
        child = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, out.fileno(), 1)])
        hwm = 0
        while True:
            done, status = os.waitpid(child, os.WNOHANG)
            if done:
                break
            try:
                with open(f"/proc/{child}/status") as f:
                    hwm = max([hwm] + [int(x.split()[1]) for x in f if x.startswith("VmHWM:")])
            except OSError:
                pass
            time.sleep(0.005)
        wall = time.monotonic() - t0
        if os.waitstatus_to_exitcode(status):
            sys.exit(f"dump failed: exit {os.waitstatus_to_exitcode(status)}")
        out.seek(0)
        return wall, hwm, json.load(out)


def main():
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(CODE)
    proc = subprocess.Popen([PY, f.name], stdout=subprocess.PIPE, text=True)
    try:
        if proc.stdout.readline().strip() != "ready":
            sys.exit("workload did not start")
        print(f"{THREADS} threads, 8 frames each, {PY}; median of {RUNS} dumps")
        for how, extra in (("dump", ()), ("dump --locals", ("--locals",))):
            walls, rss = [], 0
            for _ in range(RUNS):
                wall, peak, d = run(proc.pid, *extra)
                walls.append(wall)
                rss = max(rss, peak)
            nvars = sum(len(fr.get("locals") or []) for t in d["threads"] for fr in t["frames"])
            med = statistics.median(walls)
            per = f", {1e6 * med / nvars:.1f} µs a variable (all of it)" if nvars else ""
            print(f"{how:15s} {med:7.3f} s (min {min(walls):.3f}, max {max(walls):.3f}), "
                  f"{len(d['threads'])} threads, {nvars} variables{per}; peak RSS {rss / 1024:.1f} MiB")
    finally:
        proc.kill()
        proc.wait()
        os.unlink(f.name)


main()
