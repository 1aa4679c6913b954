"""The daemon on a long run: one process whose stacks never repeat (new
functions all the time, bench/churn.py) profiled for DURATION seconds at
99 Hz, once with stack_idle_s = 10 and once with stacks kept a day.  Prints
every INTERVAL seconds the stacks the daemon knows, those it forgot, and its
resident memory: bounded in the first run, growing in the second."""
import os
import subprocess
import tempfile
import time
import urllib.request

from benchlib import status_kb

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(HERE, "..", "build"))
PY = os.environ.get("PYBPF_BENCH_PYTHON", "/usr/bin/python3.11")
DURATION = float(os.environ.get("PYBPF_BENCH_SECONDS", "90"))
INTERVAL = 15


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return float("nan")


def run(idle_s, port):
    work = tempfile.mkdtemp(prefix="pybpf-bench-")
    conf = os.path.join(work, "pybpfd.conf")
    with open(conf, "w") as f:
        f.write(f"rate_hz = 99\nwindow_s = 15\nsocket = {work}/sock\nsocket_group =\n"
                f"spool_dir = {work}/spool\npull_listen = 127.0.0.1:{port}\nlog_level = warning\n"
                f"stack_idle_s = {idle_s}\n")
    d = subprocess.Popen([os.path.join(BUILD, "pybpfd"), "-c", conf], stderr=subprocess.DEVNULL)
    churn = None
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(f"{work}/sock") and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        churn = subprocess.Popen([PY, os.path.join(HERE, "churn.py"), str(DURATION)])
        t0 = time.monotonic()
        print(f"stack_idle_s = {idle_s}:", flush=True)
        while time.monotonic() - t0 < DURATION:
            time.sleep(INTERVAL)
            print(f"  {time.monotonic() - t0:4.0f} s: {metric(port, 'pybpf_stacks'):7.0f} stacks known, "
                  f"{metric(port, 'pybpf_stacks_forgotten_total'):7.0f} forgotten, "
                  f"RSS {status_kb(d.pid, 'VmRSS') / 1024:6.1f} MB", flush=True)
    finally:
        if churn:
            churn.kill()
            churn.wait()
        d.terminate()
        d.wait()


def main():
    print(f"pybpfd at 99 Hz, one process with new stacks all the time, {DURATION:.0f} s", flush=True)
    port = 16000 + os.getpid() % 1000
    run(10, port)
    run(86400, port + 1)


if __name__ == "__main__":
    main()
