"""record --gil: only the samples of a thread holding the GIL, locally and
through pybpfd.  Two threads of pure Python (py1, py2) share the GIL, a
third (zlibber) compresses with zlib, which runs without it: without
--gil each thread's share of the samples is its share of the CPU its own
clock counted; with --gil zlibber's samples are gone (it holds the GIL only
between calls) and py1's share of the rest is its clock's share of
py1 + py2's (the GIL's hand-over need not be fair: the truth is the
threads' own clocks, not 50 %), and py1 + py2 keep every sample they owe
(rate x their CPU seconds, up to what a virtual machine's hypervisor stole
meanwhile: the threads' clocks leave it out, the sampler's timers partly
count it)."""
import os

from pybpf_testlib import Daemon, WORKLOADS, capture_workload, check, tmpdir

RATE = 499
SECONDS = 4
script = os.path.join(WORKLOADS, "gilsplit.py")
d = tmpdir()


def capture(name, args, daemon=None):
    _, t, by_tid = capture_workload(d, name, script, SECONDS, RATE, args, daemon)
    samples = {name: by_tid.get(tid, 0) for name, tid in t["threads"].items()}
    print(f"{name}: samples {samples}, own CPU s {t['cpu']}, all {sum(by_tid.values())}", flush=True)
    return samples, t["cpu"], t["steal"], sum(by_tid.values())


def share(part, whole):
    return 100.0 * part / whole if whole else 0.0


def check_all(how, samples, cpu, total):
    own = sum(cpu.values())
    for name in cpu:
        got, want = share(samples[name], total), share(cpu[name], own)
        check(abs(got - want) <= 5, f"{how}: {name} {got:.1f} % of the samples, its clock {want:.1f} %")


def check_gil(how, samples, cpu, steal, total, rate):
    check(share(samples["zlibber"], total) <= 3,
          f"{how}: zlibber (zlib, without the GIL) {share(samples['zlibber'], total):.1f} % of --gil samples")
    py = samples["py1"] + samples["py2"]
    got, want = share(samples["py1"], py), share(cpu["py1"], cpu["py1"] + cpu["py2"])
    check(abs(got - want) <= 5, f"{how}: py1 {got:.1f} % of py1 + py2, its clock {want:.1f} %")
    # owed: their own clocks, and at most all of the time a virtual
    # machine's hypervisor stole meanwhile (the clocks leave it out, the
    # sampler's timers partly count it)
    owed = rate * (cpu["py1"] + cpu["py2"])
    check(0.95 * owed <= py <= 1.05 * owed / (1 - steal),
          f"{how}: py1 + py2 keep their samples: {py}, owed {owed:.0f} (rate x CPU seconds; "
          f"steal {100 * steal:.1f} %)")


samples, cpu, steal, total = capture("all", [])
check_all("without --gil", samples, cpu, total)
samples, cpu, steal, total = capture("gil", ["--gil"])
check_gil("--gil", samples, cpu, steal, total, RATE)

daemon = Daemon(conf={"rate_hz": str(RATE)})
try:
    samples, cpu, steal, total = capture("daemon-gil", ["--gil"], daemon)
    check_gil("pybpfd, --gil", samples, cpu, steal, total, RATE)
finally:
    daemon.stop()
print("ok")
