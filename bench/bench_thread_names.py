"""The cost of Python thread names: the reads of target memory the
aggregator takes for each new thread it names (threading's registry, read
once per new thread, never per sample).  A process starts THREADS threads
(default 100) one every 20 ms, each named and busy for a moment, while
`pybpfctl record --json` samples it; also with the registry already holding
BASE idle threads (default 0 and 200: the registry is read whole, up to 256
entries).  Prints the threads named, the reads, reads per new thread, and
the time the capture took.  Usage: bench_thread_names.py [THREADS]."""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(HERE, "..", "build"))
PY = os.environ.get("PYBPF_BENCH_PYTHON", "/usr/bin/python3.11")
THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
CODE = """
import sys, threading, time
base, n = int(sys.argv[1]), int(sys.argv[2])
idle = threading.Event()
for i in range(base):
    threading.Thread(target=idle.wait, name=f"idle-{i}", daemon=True).start()
def work():
    end = time.monotonic() + 0.05
    while time.monotonic() < end:
        pass
time.sleep(1)
for i in range(n):
    threading.Thread(target=work, name=f"worker-{i:04d}-with-a-long-name").start()
    time.sleep(0.02)
time.sleep(0.5)
"""


def main():
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(CODE)
    try:
        print(f"{THREADS} new threads, {PY}")
        for base in (0, 200):
            out = os.path.join(tempfile.gettempdir(), f"bench-names-{os.getpid()}.pb.gz")
            t0 = time.monotonic()
            p = subprocess.run([os.path.join(BUILD, "pybpfctl"), "--no-daemon", "record", "-q", "--json", "-r", "499",
                                "-o", out, "--", PY, f.name, str(base), str(THREADS)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
            wall = time.monotonic() - t0
            if p.returncode:
                sys.exit(f"record failed: {p.stderr}")
            s = json.loads(p.stdout)
            named, reads = s["thread_names"], s["thread_name_reads"]
            print(f"registry of {base:3d} idle threads: {named} threads named, {reads} reads, "
                  f"{reads / max(named, 1):.1f} reads a new thread; {s['samples']} samples, {wall:.1f} s")
            os.unlink(out)
    finally:
        os.unlink(f.name)


main()
