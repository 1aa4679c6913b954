"""No local client can lock pybpfd's interfaces: 200 idle or slow clients of
one user on the control socket, and 200 on the HTTP endpoint, while root's
status, another user's status, /metrics and a pull all keep answering
within 2 s.  The slow ones are cut at their deadline (seconds, not
minutes), a user's connections beyond their share are refused with a
reason, and a client that announces a 64 MiB request pins no memory."""
import json
import os
import socket
import subprocess
import time

from pybpf_testlib import PYTHON, WORKLOADS, Daemon, check, end, make_user, spawn_python

U3, U4 = "pybpft3", "pybpft4"
N = 200
HOLD_S = 14
SLOW = os.path.join(WORKLOADS, "slowclients.py")


def users():
    for u in (U3, U4):
        make_user(u, group="pybpf")


def attack(args, user=None):
    cmd = [PYTHON, SLOW] + [str(a) for a in args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"] + cmd
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    check(line == "ready", f"{N} slow clients connect ({line!r})")
    return p


def result(p):
    out, _ = p.communicate(timeout=HOLD_S + 30)
    return json.loads(out.strip().splitlines()[-1])


def timed(what, fn):
    t0 = time.monotonic()
    ok = fn()
    took = time.monotonic() - t0
    check(ok and took < 2.0, f"{what} answers in {took:.2f} s while they wait")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    users()
    d = Daemon({"socket_group": "pybpf"})
    busy = spawn_python([os.path.join(WORKLOADS, "busy.py")])
    try:
        time.sleep(1)
        # --- the control socket ----------------------------------------------
        p = attack(["unix", d.socket, N, HOLD_S], user=U3)
        time.sleep(0.5)
        timed("root's status", lambda: d.ctl_json("status")["processes"] >= 1)
        timed(f"{U4}'s status", lambda: d.ctl_json("status", user=U4)["processes"] >= 0)
        own = d.ctl("status", user=U3, check_rc=False)
        check(own.returncode == 1 and "too many connections" in own.stderr,
              f"{U3}'s own next client is told why: {own.stderr.strip()}")
        r = result(p)
        held = [e for e in r["ends"]]
        print(f"control: {r['connected']} connected, {r['refused']} refused at once, "
              f"ends {sorted(e for e in held if e is not None)[:3]}..{sorted(e for e in held if e is not None)[-3:]}")
        check(r["refused"] >= N - 8 - 1, f"beyond a user's share, connections are refused with a reason ({r['refused']})")
        check(len(held) <= 8, f"a user holds at most 8 ({len(held)})")
        check(all(e is not None and e < 8 for e in held),
              f"idle and slow ones are cut within seconds ({held})")
        st = d.ctl_json("status")
        check(st["counters"].get("control_busy", 0) >= N - 9,
              f"refusals are counted ({st['counters'].get('control_busy')})")

        # a 64 MiB length prefix, four times: refused before any buffer
        before = rss_kb(d.proc.pid)
        socks = []
        for _ in range(4):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(d.socket)
            s.sendall(b"\x04\x00\x00\x00")
            socks.append(s)
        closed = 0
        for s in socks:
            s.settimeout(3)
            try:
                closed += s.recv(1) == b""
            except OSError:
                closed += 1
            s.close()
        after = rss_kb(d.proc.pid)
        check(closed == 4, f"a 64 MiB request is refused at once ({closed} of 4 closed)")
        check(after - before < 8 * 1024, f"... and pins no memory (RSS {before} -> {after} KiB)")

        # --- the HTTP endpoint -----------------------------------------------
        p = attack(["http", d.port, N, HOLD_S])
        time.sleep(0.5)
        timed("/metrics", lambda: d.http("/metrics", timeout=5)[0] == 200)
        t0 = time.monotonic()
        code, body = d.http(f"/debug/pprof/profile?seconds=1&pid={busy.pid}", timeout=10)
        took = time.monotonic() - t0
        check(code == 200 and len(body) > 0 and took < 1 + 2.0, f"a 1 s pull answers in {took:.2f} s")
        r = result(p)
        ends = r["ends"]
        print(f"http: {r['connected']} connected, ends {sorted(e for e in ends if e is not None)[:3]}..")
        check(r["connected"] == N, f"all {N} connected")
        check(all(e is not None and e < 8 for e in ends),
              f"slow HTTP clients are cut at their deadline (5 s): {sorted(ends, key=lambda e: e or 99)[-3:]}")
        m = d.metrics()
        cut = m[("pybpf_errors_total", (("kind", "pull_timeout"),))]
        check(cut >= N - 1, f"... and counted ({cut})")
        check(d.stop(15) == 0, "SIGTERM: exit 0")
    finally:
        end(busy)
        if d.proc.poll() is None:
            d.stop(9)
        for u in (U3, U4):
            subprocess.run(["userdel", u])


if __name__ == "__main__":
    main()
