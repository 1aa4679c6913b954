"""Slowdown of a fixed pure-Python workload profiled at 99 Hz and 999 Hz,
against unprofiled runs: runs interleaved, ratio of medians."""
import os
import statistics
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(HERE, "..", "build"))
PY = os.environ.get("PYBPF_BENCH_PYTHON", "/usr/bin/python3.11")
ROUNDS = int(os.environ.get("PYBPF_BENCH_ROUNDS", "60000000"))
REPEATS = int(os.environ.get("PYBPF_BENCH_REPEATS", "5"))
DEPTH = 30


def once(rate):
    d = tempfile.mkdtemp(prefix="pybpf-bench-")
    t = os.path.join(d, "t")
    work = [PY, os.path.join(HERE, "workload.py"), str(ROUNDS), str(DEPTH), t]
    if rate:
        work = [os.path.join(BUILD, "pybpfctl"), "record", "-q", "-r", str(rate), "-o",
                os.path.join(d, "p.pb.gz"), "--"] + work
    subprocess.run(work, check=True, stdout=subprocess.DEVNULL)
    return float(open(t).read())


def main():
    times = {0: [], 99: [], 999: []}
    for _ in range(REPEATS):
        for rate in times:
            times[rate].append(once(rate))
    base = statistics.median(times[0])
    print(f"workload: {ROUNDS} rounds at depth {DEPTH}, {REPEATS} interleaved runs each")
    for rate, ts in times.items():
        med = statistics.median(ts)
        label = "unprofiled" if rate == 0 else f"{rate} Hz"
        print(f"{label:>11}: median {med:.3f} s  (runs {', '.join(f'{x:.3f}' for x in ts)})  ratio {med / base:.4f}")


main()
