"""Slowdown of a fixed pure-Python workload profiled at 99 Hz and 999 Hz,
against unprofiled runs: runs interleaved, ratio of medians.  And the
profiler's own CPU: pybpfctl's (its rusage, less the workload's own CPU,
which it reaps) as a share of one core over its run."""
import os
import statistics
import subprocess
import tempfile
import time

from benchlib import BUILD, HERE, PY
ROUNDS = int(os.environ.get("PYBPF_BENCH_ROUNDS", "60000000"))
REPEATS = int(os.environ.get("PYBPF_BENCH_REPEATS", "5"))
DEPTH = 30


def once(rate):
    """the workload's time; pybpfctl's CPU share of a core (0 unprofiled)"""
    d = tempfile.mkdtemp(prefix="pybpf-bench-")
    t = os.path.join(d, "t")
    work = [PY, os.path.join(HERE, "workload.py"), str(ROUNDS), str(DEPTH), t]
    if rate:
        work = [os.path.join(BUILD, "pybpfctl"), "--no-daemon", "record", "-q", "-r", str(rate), "-o",
                os.path.join(d, "p.pb.gz"), "--"] + work
    t0 = time.monotonic()
    p = subprocess.Popen(work, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if status:
        raise SystemExit(f"{work[0]} exited {status}")
    elapsed, cpu = (float(x) for x in open(t).read().split())
    # the rusage of a child holds the children it reaped: the workload's
    own = ru.ru_utime + ru.ru_stime - cpu if rate else 0.0
    return elapsed, max(0.0, own) / wall


def main():
    times = {0: [], 99: [], 999: []}
    shares = {0: [], 99: [], 999: []}
    for _ in range(REPEATS):
        for rate in times:
            elapsed, share = once(rate)
            times[rate].append(elapsed)
            shares[rate].append(share)
    base = statistics.median(times[0])
    print(f"workload: {ROUNDS} rounds at depth {DEPTH}, {REPEATS} interleaved runs each")
    for rate, ts in times.items():
        med = statistics.median(ts)
        label = "unprofiled" if rate == 0 else f"{rate} Hz"
        print(f"{label:>11}: median {med:.3f} s  (runs {', '.join(f'{x:.3f}' for x in ts)})  ratio {med / base:.4f}")
    for rate in (99, 999):
        print(f"pybpfctl's own CPU at {rate} Hz: median {100 * statistics.median(shares[rate]):.2f} % of a core "
              f"(start-up included)")


main()
