#!/usr/bin/env bash
# Prints pybpf's benchmark figures (needs root and a build in build/).
set -euo pipefail
cd "$(dirname "$0")"
echo "== in-kernel cost per sample"
python3 bench_bpf_cost.py
echo
echo "== slowdown of a pure-Python workload"
python3 bench_slowdown.py
echo
echo "== extra cost of GIL and off-CPU tracking"
python3 bench_offcpu.py
echo
echo "== the daemon's CPU and memory, 1, 10 and 50 busy processes"
python3 bench_daemon.py
echo
echo "== the GIL waiter count over 20 runs of the one-CPU scenario (3.13, 3.15)"
python3 bench_gil_loop.py 20
echo
echo "== the daemon on a long run: stacks that never repeat"
python3 bench_longrun.py
echo
echo "== the daemon's memory under exec churn (100 short Pythons a second)"
python3 bench_churn.py
echo
echo "== the cost of event-loop stall tracking (pybpfctl asyncio)"
python3 bench_loop_cost.py
echo
echo "== the cost of task labels (a task per request)"
python3 bench_tasks.py
echo
echo "== the cost of HTTP request tracking (pybpfctl requests)"
python3 bench_http.py
echo
echo "== the parsers under libFuzzer, 30 s each (clang build in build-fuzz)"
./fuzz.sh -t 30 -j 2
