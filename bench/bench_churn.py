"""pybpfd's memory under exec churn: short Python processes started at RATE a
second for MINUTES (each runs some functions of its own for ~30 ms and
exits), with 15 s windows and the default stack_idle_s (600 s).  Prints the
daemon's RSS and stack count idle, every 30 s of churn, at its end, and one
and two windows after it stopped, and how many processes it registered.
Goal (issue 11): RSS <= 60 MB after 10 min at 100/s, and back within 10 % of
the idle figure a window after the churn stops ("warm": idle after five runs
of the program, which loads the caches any one run does).  Usage: bench_churn.py
[MINUTES [RATE]] (defaults 2 and 100)."""
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchlib import status_kb

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(HERE, "..", "build"))
PY = os.environ.get("PYBPF_BENCH_PYTHON", "/usr/bin/python3.11")
MINUTES = float(sys.argv[1]) if len(sys.argv) > 1 else 2
RATE = float(sys.argv[2]) if len(sys.argv) > 2 else 100
PORT = 16171 + os.getpid() % 1000
CODE = ("import os\n" + "".join(f"def f{i}(n):\n    return n if n < 1 else f{i}(n - 1)\n" for i in range(20)) +
        "for _ in range(100):\n    [globals()['f%d' % i](30) for i in range(20)]\n")


def metric(name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def line(what, d):
    print(f"{what:>24}: RSS {status_kb(d.pid, 'VmRSS') / 1024:6.1f} MB, "
          f"{metric('pybpf_stacks'):7.0f} stacks, {metric('pybpf_processes_seen_total'):7.0f} registered",
          flush=True)


def main():
    work = tempfile.mkdtemp(prefix="pybpf-bench-")
    conf = os.path.join(work, "pybpfd.conf")
    with open(conf, "w") as f:
        f.write(f"rate_hz = 99\nwindow_s = 15\nsocket = {work}/sock\nsocket_group =\n"
                f"spool_dir = {work}/spool\npull_listen = 127.0.0.1:{PORT}\nlog_level = warning\n")
    d = subprocess.Popen([os.path.join(BUILD, "pybpfd"), "-c", conf], stderr=subprocess.DEVNULL)
    try:
        time.sleep(20)
        line("idle", d)
        idle = status_kb(d.pid, "VmRSS")
        # the same program run a few times, one at a time, and a window for
        # them to be forgotten: what stays is the caches of what they mapped
        # (the interpreter's ELF symbols), loaded once whatever the churn
        for _ in range(5):
            subprocess.run([PY, "-c", CODE], check=True)
        time.sleep(20)
        line("warm (5 runs seen)", d)
        warm = status_kb(d.pid, "VmRSS")
        procs, started, t0, last = [], 0, time.monotonic(), time.monotonic()
        while time.monotonic() - t0 < MINUTES * 60:
            due = int((time.monotonic() - t0) * RATE)
            while started < due:
                procs.append(subprocess.Popen([PY, "-c", CODE]))
                started += 1
            procs = [p for p in procs if p.poll() is None]
            if time.monotonic() - last >= 30:
                last = time.monotonic()
                line(f"churn {last - t0:4.0f} s", d)
            time.sleep(0.005)
        for p in procs:
            p.wait()
        line(f"end ({started} started)", d)
        peak = status_kb(d.pid, "VmHWM")
        for w in (1, 2):
            time.sleep(15 + (5 if w == 1 else 0))
            line(f"{w} window(s) after", d)
        after = status_kb(d.pid, "VmRSS")
        print(f"peak RSS {peak / 1024:.1f} MB; after/idle {after / idle:.3f}, after/warm {after / warm:.3f}")
    finally:
        d.terminate()
        d.wait()


if __name__ == "__main__":
    main()
