"""pybpfd, continuous: Python processes started after the daemon are found
from exec events within a second, their windows land in the spool as one
gzip'd pprof per service and window, and a SIGKILL leaves only complete
files behind (every one reads back with go tool pprof)."""
import os
import time

import subprocess

from pybpf_testlib import (Daemon, Pprof, WORKLOADS, check, end, fail, interpreters, spawn_python)

WINDOW = 2


def seen_within(d, pid, limit):
    """Seconds until `pybpfctl ps` lists pid (None past limit)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if any(e["pid"] == pid for e in d.ctl_json("ps")):
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


def spool_by_service(d):
    out = {}
    for f in d.spool_files():
        name = os.path.basename(f)
        out.setdefault(name.rsplit("-", 1)[0], []).append(f)
    return out


def main():
    d = Daemon({"window_s": str(WINDOW)})
    busy = os.path.join(WORKLOADS, "busy.py")
    t_start = time.monotonic()
    a = spawn_python([busy], env={"PYBPF_SERVICE": "svc-alpha"})
    b = spawn_python([busy])  # no variable: the script name, "busy"
    # a Debian 3.13 in its own root, as a container's process looks to the host
    it = interpreters()["3.13"]
    if isinstance(it, str):
        fail(it)
    c = subprocess.Popen(it.cmd(it.workload("busy.py")), stdout=subprocess.DEVNULL)
    try:
        took = seen_within(d, a.pid, 5)
        check(took is not None and time.monotonic() - t_start < 1.0 + 0.5,
              f"a process started after the daemon is profiled within a second (ps after {took} s)")
        check(seen_within(d, b.pid, 5) is not None, "the second one too")
        ps = {e["pid"]: e for e in d.ctl_json("ps")}
        check(ps[a.pid]["service"] == "svc-alpha", f"service from PYBPF_SERVICE: {ps[a.pid]['service']}")
        check(ps[b.pid]["service"] == "busy", f"service from the script name: {ps[b.pid]['service']}")
        check(ps[a.pid]["python"].startswith("3.11"), f"version {ps[a.pid]['python']}")
        check(seen_within(d, c.pid, 5) is not None, "the Python in another root is found too")
        ps = {e["pid"]: e for e in d.ctl_json("ps")}
        check(ps[c.pid]["python"].startswith("3.13") and ps[c.pid]["service"] == "trixie"
              and ps[c.pid]["root"].endswith("/trixie"),
              f"... CPython {ps[c.pid]['python']}, service from its root: {ps[c.pid]['service']}")
        # within one window (plus the tick and the write), each service has a file
        deadline = time.monotonic() + WINDOW + 3
        while time.monotonic() < deadline:
            by = spool_by_service(d)
            if "svc-alpha" in by and "busy" in by and "trixie" in by:
                break
            time.sleep(0.1)
        by = spool_by_service(d)
        check("svc-alpha" in by and "busy" in by and "trixie" in by,
              f"a spool file per service within a window: {sorted(by)}")
        tri = Pprof(by["trixie"][0])
        check(any(l["name"] == "spin" for _, locs, _ in tri.stacks() for l in locs),
              "the 3.13 process's window has spin()")
        prof = Pprof(by["svc-alpha"][0])
        spin = sum(c for c, locs, _ in prof.stacks() if any(l["name"] == "spin" for l in locs))
        check(spin > 0.8 * prof.total(), f"the window is svc-alpha's busy loop: spin {spin} of {prof.total()}")
        pids = {lab.get("pid") for _, _, lab in prof.stacks()}
        check(pids == {str(a.pid)}, f"only pid {a.pid} in svc-alpha's window: {pids}")
        # an exit is followed by the process leaving ps
        end(b)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(e["pid"] == b.pid for e in d.ctl_json("ps")):
            time.sleep(0.1)
        check(all(e["pid"] != b.pid for e in d.ctl_json("ps")), "an exited process leaves ps")
        # SIGKILL at some point of a window: what is in the spool is complete
        time.sleep(WINDOW * 2 + 0.37)
        d.stop(9)
        files = d.spool_files()
        check(len(files) >= 4, f"{len(files)} files written before the SIGKILL")
        for f in files:
            Pprof(f)
        check(True, f"all {len(files)} spool files read back with go tool pprof")
        leftovers = [n for n in os.listdir(d.spool) if not n.endswith(".pb.gz")]
        print(f"temporary files left by the kill: {leftovers}")
        # a restart cleans the temporary files and goes on; with a cap of
        # 1 MB, the oldest files go first (three old 400 kB ones planted)
        for f in d.spool_files():
            os.unlink(f)
        planted = []
        for i in range(3):
            f = os.path.join(d.spool, f"old{i}-20200101T00000{i}Z.pb.gz")
            with open(f, "wb") as fh:
                fh.write(b"\0" * 400_000)
            os.utime(f, (1_600_000_000 + i, 1_600_000_000 + i))
            planted.append(f)
        d2 = Daemon({"window_s": str(WINDOW), "spool_max_mb": "1"}, workdir=d.dir)
        deadline = time.monotonic() + WINDOW + 5
        while time.monotonic() < deadline and os.path.exists(planted[0]):
            time.sleep(0.1)
        check(not os.path.exists(planted[0]) and os.path.exists(planted[2]),
              "beyond spool_max_mb the oldest file is deleted first, the newer stay")
        total = sum(os.path.getsize(f) for f in d2.spool_files())
        check(total <= 1 << 20, f"the spool holds {total} bytes, at most 1 MB")
        left = [n for n in os.listdir(d2.spool) if n.startswith(".tmp-")]
        check(not left, f"a restart removes temporary files: {left}")
        check(d2.stop(15) == 0, "SIGTERM: exit status 0")
        log = d2.log_text()
        check("<6>stopping: flushing the current window" in log, "SIGTERM flushes the window (logged at priority 6)")
        for f in d2.spool_files():
            if f not in planted:
                Pprof(f)
    finally:
        end(a)
        end(b)
        end(c)
        if d.proc.poll() is None:
            d.stop(9)


if __name__ == "__main__":
    main()
