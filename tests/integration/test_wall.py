"""Wall time adds up.  Threads that come and go (0.1 s each, one at a time,
beside a sleeping main thread) are charged only while they live: the wall
profile of a 4 s capture holds at most (threads alive) x 4 s, nothing of
`other` under do_exit, and the threads keep their names after they are gone.
And the same process recorded through pybpfd and with --no-daemon, at the
same time, gives the same wall profile (total and per thread within 5 %)
and the same io report (each thread's time by reason within 5 pp, pybpfd's
span inside the local one's once that one measures)."""
import json
import os
import signal
import subprocess
import threading
import time

from pybpf_testlib import PYBPFCTL, PYTHON, WORKLOADS, Daemon, Pprof, check, fail, record, tmpdir, wait_measuring

SECONDS = 4


def start(script, seconds):
    d = tmpdir()
    ready = os.path.join(d, "ready")
    p = subprocess.Popen([PYTHON, os.path.join(WORKLOADS, script), str(seconds), ready])
    for _ in range(500):
        if os.path.exists(ready):
            return p, d
        time.sleep(0.01)
    fail(f"{script} did not start")


def per_thread(prof):
    out = {}
    for s in prof.samples:
        tid = s["labels"].get("thread_id", "?")
        out[tid] = out.get(tid, 0) + s["value"]
    return out


# --- short-lived threads ---------------------------------------------------------
w, d = start("shortthreads.py", SECONDS + 30)
try:
    out = os.path.join(d, "short.pb.gz")
    summary = record(["--pid", str(w.pid), "-d", str(SECONDS), "-m", "wall", "-o", out], local=True)
finally:
    w.kill()
    w.wait()
prof = Pprof(out)
total_s = sum(s["value"] for s in prof.samples) / 1e9
# main (asleep), the spawner (in join) and one short thread at a time.  Off
# CPU, time is measured; on CPU it is samples x period, which is off by the
# sampling's own noise (about the square root of the samples, in periods):
# the bound allows twice that, where a dead thread charged for the rest of
# the capture would add seconds
alive = 3
cpu = [s for s in prof.samples if s["labels"].get("reason") == "cpu"]
noise_s = 2 * (sum(s["count"] for s in cpu) ** 0.5) / summary["rate_hz"]
check(total_s <= alive * summary["duration_s"] + 0.05 + noise_s,
      f"wall total {total_s:.2f} s <= {alive} threads x {summary['duration_s']:.2f} s "
      f"(+ {noise_s:.2f} s of sampling noise)")
check(total_s >= (alive - 0.5) * summary["duration_s"], f"... and the threads are all there ({total_s:.2f} s)")
exit_other = 0
for s in prof.samples:
    names = {prof.locations[i]["name"] for i in s["locs"]}
    if "do_exit" in names or "do_task_dead" in names:
        exit_other += s["value"]
check(exit_other < 0.01 * total_s * 1e9, f"no time charged under do_exit ({exit_other / 1e9:.3f} s)")
names = {s["labels"].get("thread_name", "") for s in prof.samples}
shorts = {n for n in names if n.startswith("short-")}
nameless = {n for n in names if n.startswith("tid ")}
check(len(shorts) >= 20, f"short threads keep their names after they exit ({len(shorts)} names)")
check(not nameless, f"no thread is left nameless ({sorted(nameless)[:5]})")

# --- through pybpfd and without it, at once -------------------------------------------
daemon = Daemon()
try:
    w, d = start("mixed.py", SECONDS + 30)
    try:
        local_out, remote_out = os.path.join(d, "local.pb.gz"), os.path.join(d, "daemon.pb.gz")
        res = {}

        def remote():
            p = daemon.ctl("record", "--pid", str(w.pid), "-d", str(SECONDS), "-m", "wall", "-o", remote_out, "-q")
            res["rc"] = p.returncode

        t = threading.Thread(target=remote)
        t.start()
        record(["--pid", str(w.pid), "-d", str(SECONDS), "-m", "wall", "-o", local_out], local=True)
        t.join()
    finally:
        w.kill()
        w.wait()
    lp, rp = Pprof(local_out), Pprof(remote_out)
    lt, rt = per_thread(lp), per_thread(rp)
    ltot, rtot = sum(lt.values()), sum(rt.values())
    print(f"local {ltot / 1e9:.2f} s over {len(lt)} threads, pybpfd {rtot / 1e9:.2f} s over {len(rt)}")
    check(abs(rtot - ltot) <= 0.05 * ltot, f"total wall time: pybpfd {rtot / 1e9:.2f} s, local {ltot / 1e9:.2f} s")
    check(set(lt) == set(rt), f"the same threads ({sorted(lt)} / {sorted(rt)})")
    for tid in lt:
        check(abs(rt.get(tid, 0) - lt[tid]) <= 0.05 * lt[tid],
              f"thread {tid}: pybpfd {rt.get(tid, 0) / 1e9:.2f} s, local {lt[tid] / 1e9:.2f} s")

    # the io report, both ways at once: the same time by thread and reason.
    # The local one first, until stopped: pybpfd's span lies inside its
    # steady part, not over its start-up (loading its programs takes a CPU
    # for a second or more, which shifts the workload's threads' time
    # between GIL and their own waits by several points while it lasts)
    w, d = start("mixed.py", SECONDS + 90)
    try:
        loc = subprocess.Popen([PYBPFCTL, "--no-daemon", "io", "--pid", str(w.pid), "-d", "80", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_measuring(loc, w.pid)
        time.sleep(0.5)  # its span begun (registered, then its sleepers seeded)
        p = daemon.ctl("io", "--pid", str(w.pid), "-d", str(SECONDS), "--json")
        loc.send_signal(signal.SIGINT)  # it reports what it measured until now
        out, err = loc.communicate(timeout=60)
        check(loc.returncode == 0 and p.returncode == 0, f"io reports ({err.strip()} / {p.stderr.strip()})")
        local_io, remote_io_ = json.loads(out), json.loads(p.stdout)
    finally:
        w.kill()
        w.wait()
    # the local span begins once its process is registered and its sleeping
    # threads seeded (a moment after the map entry wait_measuring sees)
    overlap = (min(local_io["end_monotonic_s"], remote_io_["end_monotonic_s"])
               - max(local_io["start_monotonic_s"], remote_io_["start_monotonic_s"]))
    span = remote_io_["end_monotonic_s"] - remote_io_["start_monotonic_s"]
    check(overlap >= 0.95 * span,
          f"pybpfd's io span lies in the local one's ({remote_io_['start_monotonic_s']:.2f}.."
          f"{remote_io_['end_monotonic_s']:.2f} in {local_io['start_monotonic_s']:.2f}.."
          f"{local_io['end_monotonic_s']:.2f}: {overlap:.2f} of {span:.2f} s)")

    def shares(r):
        """each thread's time by reason, as shares of the report's span"""
        return {(t["tid"], reason): v / r["seconds"] for t in r["per_thread"] for reason, v in t["seconds"].items()}

    ls_, rs_ = shares(local_io), shares(remote_io_)
    print(f"io local over {local_io['seconds']:.2f} s, pybpfd over {remote_io_['seconds']:.2f} s")
    for k, v in sorted(ls_.items()):
        if v < 0.05:
            continue
        check(abs(rs_.get(k, 0) - v) <= 0.05, f"io: thread {k[0]} {k[1]}: pybpfd {rs_.get(k, 0):.3f}, local {v:.3f} of the time")
finally:
    daemon.stop()
print("PASS")
