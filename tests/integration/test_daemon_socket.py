"""pybpfd's control socket: a user of the group pybpf profiles their own
process through it and is refused another user's; a user outside the group
cannot use the socket; root sees everything."""
import grp
import os
import pwd
import subprocess
import time

from pybpf_testlib import Daemon, Pprof, WORKLOADS, check, end, fail, make_user, spawn_python, tmpdir

U1, U2 = "pybpft1", "pybpft2"


def main():
    make_user(U1, group="pybpf")
    make_user(U2)
    procs = []
    d = None
    try:
        d = Daemon({"socket_group": "pybpf"})
        st = os.stat(d.socket)
        check(oct(st.st_mode & 0o777) == "0o660" and st.st_gid == grp.getgrnam("pybpf").gr_gid,
              f"socket mode {oct(st.st_mode & 0o777)}, group {grp.getgrgid(st.st_gid).gr_name}")
        busy = os.path.join(WORKLOADS, "busy.py")
        p1 = spawn_python([busy], user=U1, env={"PYBPF_SERVICE": "u1-app"})
        p2 = spawn_python([busy], user=U2)
        p0 = spawn_python([busy])
        procs = [p1, p2, p0]
        out = tmpdir()
        os.chown(out, pwd.getpwnam(U1).pw_uid, pwd.getpwnam(U1).pw_gid)
        time.sleep(1)
        own = os.path.join(out, "own.pb.gz")
        p = d.ctl("record", "--pid", str(p1.pid), "-d", "2", "-o", own, "--json", "-q", user=U1)
        check('"via": "pybpfd"' in p.stdout, "a group member records their own process through the daemon")
        prof = Pprof(own)
        check(any(l["name"] == "spin" for _, locs, _ in prof.stacks() for l in locs),
              f"the profile reads back: {prof.total()} samples with spin()")
        for other, who in ((p2, U2), (p0, "root")):
            p = d.ctl("record", "--pid", str(other.pid), "-d", "1", "-o", own + ".x", user=U1,
                      check_rc=False)
            check(p.returncode == 1 and "belongs to uid" in p.stderr,
                  f"{U1} is refused {who}'s process: {p.stderr.strip()}")
        p = d.ctl("dump", "--pid", str(p2.pid), user=U1, check_rc=False)
        check(p.returncode == 1 and "belongs to uid" in p.stderr, "dump of another user's process refused")
        p = d.ctl("dump", "--pid", str(p1.pid), user=U1)
        check("spin" in p.stdout, "dump of their own process works")
        ps = d.ctl_json("ps", user=U1)
        check([e["pid"] for e in ps] == [p1.pid], f"ps shows a user only their own: {[e['pid'] for e in ps]}")
        check(d.ctl_json("status", user=U1)["processes"] >= 3, "status works for a group member")
        ps_root = {e["pid"] for e in d.ctl_json("ps")}
        check({p0.pid, p1.pid, p2.pid} <= ps_root, "root sees every process")
        p = d.ctl("status", user=U2, check_rc=False)
        check(p.returncode == 1 and "not yours to use" in p.stderr,
              f"outside the group the socket is closed: {p.stderr.strip()}")
        p = d.ctl("record", "--pid", str(p2.pid), "-d", "1", "-o", "/tmp/nope.pb.gz", user=U2,
                  check_rc=False)
        check(p.returncode == 1 and "not allowed to load BPF" in p.stderr,
              f"... and without root it cannot load BPF itself: {p.stderr.strip().splitlines()[-1]}")
        m = d.metrics()
        refused = m[("pybpf_errors_total", (("kind", "control_refused"),))]
        check(refused >= 3, f"refusals are counted: {refused}")
        check(d.stop(15) == 0, "SIGTERM: exit 0")
        check(not os.path.exists(d.socket), "the socket is removed at exit")
    finally:
        for p in procs:
            end(p)
        if d and d.proc.poll() is None:
            d.stop(9)
        for u in (U1, U2):
            subprocess.run(["userdel", u])


if __name__ == "__main__":
    main()
