"""In-kernel cost of one sample at Python stack depths 10, 50, 200 and 1000:
the sampling program's run time over its run count from the kernel's BPF
statistics (sysctl kernel.bpf_stats_enabled), while profiling a workload that
spins at the given depth at 999 Hz."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(HERE, "..", "build"))
PY = os.environ.get("PYBPF_BENCH_PYTHON", "/usr/bin/python3.11")
STATS = "/proc/sys/kernel/bpf_stats_enabled"


def run(depth, seconds=3):
    d = tempfile.mkdtemp(prefix="pybpf-bench-")
    cmd = [os.path.join(BUILD, "pybpfctl"), "record", "--json", "-q", "-r", "999", "-d", str(seconds),
           "-o", os.path.join(d, "p.pb.gz"), "--", PY, os.path.join(HERE, "workload.py"),
           "2000000000", str(depth), os.path.join(d, "t")]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    old = open(STATS).read().strip()
    with open(STATS, "w") as f:
        f.write("1")
    try:
        print(f"{'depth':>6} {'samples':>8} {'prog runs':>10} {'ns/run':>8} {'ns/recorded sample':>19} {'new stacks':>10}")
        for depth in (10, 50, 200, 1000):
            s = run(depth)
            per_run = s["bpf_run_ns"] / max(s["bpf_run_count"], 1)
            per_sample = s["bpf_run_ns"] / max(s["recorded"], 1)
            print(f"{depth:>6} {s['recorded']:>8} {s['bpf_run_count']:>10} {per_run:>8.0f} {per_sample:>19.0f} {s['new_stacks']:>10}")
            sys.stdout.flush()
    finally:
        with open(STATS, "w") as f:
            f.write(old)


main()
