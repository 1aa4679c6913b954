"""A control-socket client that asks for a reply larger than its socket can
hold, and never reads it, holds up nobody: while it sits there (for 6 s),
`pybpfctl status` and `ps` answer within 2 s, /metrics answers, and the
sampler delivers the busy process's samples at the same rate as before
(per CPU second of it, which is what a sampler at a fixed frequency owes:
±5 %, or three sigma of the counts' noise when the machine preempts it).  The daemon's
send buffer is shrunk (PYBPFD_TEST_CTL_SNDBUF) and 80 Python processes with
long command lines make the `ps` reply some 16 KiB."""
import os
import socket
import struct
import subprocess
import time

from pybpf_testlib import Daemon, PYBPFCTL, PYTHON, WORKLOADS, check, end, fail, spawn_python

SLEEPER = "import time\nwhile True: time.sleep(1)\n"


def delivered(d):
    """The busy process's samples (its service's): the 80 sleepers starting
    up take CPU of their own, and their samples are not the subject's."""
    m = d.metrics()
    return m.get(("pybpf_service_samples_total", (("service", "stall"),)), 0.0)


def cpu_s(pid):
    """A process's CPU time so far, in seconds (utime + stime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rate(d, seconds, pid):
    """Samples delivered per CPU second of pid (the one busy process), between
    the first and the last tick seen in `seconds` (the counter moves once per
    tick): what the sampler keeps whatever else the machine runs, where
    samples per wall second follow the CPU the process gets."""
    changes, last, end_at = [], None, time.monotonic() + seconds
    while time.monotonic() < end_at:
        v = delivered(d)
        if v != last:
            changes.append((time.monotonic(), v, cpu_s(pid)))
            last = v
        time.sleep(0.05)
    if len(changes) < 3:
        fail(f"only {len(changes)} ticks seen in {seconds} s")
    (t0, v0, c0), (t1, v1, c1) = changes[1], changes[-1]
    print(f"  {v1 - v0:.0f} samples in {t1 - t0:.2f} s, the busy process on CPU {c1 - c0:.2f} s")
    return (v1 - v0) / max(c1 - c0, 1e-9), v1 - v0


def timed_ctl(d, *args):
    t0 = time.monotonic()
    p = d.ctl(*args, timeout=30)
    return time.monotonic() - t0, p


def stalled_ps_client(path):
    """Connects, asks for ps, and never reads."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(path)
    msg = bytes([0x08, 0x01, 0x1a, 0x00])  # Request{version: 1, ps: {}}
    s.sendall(struct.pack(">I", len(msg)) + msg)
    return s


def main():
    # 499 Hz: enough samples that their noise stays a few per cent
    d = Daemon({"window_s": "2", "rate_hz": "499"}, env={"PYBPFD_TEST_CTL_SNDBUF": "4096"})
    pad = "x" * 200
    sleepers = [subprocess.Popen([PYTHON, "-c", SLEEPER, pad, str(i)], stdout=subprocess.DEVNULL)
                for i in range(80)]
    busy = spawn_python([os.path.join(WORKLOADS, "busy.py")], env={"PYBPF_SERVICE": "stall"})
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(d.ctl_json("ps")) >= 81:
                break
            time.sleep(0.5)
        ps = d.ctl("ps", "--json").stdout
        check(len(ps) > 12000, f"pybpfd profiles the 81 processes; ps is {len(ps)} bytes")
        before, n_before = rate(d, 6, busy.pid)
        print(f"samples delivered before: {before:.1f} per CPU second", flush=True)

        stalled = stalled_ps_client(d.socket)
        time.sleep(1)
        worst = 0.0
        for _ in range(3):
            took, p = timed_ctl(d, "status", "--json")
            worst = max(worst, took)
            took, p = timed_ctl(d, "ps", "--json")
            worst = max(worst, took)
        check(worst < 2, f"status and ps answer while a client stalls (slowest {worst:.2f} s)")
        t0 = time.monotonic()
        d.metrics()
        check(time.monotonic() - t0 < 2, "and /metrics answers")
        during, n_during = rate(d, 6, busy.pid)
        print(f"samples delivered during the stall: {during:.1f} per CPU second", flush=True)
        # a process on a CPU all the time is sampled like clockwork; one the
        # machine's other work preempts, at random phases: then the counts
        # carry a Poisson-like noise, allowed at three sigma (a stalled
        # sampler loses most of its samples, far beyond either)
        tol = max(0.05, 3 * (1 / max(n_before, 1) + 1 / max(n_during, 1)) ** 0.5)
        check(abs(during - before) <= tol * before,
              f"the sampler keeps its rate: {during:.1f} against {before:.1f} samples per CPU second "
              f"(± {100 * tol:.0f} %)")
        stalled.close()
        took, _ = timed_ctl(d, "status")
        check(took < 2, "after the stalled client goes, status still answers")
    finally:
        end(busy)
        for p in sleepers:
            end(p)
        rc = d.stop()
    check(rc == 0, "pybpfd stops cleanly with the client stalled earlier")
    print("PASS")


main()
