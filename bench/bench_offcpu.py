"""Extra cost of GIL and off-CPU tracking (sched_switch) on a many-threaded
workload: 16 threads that alternate short CPU bursts with sleeps and lock
hand-offs (many context switches).  Throughput of the workload unprofiled,
profiled in cpu mode (no sched_switch program) and in wall mode (with it), at
99 Hz; interleaved runs, ratio of medians; plus the sched_switch program's own
run time per context switch (kernel.bpf_stats_enabled)."""
import json
import os
import statistics
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(HERE, "..", "build"))
PY = os.environ.get("PYBPF_BENCH_PYTHON", "/usr/bin/python3.11")
REPEATS = int(os.environ.get("PYBPF_BENCH_REPEATS", "5"))
WORKLOAD = r'''
import sys, threading, time
n, seconds, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
done = [0] * n
end = time.monotonic() + seconds
def work(i):
    while time.monotonic() < end:
        x = 0
        for k in range(2000):
            x += k
        with lock:
            time.sleep(0.0001)
        time.sleep(0.001)
        done[i] += 1
ts = [threading.Thread(target=work, args=(i,)) for i in range(n)]
[t.start() for t in ts]; [t.join() for t in ts]
open(out, "w").write(str(sum(done) / seconds))
'''


def once(mode):
    d = tempfile.mkdtemp(prefix="pybpf-bench-")
    wl = os.path.join(d, "wl.py")
    open(wl, "w").write(WORKLOAD)
    out = os.path.join(d, "rate")
    cmd = [PY, wl, "16", "4", out]
    if mode:
        cmd = [os.path.join(BUILD, "pybpfctl"), "record", "-q", "--json", "-m", mode, "-r", "99", "-o",
               os.path.join(d, "p.pb.gz"), "--"] + cmd
    p = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
    summary = json.loads(p.stdout.strip().splitlines()[-1]) if mode else {}
    return float(open(out).read()), summary


def main():
    stats = "/proc/sys/kernel/bpf_stats_enabled"
    old = open(stats).read().strip()
    open(stats, "w").write("1")
    try:
        res = {None: [], "cpu": [], "wall": []}
        switches = []
        for _ in range(REPEATS):
            for mode in res:
                rate, summary = once(mode)
                res[mode].append(rate)
                if mode == "wall":
                    switches.append(summary.get("context_switches", 0))
        base = statistics.median(res[None])
        print(f"16 threads, 4 s runs, {REPEATS} interleaved runs each; iterations/s (higher is better)")
        for mode, rates in res.items():
            med = statistics.median(rates)
            print(f"{mode or 'unprofiled':>11}: median {med:8.0f}/s  slowdown {base / med:.4f}")
        print(f"context switches seen in wall mode per run: median {statistics.median(switches):.0f}")
    finally:
        open(stats, "w").write(old)


main()
