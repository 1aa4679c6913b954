"""The daemon's own cost: pybpfd at 99 Hz, and at 999 Hz (off-CPU tracking
on, spool on, 15 s windows) profiling 1, 10 and 50 busy Python processes.  Prints its CPU
share (of one core, from /proc/PID/stat over MEASURE seconds after a warm-up)
and its resident memory (VmRSS at the end, VmHWM peak)."""
import os
import subprocess
import tempfile
import time

from benchlib import cpu_seconds, status_kb

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(HERE, "..", "build"))
PY = os.environ.get("PYBPF_BENCH_PYTHON", "/usr/bin/python3.11")
MEASURE = float(os.environ.get("PYBPF_BENCH_SECONDS", "30"))
COUNTS = [int(x) for x in os.environ.get("PYBPF_BENCH_PROCS", "1,10,50").split(",")]
RATES = [int(x) for x in os.environ.get("PYBPF_BENCH_RATES", "99,999").split(",")]
BUSY = os.path.join(HERE, "..", "tests", "workloads", "busy.py")


def run(n, rate):
    work = tempfile.mkdtemp(prefix="pybpf-bench-")
    conf = os.path.join(work, "pybpfd.conf")
    with open(conf, "w") as f:
        f.write(f"rate_hz = {rate}\nwindow_s = 15\nsocket = {work}/sock\nsocket_group =\n"
                f"spool_dir = {work}/spool\npull = false\nlog_level = warning\n")
    procs = [subprocess.Popen([PY, BUSY], env={**os.environ, "PYBPF_SERVICE": f"bench-{i % 5}"})
             for i in range(n)]
    d = subprocess.Popen([os.path.join(BUILD, "pybpfd"), "-c", conf], stderr=subprocess.DEVNULL)
    try:
        # started (BPF loaded and verified, processes inspected), then settled:
        # the measure is the steady state
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ps = subprocess.run([os.path.join(BUILD, "pybpfctl"), "--socket", f"{work}/sock", "ps", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
            if ps.count('"pid"') >= n:
                break
            time.sleep(0.5)
        time.sleep(10)
        c0, t0 = cpu_seconds(d.pid), time.monotonic()
        time.sleep(MEASURE)
        c1, t1 = cpu_seconds(d.pid), time.monotonic()
        rss, hwm = status_kb(d.pid, "VmRSS"), status_kb(d.pid, "VmHWM")
        ps = subprocess.run([os.path.join(BUILD, "pybpfctl"), "--socket", f"{work}/sock", "ps", "--json"],
                            stdout=subprocess.PIPE, text=True).stdout
        found = ps.count('"pid"')
    finally:
        d.terminate()
        d.wait()
        for p in procs:
            p.kill()
            p.wait()
    files = len(os.listdir(os.path.join(work, "spool"))) if os.path.isdir(os.path.join(work, "spool")) else 0
    print(f"{n:3d} busy processes ({found} profiled): daemon CPU {100 * (c1 - c0) / (t1 - t0):5.2f} % of a core, "
          f"RSS {rss / 1024:5.1f} MB (peak {hwm / 1024:5.1f} MB), {files} spool files", flush=True)


def main():
    for rate in RATES:
        print(f"pybpfd at {rate} Hz on {os.cpu_count()} CPUs, measured over {MEASURE:.0f} s", flush=True)
        for n in COUNTS:
            run(n, rate)


if __name__ == "__main__":
    main()
