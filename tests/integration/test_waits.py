"""GIL and off-CPU tracking on workloads whose answer is known.

Four CPU-bound threads: each one's time on CPU is what its own CPU clock
(time.thread_time, read by the workload every 50 ms, over the window the
report says it covered) says, ± 5 pp (and above it by what the
hypervisor stole while it ran: the switches count that, the clock not); each one's wait for the GIL lies
between the time it was asleep (neither on CPU, as the switches or its
clock say, whichever is more: the hypervisor's steal is in the one, not the
other, nor in the run queue, from /proc/PID/task/TID/schedstat read every
50 ms) and the time its clock did not run, ± 3 pp.  The same with a CPU hog on every CPU beside them (a thread woken
for the GIL that sits in the run queue is still waiting for it; one holding
it that sits there holds it).  The per-thread shares are checked against
the kernel's and the threads' own clocks, not against 75 %: how fairly the
GIL is handed over, and how much of the CPU others take, is not the
profiler's business.
Where the interpreter has take_gil's symbol (pyenv's builds), the exact signal
(uprobes on take_gil) runs too and agrees with the futex signal: per-thread
wait % at most take_gil's, by the thread's run-queue share + 3 pp at most;
for two, whose waits are one switch interval each, the futex share (at least
25 %) and mean wait are at most take_gil's (a sub-span of it), the share
below it by as much as the run queue allows, take_gil's at most what the
thread's clock left, p50 within 15 %; elsewhere
the report says it used the futex signal.  One CPU-bound thread among
sleepers sees no contention.  A thread blocked in recv on a loopback server
that answers late waits on a socket for the share of time it measured itself
(± 10 pp), and the stack names ask_server and the recv line; a thread in
time.sleep waits for "sleep"; a thread blocked on a threading.Lock waits for
"lock", not the GIL.  And `record --mode` writes profiles whose sample types
and reason labels say what they measure."""
import json
import os
import subprocess
import time

from pybpf_testlib import PYBPFCTL, Pprof, SchedClock, check, interp_from_argv, line_of, record

it = interp_from_argv()
script = it.workload("waits.py")
lines = {m: line_of(it.host(script), f"# {m} LINE") for m in ("SPIN", "SLEEP", "LOCK", "RECV")}
DURATION = 4
GIL4_DURATION = 8


def start(mode, seconds):
    d = it.tmpdir()
    out = os.path.join(d, f"{mode}.json")
    proc = subprocess.Popen(it.cmd(script, mode, seconds, out))
    for _ in range(1000):
        if os.path.exists(it.host(out)):
            break
        if proc.poll() is not None:
            check(False, f"workload {mode} exited early ({proc.returncode})")
        time.sleep(0.01)
    time.sleep(0.2)
    ids = json.load(open(it.host(out)))["threads"]
    print(f"{mode}: pid {proc.pid}, threads {ids}")
    return proc, ids, it.host(out)


def ctl(*args):
    p = subprocess.run([PYBPFCTL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=120)
    if p.returncode != 0:
        check(False, f"pybpfctl {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


def finish(proc):
    proc.kill()
    proc.wait()


EXACT = it.name.startswith("pyenv")  # take_gil in .symtab


def cpu_shares(proc, out, t0, t_end):
    """Stop the spinning threads, and give each one's CPU share of the
    capture's window [t0, t_end] (CLOCK_MONOTONIC, as the report gives it)
    as the workload measured it with its own clock."""
    open(out + ".stop", "w").close()
    proc.wait(timeout=30)
    marks = json.load(open(out + ".done"))["cpu"]

    def at(ms, t):  # a thread's CPU clock at monotonic t, interpolated
        for (t0, c0), (t1, c1) in zip(ms, ms[1:]):
            if t0 <= t <= t1:
                return c0 + (c1 - c0) * (t - t0) / max(t1 - t0, 1e-9)
        check(False, f"no CPU clock reading around {t:.3f} ({ms[0][0]:.3f}..{ms[-1][0]:.3f})")

    return {name: 100 * (at(ms, t_end) - at(ms, t0)) / (t_end - t0) for name, ms in marks.items()}


def gil_run(mode, seconds):
    """`gil --json` of a spinning workload, and each thread's own CPU share."""
    # stopped by cpu_shares, not by its clock: pybpfctl may take seconds to
    # start beside a CPU hog (5.6 s seen), and a workload gone before the
    # window's end leaves its end unmeasured
    proc, ids, out = start(mode, seconds + 60)
    sched = SchedClock(proc.pid, ids.values())
    try:
        g = ctl("gil", "--pid", str(proc.pid), "-d", str(seconds), "--json")
        print(json.dumps({k: v for k, v in g.items() if not k.startswith("top")}, indent=1))
        t0, t_end = g["start_monotonic_s"], g["end_monotonic_s"]
        check(t0 < t_end <= time.monotonic() and abs(t_end - t0 - g["seconds"]) < 0.2,
              f"the report says when it ran ({t0:.3f} to {t_end:.3f}, {g['seconds']:.3f} s)")
        sched.stop()
        kernel = {name: sched.share(tid, t0, t_end) for name, tid in ids.items()}
        return g, ids, cpu_shares(proc, out, t0, t_end), kernel, sched.steal(t0, t_end)
    finally:
        sched.stop()
        finish(proc)


def gil4(label):
    g, ids, cpu, kernel, steal = gil_run("gil4", GIL4_DURATION)
    by_tid = {t["tid"]: t for t in g["threads"]}
    for name, tid in ids.items():
        t = by_tid.get(tid)
        check(t is not None, f"{label}{name} (tid {tid}) is in the report")
        # the thread's own CPU clock is the truth of its time on CPU (the
        # sampled figure is within 1 pp here; up to 3.6 pp above it under
        # the sanitizer build, whose pybpfctl takes a CPU of its own)
        # The guest's switches count the time the hypervisor stole while
        # the thread ran as time on CPU; its clock leaves it out: above
        # the clock by up to that share of its time on CPU
        on = t["on_cpu_pct"]
        check(cpu[name] - 5 <= on <= (cpu[name] + 5) / (1 - steal),
              f"{label}{name} is on CPU {on:.1f} % (its own clock: {cpu[name]:.1f} % ± 5; "
              f"the hypervisor stole {100 * steal:.1f} % of the CPUs' time)")
        # a spinning thread sleeps only in the GIL's futex, and never waits
        # for the GIL while its clock runs: its wait lies between the time
        # the kernel saw it asleep and the time its clock did not run (the
        # run queue between: a waiter woken and not yet running still
        # waits; a holder preempted by other work does not).  Asleep is
        # what neither the switches (on CPU as the guest sees it: time the
        # hypervisor stole included, which the thread's clock leaves out)
        # nor the run queue took.  Bounds that hold at any load, where a
        # fixed share (75 % when quiet, 64.6 on a loaded CI machine, lower
        # beside a hog) does not
        _, queued = kernel[name]
        slept = 100 - max(t["on_cpu_pct"], cpu[name]) - queued
        check(slept - 3 <= t["waits_pct"] <= 100 - cpu[name] + 3,
              f"{label}{name} waits for the GIL {t['waits_pct']:.1f} % (asleep {slept:.1f} %, not on CPU "
              f"{100 - cpu[name]:.1f} %, ± 3; run queue {queued:.1f} %, holds {t['holds_pct']:.1f} %)")
        if EXACT:
            # a futex episode is a sub-span of its take_gil call: at most
            # take_gil's, below it by time in take_gil out of the futex,
            # which is run-queue time (0.3-1 pp here, quiet or beside a
            # hog; 5.8 under the sanitizer build's load, 9.4 on a loaded
            # CI machine).  And the futex signal sees waits take_gil does not:
            # drop_gil's lock of the GIL's mutex, which blocks only while
            # the mutex's holder was preempted (beside a hog under the
            # sanitizer build: futex 2.4 pp above take_gil, run queue 28.5 %)
            gap = t["take_waits_pct"] - t["waits_pct"]
            check(-1 - queued / 5 <= gap <= queued + 3,
                  f"{label}{name}: take_gil says {t['take_waits_pct']:.1f} %, the futex signal "
                  f"{t['waits_pct']:.1f} % (below take_gil's by the run queue's {queued:.1f} % + 3 at most, "
                  f"above it by 1 + a fifth of it at most)")
    mean = sum(by_tid[tid]["waits_pct"] for tid in ids.values()) / len(ids)
    print(f"{label}the four wait for the GIL {mean:.1f} % on average (75 when quiet)")
    return g, ids


# four CPU-bound threads
g, ids = gil4("")
by_tid = {t["tid"]: t for t in g["threads"]}
for name, tid in ids.items():
    check("spin" in by_tid[tid]["top_holding_frame"], f"{name}'s top holding frame is spin ({by_tid[tid]['top_holding_frame']})")
check(g["held_pct"] > 85, f"the GIL is held {g['held_pct']:.1f} % of the time")
check(g["contended_pct"] > 70, f"contended {g['contended_pct']:.1f} %")
check(2.5 <= g["avg_waiters"] <= 3.5, f"about three waiters on average ({g['avg_waiters']:.2f})")
check(g["wait_p50_ms"] > 0 and g["wait_max_ms"] >= g["wait_p99_ms"] * 0.5, "wait latencies measured")
check("waiting for the GIL" in g["verdict"], f"verdict: {g['verdict']}")
check(g["top_waiting"] and g["top_waiting"][0]["stack"].startswith("spin ("), "top waiting stack is spin()")
check(g["signal"] == ("take_gil" if EXACT else "futex"), f"signal: {g['signal']}")

# the same with every CPU busy with other work
hogs = [subprocess.Popen(["/usr/bin/python3.11", "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
try:
    gil4("beside a CPU hog: ")
finally:
    for h in hogs:
        finish(h)

# two CPU-bound threads: each wait is one switch interval; both signals agree
if EXACT:
    g, ids, cpu, kernel, _ = gil_run("gil2", DURATION)
    by_tid = {t["tid"]: t for t in g["threads"]}
    for name, tid in ids.items():
        t = by_tid[tid]
        queued = kernel[name][1]
        # a futex episode is a sub-span of its take_gil call: its share
        # is at most take_gil's, below it by time in take_gil out of the
        # futex, which is run-queue time
        gap = t["take_waits_pct"] - t["waits_pct"]
        truth = 100 - cpu[name]
        # (and above it by drop_gil's mutex waits: gil4's bound)
        check(-1 - queued / 5 <= gap <= queued + 3 and 25 <= t["waits_pct"] and t["take_waits_pct"] <= truth + 3,
              f"gil2 {name}: take_gil {t['take_waits_pct']:.1f} %, futex {t['waits_pct']:.1f} % "
              f"(futex at most take_gil's, by the run queue's {queued:.1f} % + 3 at most; at least 25 %; "
              f"take_gil at most 100 - its own clock's {cpu[name]:.1f} % + 3)")
        # the mean wait: time waiting over the waits, not above take_gil's:
        # a take_gil call holds one futex episode or more (but for the
        # counts at a window's ends: +2 % seen).  How far below is not a
        # bound: a call that sleeps twice counts two episodes (futex 10 %
        # more than take_gil's calls on a loaded CI machine); the shares
        # above are
        # Where the futex signal saw fewer episodes than take_gil waits (two
        # waits merge into one when the thread held the GIL between them
        # with no sample or switch to see it: 7.9 % fewer under the
        # sanitizer build's load), its mean is of merged waits, and only the
        # shares above bound it
        futex_ms = 10 * t["waits_pct"] / max(t["acquisitions_per_s"], 1e-9)
        exact_ms = 10 * t["take_waits_pct"] / max(t["take_waits_per_s"], 1e-9)
        merged = t["acquisitions_per_s"] < 0.95 * t["take_waits_per_s"]
        check(merged or futex_ms <= 1.05 * exact_ms,
              f"gil2 {name}: mean wait {futex_ms:.2f} ms, take_gil's {exact_ms:.2f} ms (not above it"
              f"{'; not checked: ' if merged else ', '}{t['acquisitions_per_s']:.1f} episodes a second, "
              f"{t['take_waits_per_s']:.1f} take_gil waits)")
    # the futex signal draws the line between two waits a little
    # earlier than take_gil returns: its median runs 2-10 % low where each
    # call sleeps once.  On a loaded machine a call may sleep twice (woken
    # and beaten to the GIL: 1.8 episodes a call seen), and the median is
    # of episodes, each a sub-span of its call: then only not above it
    p50, exact = g["wait_p50_ms"], g["take_wait_p50_ms"]
    episodes = sum(t["acquisitions_per_s"] for t in g["threads"])
    calls = sum(t["take_waits_per_s"] for t in g["threads"])
    split = episodes > 1.1 * calls
    check(exact > 0 and p50 <= 1.15 * exact and (split or p50 >= 0.85 * exact),
          f"gil2: wait p50 {p50:.2f} ms, take_gil's {exact:.2f} ms (within 15 %"
          f"{'; only not above it: ' if split else ', '}{episodes:.0f} futex episodes a second, "
          f"{calls:.0f} take_gil calls that waited)")

# one CPU-bound thread among sleepers: it never waits, and never sleeps.
# Its time on CPU is not a fixed share: on a loaded machine (the sanitizer
# build's pybpfctl, a hypervisor's steal) it runs 65 % of the time and sits
# in the run queue for the rest.  So it is checked against its own clock,
# and what it did not run is the run queue's, not a sleep
g, ids, cpu, kernel, steal = gil_run("onecpu", DURATION)
print(json.dumps({k: v for k, v in g.items() if not k.startswith("top")}, indent=1))
spin = {t["tid"]: t for t in g["threads"]}[ids["spin0"]]
on, _, queued = spin["on_cpu_pct"], *kernel["spin0"]
check(spin["waits_pct"] < 5, f"the CPU-bound thread waits {spin['waits_pct']:.1f} % (near zero)")
check(cpu["spin0"] - 5 <= on <= (cpu["spin0"] + 5) / (1 - steal),
      f"and runs {on:.1f} % of the time (its own clock: {cpu['spin0']:.1f} % ± 5; "
      f"the hypervisor stole {100 * steal:.1f} % of the CPUs' time)")
slept = 100 - max(on, cpu["spin0"]) - queued
check(slept < 5, f"it does not sleep: {slept:.1f} % neither on CPU nor in the run queue ({queued:.1f} %)")
check(g["contended_pct"] < 5, f"contention near zero ({g['contended_pct']:.1f} %)")
check("waiting for the GIL" not in g["verdict"], f"verdict: {g['verdict']}")

# socket, sleep, lock
proc, ids, out = start("io", DURATION + 60)
try:
    r = ctl("io", "--pid", str(proc.pid), "-d", str(DURATION), "--json")
    open(out + ".stop", "w").close()
    print(json.dumps(r, indent=1)[:4000])
    proc.wait(timeout=30)
    truth = json.load(open(out + ".done"))
    secs = r["seconds"]
    th = {t["tid"]: t["seconds"] for t in r["per_thread"]}
    lost = {k: v for k, v in r["drops"].items() if v}
    check(r["dropped"] == sum(r["drops"].values()), f"the report counts its drops: {r['dropped']} ({lost})")
    asker = th[ids["asker"]]
    share = asker["socket"] / secs
    check(abs(share - truth["recv_share"]) <= 0.10,
          f"asker waits on its socket {share:.3f} of the time (its own measure {truth['recv_share']:.3f} ± 0.10; "
          f"all its time: {asker}; drops: {lost})")
    reasons = {x["reason"]: x for x in r["reasons"]}
    top = reasons["socket"]["top"][0]["stack"]
    check(top.startswith(f"ask_server ({script}:{lines['RECV']})"), f"socket wait stack starts at ask_server's recv: {top}")
    # the whole of the thread's time, and what was lost: a failure says where
    # the rest went
    sleeper = th[ids["sleeper"]]
    check(sleeper["sleep"] / secs > 0.9,
          f"sleeper sleeps ({sleeper['sleep'] / secs:.3f} of {secs:.3f} s; all its time: {sleeper}; drops: {lost})")
    check(any(x["stack"].startswith(f"sleeper ({script}:{lines['SLEEP']})") for x in reasons["sleep"]["top"]),
          "a sleep stack starts at sleeper's time.sleep line")
    locker = th[ids["locker"]]
    check(locker["lock"] / secs > 0.9 and locker["gil"] < 0.01 * secs,
          f"locker waits on a lock ({locker['lock'] / secs:.3f}), not the GIL ({locker['gil']:.4f} s; "
          f"all its time: {locker}; drops: {lost})")
    check(reasons["lock"]["top"][0]["stack"].startswith(f"wait_lock ({script}:{lines['LOCK']})"),
          "lock wait stack starts at wait_lock's acquire line")
finally:
    finish(proc)

# profiles by mode
d = it.tmpdir()
for mode, vtype, want in (("gil", "gil_wait", {"gil"}), ("offcpu", "off_cpu", {"sleep"}),
                          ("wall", "wall", {"cpu", "sleep"})):
    out = it.host(os.path.join(d, f"{mode}.pb.gz"))
    wl = "gil4" if mode == "gil" else "onecpu"
    summary = record(["--mode", mode, "-r", "199", "-o", out], it.cmd(script, wl, 3, os.path.join(d, f"{mode}.json")))
    prof = Pprof(out)
    check(f"samples/count {vtype}/nanoseconds" in prof.text, f"--mode {mode}: sample type {vtype}/nanoseconds")
    reasons = {s["labels"].get("reason") for s in prof.samples}
    check(want <= reasons, f"--mode {mode}: reason labels {sorted(r for r in reasons if r)} include {sorted(want)}")
    if mode == "gil":
        check(reasons == {"gil"}, "--mode gil holds only GIL waits")
        total_s = sum(s["value"] for s in prof.samples) / 1e9
        check(total_s > 3 * 4 * 0.6 * 0.75, f"GIL wait time {total_s:.1f} s across four threads in 3 s")
print("PASS")
