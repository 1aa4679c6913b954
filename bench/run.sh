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
echo "== the daemon on a long run: stacks that never repeat"
python3 bench_longrun.py
