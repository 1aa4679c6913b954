"""One capture, every format: in each mode (cpu, wall, offcpu, gil), a
capture of a workload mixing a CPU thread, a thread asleep throughout, one
in 1 ms sleeps and one blocked on a socket is written as pprof, collapsed,
SVG and speedscope at once; each format, read back independently, gives
every function the same share of the total (within 1 pp).  The shares are
the workload's own too where it fixes them (wall: one thread in five each).
And through pybpfd, `top --json` over the span of a cpu capture gives the
same shares as the capture."""
import json
import os
import subprocess
import threading
import time

from pybpf_testlib import (PYBPFCTL, PYTHON, SHARE_READERS, WORKLOADS, Daemon, check, fail, record,
                           shares_pprof, tmpdir)

FUNCS = ("burn", "long_sleep", "short_sleeps", "sock_wait", "sender")
SECONDS = 4


def start_workload(d, seconds):
    ready = os.path.join(d, "ready")
    p = subprocess.Popen([PYTHON, os.path.join(WORKLOADS, "mixed.py"), str(seconds), ready])
    for _ in range(500):
        if os.path.exists(ready):
            return p
        time.sleep(0.01)
    fail("mixed.py did not start")


def all_formats(mode):
    d = tmpdir()
    w = start_workload(d, SECONDS + 30)
    try:
        outs = {ext: os.path.join(d, f"p.{ext}") for ext in SHARE_READERS}
        args = ["--pid", str(w.pid), "-d", str(SECONDS), "-m", mode]
        for path in outs.values():
            args += ["-o", path]
        summary = record(args, local=True)
    finally:
        w.kill()
        w.wait()
    got = {ext: SHARE_READERS[ext](path, FUNCS) for ext, path in outs.items()}
    ref, _ = got["pb.gz"]
    print(f"{mode}: " + "; ".join(f"{ext}: " + ", ".join(f"{n} {s[n]:.3f}" for n in FUNCS)
                                    for ext, (s, _) in got.items()))
    for ext, (s, total) in got.items():
        worst = max(abs(s[n] - ref[n]) for n in FUNCS)
        check(worst <= 0.01, f"{mode}: {ext} gives pprof's shares within 1 pp (worst {100 * worst:.2f} pp)")
    return ref, summary


cpu, _ = all_formats("cpu")
check(cpu["burn"] > 0.9, f"cpu: burn() holds the CPU time ({cpu['burn']:.3f})")

wall, summary = all_formats("wall")
for n in FUNCS:
    # five threads and the main one (in join) over the same span: a sixth each
    check(abs(wall[n] - 1 / 6) <= 0.03, f"wall: {n}() has a sixth of the wall time ({wall[n]:.3f})")

off, _ = all_formats("offcpu")
check(off["burn"] < 0.05, f"offcpu: burn() is rarely off CPU ({off['burn']:.3f})")
for n in ("long_sleep", "short_sleeps", "sock_wait"):
    check(abs(off[n] - 1 / 5) <= 0.04, f"offcpu: {n}() has a fifth of the off-CPU time ({off[n]:.3f})")

gil, _ = all_formats("gil")
check(gil["short_sleeps"] > 0.2, f"gil: the 1 ms sleeper waits for the GIL on each wake-up ({gil['short_sleeps']:.3f})")

# top --json through the daemon beside a capture of the same span: same shares.
daemon = Daemon()
try:
    d = tmpdir()
    w = start_workload(d, SECONDS + 30)
    try:
        for attempt in range(3):
            out = os.path.join(d, f"top{attempt}.pb.gz")
            res = {}

            def top():
                p = daemon.ctl("top", "--pid", str(w.pid), "--once", "--json", "--interval", str(SECONDS))
                res["top"] = json.loads(p.stdout)

            t = threading.Thread(target=top)
            t.start()
            p = daemon.ctl("record", "--pid", str(w.pid), "-d", str(SECONDS), "-o", out, "--json", "-q")
            t.join()
            summary = json.loads(p.stdout)
            # two captures of one sampler started a moment apart: they hold
            # the same drains unless a drain fell in between (then again),
            # but for a sample or two at the ticks each cuts at its own
            # start and end
            if abs(res["top"]["samples"] - summary["samples"]) <= 2:
                break
            print(f"top saw {res['top']['samples']} samples, record {summary['samples']}: a drain fell between their starts")
        else:
            fail("top and record never covered the same drains")
    finally:
        w.kill()
        w.wait()
    ref, total = shares_pprof(out, FUNCS)
    rows = res["top"]["rows"]
    n = res["top"]["samples"]
    for f in ("burn", "sender", "short_sleeps"):
        tshare = sum(r["total"] for r in rows if r["function"] == f) / n
        check(abs(tshare - ref[f]) <= 0.01, f"top --json: {f}() {tshare:.3f} == the capture's {ref[f]:.3f} within 1 pp")
finally:
    daemon.stop()
print("PASS")
