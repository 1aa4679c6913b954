"""pybpfctl asyncio: event-loop stalls and the stacks that blocked them.
A loop (tests/workloads/loop.py) blocked every 200 ms by a coroutine in
time.sleep(50 ms) and, half a period apart, by one that burns 50 ms of CPU,
beside tickers that wake every 5 ms: over the report's own window the
stall count (threshold 30 ms) is the workload's count of blocks within
±20 %, the stalled share its blocked share within ±5 pp; the top stall
stacks are the sleeper at its time.sleep line (reason sleep) and burn() at
its loop line (reason cpu, or runqueue where other work took its CPU),
each about half the stalls; the thread is
named, its loop kind said, and its iterations' p50 < p99 <= max.  A
healthy loop (only awaits) shows no stall at the default 100 ms.  On
Debian's 3.11 the same on uvloop's loop (libuv, in C)."""
import json
import os
import subprocess
import time

from pybpf_testlib import PYBPFCTL, check, interp_from_argv, line_of

it = interp_from_argv()
script = it.workload("loop.py")
lines = {m: line_of(it.host(script), f"# {m} LINE") for m in ("SLEEP", "BURN")}
DURATION = 4


def start(mode, impl):
    out = it.tmpdir() + f"/{mode}-{impl}.json"
    proc = subprocess.Popen(it.cmd(script, mode, impl, 120, out))
    for _ in range(1000):
        if os.path.exists(it.host(out + ".ready")) or proc.poll() is not None:
            break
        time.sleep(0.02)
    check(proc.poll() is None, f"{impl} {mode}: the loop runs")
    tid = json.load(open(it.host(out + ".ready")))["tid"]
    time.sleep(0.3)
    return proc, tid, out


def report(proc, *args):
    p = subprocess.run([PYBPFCTL, "asyncio", "--pid", str(proc.pid), "-d", str(DURATION), "--json"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    check(p.returncode == 0, f"asyncio --json exited 0 ({p.stderr.strip()})")
    r = json.loads(p.stdout)
    # fentry on the wait functions where the kernel allows it, else the
    # system call tracepoints (forced by PYBPF_LOOP_HOOKS=syscalls)
    want = ("syscalls",) if os.environ.get("PYBPF_LOOP_HOOKS") == "syscalls" else ("fentry", "syscalls")
    check(r.get("hooks") in want, f"the loop hooks are named ({r.get('hooks')} in {want})")
    return r


def finish(proc, out):
    open(it.host(out + ".stop"), "w").close()
    proc.wait(timeout=30)
    return json.load(open(it.host(out)))["blocks"]


def loop_of(r, tid, how):
    loops = {x["tid"]: x for x in r["loops"]}
    check(tid in loops, f"{how}: the loop thread {tid} is in the report ({sorted(loops)})")
    return loops[tid]


def blocked(impl):
    how = f"{impl}"
    proc, tid, out = start("block", impl)
    try:
        r = report(proc, "--threshold", "30")
    finally:
        blocks = finish(proc, out)
    t0, t1 = r["start_monotonic_s"], r["end_monotonic_s"]
    lp = loop_of(r, tid, how)
    print(json.dumps(lp, indent=1)[:3000])
    inside = [b for b in blocks if t0 <= b[1] and b[2] <= t1]
    want_share = 100 * sum(b[2] - b[1] for b in inside) / (t1 - t0)
    check(abs(lp["stalls"] - len(inside)) <= 0.2 * len(inside) and len(inside) >= 20,
          f"{how}: {lp['stalls']} stalls, the workload blocked {len(inside)} times in the window (± 20 %)")
    check(abs(lp["stalled_pct"] - want_share) <= 5,
          f"{how}: stalled {lp['stalled_pct']:.1f} % of the time, the workload blocked {want_share:.1f} % (± 5 pp)")
    check(lp["thread_name"] == "MainThread", f"{how}: the loop thread is named ({lp['thread_name']})")
    check(lp["loop"] == impl, f"{how}: its loop is {impl}'s ({lp['loop']})")
    check(0 < lp["iteration_ms_p50"] < lp["iteration_ms_p99"] <= lp["iteration_ms_max"] * 1.0001,
          f"{how}: iterations p50 {lp['iteration_ms_p50']} < p99 {lp['iteration_ms_p99']} <= max "
          f"{lp['iteration_ms_max']} ms")
    check(lp["iterations_per_s"] > 100, f"{how}: {lp['iterations_per_s']:.0f} iterations a second (tickers every 5 ms)")
    tops = {(g["reason"], g["stack"][-1] if g["stack"] else ""): g for g in lp["stall_stacks"]}
    sleep = tops.get(("sleep", f"sleeper ({script}:{lines['SLEEP']})"))
    cpu = tops.get(("cpu", f"burn ({script}:{lines['BURN']})"))
    check(sleep is not None, f"{how}: a stall stack ends at sleeper's time.sleep line, reason sleep ({sorted(tops)})")
    check(cpu is not None, f"{how}: a stall stack ends at burn()'s loop line, reason cpu ({sorted(tops)})")
    # a burn preempted by other work waited for a CPU more than it ran:
    # its stall is the same stack's, for the run queue
    burned = cpu["count"] + tops.get(("runqueue", f"burn ({script}:{lines['BURN']})"), {"count": 0})["count"]
    n = len(inside)
    for name, got, kind in (("sleep", sleep["count"], "sleep"), ("burn (cpu or runqueue)", burned, "cpu")):
        mine = sum(1 for b in inside if b[0] == kind)
        check(abs(got - mine) <= 0.2 * mine + 1,
              f"{how}: {got} stalls on the {name} stack, the workload blocked {mine} times so ({n} in all)")
    check(len(cpu["stack"]) > 1 and cpu["stack"][-2].startswith("burner ("),
          f"{how}: burn() is called by burner ({cpu['stack'][-2:]})")
    # the task that blocked the loop, named (3.11+: tasks are read)
    want = ("sleeper", "burner") if it.minor >= 11 else ("", "")
    check((sleep["task"], cpu["task"]) == want,
          f"{how}: the stalls name the tasks that blocked ({sleep['task']!r}, {cpu['task']!r}; want {want})")


def healthy(impl):
    proc, tid, out = start("healthy", impl)
    try:
        r = report(proc)
    finally:
        finish(proc, out)
    lp = loop_of(r, tid, f"{impl} healthy")
    check(lp["stalls"] == 0 and lp["stall_stacks"] == [],
          f"{impl} healthy: no stall at the default 100 ms ({lp['stalls']}; max iteration {lp['iteration_ms_max']} ms)")
    check(r["threshold_ms"] == 100, f"the default threshold is 100 ms ({r['threshold_ms']})")


impls = ["asyncio", "uvloop"] if it.name == "debian" else ["asyncio"]
for impl in impls:
    blocked(impl)
    healthy(impl)

p = subprocess.run([PYBPFCTL, "asyncio", "--pid", "1", "--threshold", "nan"], stderr=subprocess.PIPE, text=True)
check(p.returncode == 2 and "threshold" in p.stderr, f"--threshold nan refused ({p.stderr.strip()})")
print("PASS")
