"""pybpfd's event loop metrics (event_loops = true; off by default): a loop
blocked every 200 ms for 50 ms, by time.sleep and by a CPU burn
(tests/workloads/loop.py, 6 s), under a daemon whose threshold is 30 ms:
/metrics gives its service pybpf_event_loop_stalls_total within ±20 % of
the workload's own count of blocks, as many iterations as its tickers
make (more than 100 a second), and a busy-time histogram whose count is
the iterations, whose buckets only grow, whose blocks lie above 25 ms and
below 250 ms, and whose sum holds the time blocked and is less than the
run.  A second run adds to the counters (they never go back).  And each
window's profile has a third sample type, "stall" (nanoseconds of stall by
stack, samples that weigh nothing else): the sleeper's blocks under
sleeper() with reason sleep, the burner's under burn() with reason cpu,
each within ±20 % of the workload's own time blocked that way."""
import json
import os
import subprocess
import time

from pybpf_testlib import PYTHON, WORKLOADS, Daemon, Pprof, check, tmpdir

SECONDS = 6
script = os.path.join(WORKLOADS, "loop.py")


def run(d):
    out = os.path.join(tmpdir(), "block.json")
    proc = subprocess.Popen([PYTHON, script, "block", "asyncio", str(SECONDS), out, "3"],
                            env=dict(os.environ, PYBPF_SERVICE="loop"))
    for _ in range(1000):
        if os.path.exists(out) or proc.poll() is not None:
            break
        time.sleep(0.05)
    check(os.path.exists(out), "the workload's loop ran to its end")
    time.sleep(2.5)  # two ticks: the counters of its last second are in
    m = d.metrics()
    proc.wait(timeout=30)
    return m, json.load(open(out))["blocks"], proc.pid


def stall_time(d, pid):
    """(function under the leaf: sleeper or burn, reason) -> stall ns of
    pid in the spooled windows; and whether every stall sample weighs
    nothing else"""
    got, only_stall = {}, True
    for path in d.spool_files():
        prof = Pprof(path)
        for s in prof.samples:
            if s["stall"] == 0 or s["labels"].get("pid") != str(pid):
                continue
            only_stall &= s["count"] == 0 and s["value"] == 0
            names = [prof.locations[i]["name"] for i in s["locs"]]
            fn = next((n for n in names if n in ("burn", "sleeper")), "?")
            key = (fn, s["labels"].get("reason", ""))
            got[key] = got.get(key, 0) + s["stall"]
    return got, only_stall


def figures(m):
    get = lambda name, **lab: m.get((name, tuple(sorted(lab.items()))))
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in m.items()
                     if k[0] == "pybpf_event_loop_busy_seconds_bucket" and dict(k[1]).get("service") == "loop")
    return (get("pybpf_event_loop_stalls_total", service="loop"),
            get("pybpf_event_loop_iterations_total", service="loop"),
            get("pybpf_event_loop_busy_seconds_count", service="loop"),
            get("pybpf_event_loop_busy_seconds_sum", service="loop"), buckets)


d = Daemon(conf={"event_loops": "true", "event_loop_threshold_ms": "30"})
try:
    d.ctl("status")
    m, blocks, pid = run(d)
    stalls, iters, count, busy, buckets = figures(m)
    print(f"stalls {stalls}, iterations {iters}, histogram count {count}, sum {busy}, {len(blocks)} blocks")
    check(stalls is not None and abs(stalls - len(blocks)) <= 0.2 * len(blocks) and len(blocks) >= 40,
          f"stalls_total {stalls}: the workload blocked {len(blocks)} times (± 20 %)")
    check(iters is not None and iters > 100 * SECONDS, f"iterations_total {iters} (tickers every 5 ms)")
    check(count == iters, f"the histogram counts every iteration ({count} / {iters})")
    values = [v for _, v in buckets]
    check(len(buckets) == 12 and values == sorted(values) and buckets[-1] == (float("inf"), count),
          f"12 cumulative buckets, +Inf the count ({buckets})")
    le = dict(buckets)
    check(count - le[0.025] >= 0.8 * len(blocks) and le[0.25] == count,
          f"the blocks lie between 25 ms ({count - le[0.025]:.0f} above) and 250 ms ({count - le[0.25]:.0f} above)")
    blocked = sum(b[2] - b[1] for b in blocks)
    check(blocked <= busy < SECONDS + 3, f"busy seconds {busy:.2f}: at least the {blocked:.2f} s blocked, "
                                          f"less than the run")
    time.sleep(2.5)  # the window of its end spooled
    got, only_stall = stall_time(d, pid)
    print(f"stall ns by (function, reason) in the windows: {got}")
    for kind, fn, reason in (("sleep", "sleeper", "sleep"), ("cpu", "burn", "cpu")):
        want = sum(b[2] - b[1] for b in blocks if b[0] == kind) * 1e9
        have = got.get((fn, reason), 0)
        check(abs(have - want) <= 0.2 * want and want > 0,
              f"the windows' stall type: {have / 1e9:.3f} s under {fn}() for {reason}, the workload blocked "
              f"{want / 1e9:.3f} s by {kind} (± 20 %)")
    check(only_stall, "stall samples have no count and no value (nothing else weighs them)")
    m2, blocks2, _ = run(d)
    stalls2, iters2, _, _, _ = figures(m2)
    check(stalls2 >= stalls + 0.8 * len(blocks2) and iters2 > iters,
          f"a second run adds to the counters (stalls {stalls} -> {stalls2}, +{len(blocks2)} blocks)")
finally:
    d.stop()
print("PASS")
