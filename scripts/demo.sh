#!/usr/bin/env bash
# Installs the dependencies, builds pybpf, and profiles the bundled demo
# workload for a few seconds: out/demo.svg (flamegraph) and out/demo.pb.gz
# (pprof).  Needs root (BPF).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
mkdir -p out
py=/usr/bin/python3.11
./build/pybpfctl record --duration 5 --rate 99 -o out/demo.svg -- \
	"$py" tests/workloads/split.py 6 out/demo-truth.json
./build/pybpfctl record --duration 5 --rate 99 -o out/demo.pb.gz -- \
	"$py" tests/workloads/split.py 6 out/demo-truth.json
echo
echo "Flamegraph: out/demo.svg (open it in a browser)"
echo "pprof:      out/demo.pb.gz (go tool pprof -top out/demo.pb.gz)"
