"""The GIL waiter count does not drift: the one-CPU scenario (one CPU-bound
thread among three sleepers, so no contention) run N times in a row (20 by
default) on each interpreter given, `pybpfctl gil` each time; prints the
contention and the CPU thread's wait of every run, and the worst.  Issue 10
asked for < 5 % contention in every run on 3.13 and 3.15 (a count kept by
increments and decrements drifted about 1 run in 20 before).

    bench_gil_loop.py [RUNS] [NAME=ARGV ...]   (default: Debian's 3.13 and 3.15 roots)"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(HERE, "..", "build"))
SRC = os.path.join(HERE, "..")
ROOTS = os.environ.get("PYBPF_ROOTS", "/var/cache/pybpf/roots")
DEFAULT = {"3.13": (os.path.join(ROOTS, "trixie"), "/usr/bin/python3.13"),
           "3.15": (os.path.join(ROOTS, "sid"), "/usr/bin/python3.15")}


def one(root, python, seconds=4):
    script = os.path.join(SRC, "tests", "workloads", "waits.py")
    d = tempfile.mkdtemp(prefix="pybpf-bench-", dir=root + "/tmp" if root else None)
    os.chmod(d, 0o777)
    inside = d[len(root):] if root else d
    if root:
        os.makedirs(root + "/opt/pybpf-workloads", exist_ok=True)
        subprocess.run(["cp", script, root + "/opt/pybpf-workloads/waits.py"], check=True)
        script = "/opt/pybpf-workloads/waits.py"
    argv = (["chroot", root] if root else []) + [python, script, "onecpu", str(seconds + 3), inside + "/o.json"]
    p = subprocess.Popen(argv)
    try:
        for _ in range(1000):
            if os.path.exists(d + "/o.json"):
                break
            time.sleep(0.01)
        time.sleep(0.2)
        ids = json.load(open(d + "/o.json"))["threads"]
        out = subprocess.run([os.path.join(BUILD, "pybpfctl"), "--no-daemon", "gil", "--pid", str(p.pid), "-d",
                              str(seconds), "--json"], stdout=subprocess.PIPE, text=True, check=True).stdout
        g = json.loads(out)
        spin = next(t for t in g["threads"] if t["tid"] == ids["spin0"])
        return g["contended_pct"], spin["waits_pct"], g["avg_waiters"]
    finally:
        p.kill()
        p.wait()


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    targets = DEFAULT
    if len(sys.argv) > 2:
        targets = {}
        for spec in sys.argv[2:]:
            name, python = spec.split("=", 1)
            targets[name] = ("", python)
    for name, (root, python) in targets.items():
        worst = 0.0
        print(f"{name}: {runs} runs of onecpu, 4 s each")
        for i in range(runs):
            c, w, avg = one(root, python)
            worst = max(worst, c)
            print(f"  run {i + 1:2}: contended {c:5.2f} %  spin0 waits {w:5.2f} %  avg waiters {avg:.3f}")
            sys.stdout.flush()
        print(f"{name}: worst contention {worst:.2f} % over {runs} runs ({'ok' if worst < 5 else 'OVER 5 %'})")


if __name__ == "__main__":
    main()
