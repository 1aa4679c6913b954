"""The cost of event-loop stall tracking (pybpfctl asyncio): a coroutine
that yields with asyncio.sleep(0), so that every iteration waits in
epoll_wait (timeout 0), as fast as it goes (the worst case: 150-200k
iterations/s), then with work in each iteration for about 20k a second (the
issue's loop).  Throughput unprofiled, under `pybpfctl io` (the same
wall-mode recording without the loop tracking: sched_switch and the perf
events) and under `pybpfctl asyncio` (the same plus the loop hooks: fentry
on the wait functions, or where the kernel cannot, the system call
tracepoints; PYBPF_LOOP_HOOKS=syscalls forces those); interleaved runs,
ratio of medians, with the none-vs-none noise floor of the same runs; the
hook programs' own run time per call (kernel.bpf_stats_enabled); and what
they cost another process's system calls (dd, a million 1-byte reads and
writes, with them attached or not)."""
import os
import statistics
import subprocess
import tempfile
import time

import benchlib

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(HERE, "..", "build"))
PY = os.environ.get("PYBPF_BENCH_PYTHON", "/usr/bin/python3.11")
REPEATS = int(os.environ.get("PYBPF_BENCH_REPEATS", "9"))
SECONDS = 4
WORKLOAD = r'''
import asyncio, os, sys, time
seconds, out = float(sys.argv[1]), sys.argv[2]
work = range(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
async def main():
    open(out + ".ready", "w").close()
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in work:
            pass
        await asyncio.sleep(0)
        n += 1
    open(out, "w").write(str(n / seconds))
asyncio.run(main())
'''


LOOP_PROGS = ("on_sys_enter", "on_sys_exit", "on_epoll_enter", "on_epoll_exit", "on_poll_enter",
              "on_poll_exit", "on_select_enter", "on_select_exit")


def prog_stats():
    """run time and count of the loop hook programs"""
    return benchlib.prog_stats(LOOP_PROGS)


def once(mode, work=0):
    d = tempfile.mkdtemp(prefix="pybpf-bench-")
    wl = os.path.join(d, "wl.py")
    open(wl, "w").write(WORKLOAD)
    out = os.path.join(d, "rate")
    # the capture starts before the timed part and outlasts it
    proc = subprocess.Popen([PY, wl, str(SECONDS + 1.5), out, str(work)])
    while not os.path.exists(out + ".ready"):
        time.sleep(0.01)
    tool, stats = None, [0, 0]
    if mode:
        tool = subprocess.Popen([os.path.join(BUILD, "pybpfctl"), "--no-daemon", mode, "--pid", str(proc.pid),
                                 "-d", str(SECONDS + 3), "--json", "-r", "99"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.wait()
    if tool:
        stats = prog_stats() if mode == "asyncio" else [0, 0]
        tool.wait()
    return float(open(out).read()), stats



def dd_seconds():
    """a process that is no Python doing a million 1-byte reads and writes"""
    t0 = time.monotonic()
    subprocess.run(["dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=1000000"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


def host_cost():
    """What the tracepoints cost every other process of the host: dd's time
    with a `pybpfctl asyncio` of some Python running beside it, and without."""
    d = tempfile.mkdtemp(prefix="pybpf-bench-")
    wl = os.path.join(d, "wl.py")
    open(wl, "w").write(WORKLOAD)
    out = os.path.join(d, "rate")
    proc = subprocess.Popen([PY, wl, "1000", out])
    while not os.path.exists(out + ".ready"):
        time.sleep(0.01)
    res = {"without": [], "with": []}
    try:
        for _ in range(REPEATS):
            res["without"].append(dd_seconds())
            tool = subprocess.Popen([os.path.join(BUILD, "pybpfctl"), "--no-daemon", "asyncio", "--pid",
                                     str(proc.pid), "-d", "30", "--json", "-r", "99"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)  # attached
            res["with"].append(dd_seconds())
            tool.terminate()
            tool.wait()
    finally:
        proc.kill()
        proc.wait()
    a, b = statistics.median(res["without"]), statistics.median(res["with"])
    print(f"another process's system calls (dd, 2M calls): {a:.3f} s without, {b:.3f} s with the "
          f"loop hooks attached: {1e9 * (b - a) / 2e6:.0f} ns a call ({b / a:.4f})")


def series(work, title):
    """interleaved runs of every mode; prints them; the bare rate"""
    res = {"none": [], "none2": [], "io": [], "asyncio": []}
    per_call = []
    for _ in range(REPEATS):
        for mode in res:
            rate, (ns, cnt) = once(None if mode.startswith("none") else mode, work)
            res[mode].append(rate)
            if cnt:
                per_call.append(ns / cnt)
    base = statistics.median(res["none"])
    print(f"{title}, {SECONDS} s timed, {REPEATS} interleaved runs each; iterations/s")
    for mode, rates in res.items():
        med = statistics.median(rates)
        print(f"{mode:>8}: median {med:9.0f}/s  slowdown {base / med:.4f}")
    print(f"the loop tracking's own: slowdown {statistics.median(res['io']) / statistics.median(res['asyncio']):.4f}"
          f" (asyncio over io)")
    if per_call:
        print(f"loop hook programs: median {statistics.median(per_call):.0f} ns a call")
    return base


def main():
    path = "/proc/sys/kernel/bpf_stats_enabled"
    old = open(path).read().strip()
    open(path, "w").write("1")
    try:
        bare = series(0, "asyncio.sleep(0) loop, as fast as it goes")
        # work in each iteration for 20k iterations a second (the issue's
        # loop): 50 us an iteration, of which the bare loop's own part
        t = float(subprocess.run([PY, "-c", "import timeit; print(min(timeit.repeat('for _ in r: pass', "
                                  "'r = range(10000)', number=100, repeat=5)) / 1e6)"],
                                 stdout=subprocess.PIPE, text=True, check=True).stdout)
        work = max(0, int((50e-6 - 1 / bare) / t))
        series(work, f"the same loop with {work} empty for-iterations each (about 20k iterations/s)")
        host_cost()
    finally:
        open(path, "w").write(old)


main()
