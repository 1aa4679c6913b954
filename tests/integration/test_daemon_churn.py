"""Exec churn: 1,000 short Python processes (100 a second) under pybpfd.
Afterwards `ps` and the kernel's procs map hold only live processes (an
exit between inspection and registration is not missed), and the stacks of
the processes that are gone are forgotten when their window is flushed,
not stack_idle_s later."""
import json
import os
import subprocess
import time

from pybpf_testlib import PYTHON, WORKLOADS, Daemon, check, daemon_maps, end, map_pids, spawn_python

RATE, SECONDS = 100, 10


def live(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def main():
    d = Daemon({"window_s": "2", "stack_idle_s": "3600"})
    keep = spawn_python([os.path.join(WORKLOADS, "busy.py")])
    try:
        time.sleep(3)
        stacks_idle = d.metrics()[("pybpf_stacks", ())]
        seen0 = d.metrics()[("pybpf_processes_seen_total", ())]
        forgot0 = d.metrics()[("pybpf_stacks_forgotten_total", ())]
        # each runs a few ms of Python with a different stack, then exits
        code = "import sys\n" + "".join(
            f"def f{i}(n):\n    return n if n < 1 else f{i}(n - 1)\n" for i in range(20)) + \
            "for _ in range(200):\n    [globals()['f%d' % i](30) for i in range(20)]\n"
        procs, started = [], 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < SECONDS:
            due = int((time.monotonic() - t0) * RATE)
            while started < due:
                procs.append(subprocess.Popen([PYTHON, "-c", code]))
                started += 1
            procs = [p for p in procs if p.poll() is None]
            time.sleep(0.005)
        for p in procs:
            p.wait()
        took = time.monotonic() - t0
        m = d.metrics()
        seen = m[("pybpf_processes_seen_total", ())] - seen0
        print(f"{started} processes in {took:.1f} s; the daemon registered {seen:.0f}")
        check(seen >= started * 0.2, f"the daemon saw the churn ({seen:.0f} of {started} registered)")
        # a window (2 s), the reap delay (3 s) and a window again
        time.sleep(8)
        ps = {e["pid"] for e in d.ctl_json("ps")}
        dead = sorted(p for p in ps if not live(p))
        check(not dead, f"ps lists only live processes ({len(ps)}; dead: {dead[:10]})")
        check(keep.pid in ps, "... and still the one that runs")
        (procs_map,) = daemon_maps(d.proc.pid, "procs")
        in_map = map_pids(procs_map)
        dead = sorted(p for p in in_map if not live(p))
        check(not dead, f"the kernel's procs map holds only live processes ({len(in_map)}; dead: {dead[:10]})")
        m = d.metrics()
        stacks = m[("pybpf_stacks", ())]
        forgot = m[("pybpf_stacks_forgotten_total", ())] - forgot0
        # each short process leaves a few stacks of its own; the one that
        # runs on adds new ones for a while too (about 150 in 20 s here)
        check(forgot >= seen / 4, f"the stacks of exited processes are forgotten with their window "
                              f"({forgot:.0f} for {seen:.0f} processes, stack_idle_s = 3600)")
        check(stacks - stacks_idle < 400,
              f"... and the table is back near its size before: {stacks_idle:.0f} before, {stacks:.0f} after")
        check(d.stop(15) == 0, "SIGTERM: exit 0")
    finally:
        end(keep)
        if d.proc.poll() is None:
            d.stop(9)


if __name__ == "__main__":
    main()
