"""pybpfd on long runs: stacks not seen for stack_idle_s are forgotten (in
the daemon and in the kernel's maps), and when they come back they are sent
and symbolized again; no sample is lost on the way.  A process runs alpha(),
then beta() long enough for alpha's stacks to be forgotten, then alpha()
again."""
import os
import time

from pybpf_testlib import Daemon, Pprof, WORKLOADS, check, end, spawn_python, tmpdir


def main():
    d = Daemon({"window_s": "3", "stack_idle_s": "2"})
    t0 = time.monotonic()
    p = spawn_python([os.path.join(WORKLOADS, "phases.py"), "alpha:3,beta:10,alpha:8"],
                     env={"PYBPF_SERVICE": "phases"})
    work = tmpdir()
    try:
        m = d.metrics()
        get = lambda m, name, **lab: m.get((name, tuple(sorted(lab.items()))))
        check(get(m, "pybpf_stacks") is not None and get(m, "pybpf_stacks_forgotten_total") is not None,
              "/metrics has pybpf_stacks and pybpf_stacks_forgotten_total")
        time.sleep(max(0.0, t0 + 2.5 - time.monotonic()))
        known_alpha = get(d.metrics(), "pybpf_stacks")
        check(known_alpha >= 1, f"{known_alpha:.0f} stacks known while alpha() runs")
        # beta() from 3 s to 13 s: alpha's stacks unused for 2 s are forgotten
        # at the next sweeps (every 2 s)
        time.sleep(max(0.0, t0 + 10 - time.monotonic()))
        m = d.metrics()
        forgot = get(m, "pybpf_stacks_forgotten_total")
        check(forgot >= 1, f"stacks forgotten while beta() runs: {forgot:.0f} (now {get(m, 'pybpf_stacks'):.0f} known)")
        status, body = d.http(f"/debug/pprof/profile?seconds=1&pid={p.pid}")
        path = os.path.join(work, "beta.pb.gz")
        with open(path, "wb") as f:
            f.write(body)
        prof = Pprof(path)
        names = lambda prof, fn: sum(c for c, locs, _ in prof.stacks() if any(l["name"] == fn for l in locs))
        check(names(prof, "beta") >= 0.8 * prof.total() > 0 and names(prof, "alpha") == 0,
              f"beta() runs: {names(prof, 'beta')} of {prof.total()}, alpha() {names(prof, 'alpha')}")
        # alpha() again from 13 s: its stacks are sent and named again
        time.sleep(max(0.0, t0 + 14 - time.monotonic()))
        status, body = d.http(f"/debug/pprof/profile?seconds=4&pid={p.pid}")
        path = os.path.join(work, "alpha.pb.gz")
        with open(path, "wb") as f:
            f.write(body)
        prof = Pprof(path)
        a = names(prof, "alpha")
        check(a >= 0.9 * prof.total() and prof.total() >= 300,
              f"alpha() back, named again: {a} of {prof.total()} samples")
        unknown = names(prof, "[unknown Python frame]")
        check(unknown == 0, f"no unknown frames ({unknown})")
        m = d.metrics()
        lost = get(m, "pybpf_dropped_samples_total", reason="stack_lost")
        check(lost == 0, f"no sample lost for a forgotten stack (stack_lost {lost:.0f})")
        check(d.stop(15) == 0, "SIGTERM: exit 0")
    finally:
        end(p)
        if d.proc.poll() is None:
            d.stop(9)


if __name__ == "__main__":
    main()
