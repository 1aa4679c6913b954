"""-o never replaces what is there: a regular file (or a new path) is
written atomically; `-`, a character device, a FIFO and a symlink's target
are written to in place, locally and through pybpfd.  /dev/null stays the
device, /dev/full says it is full, a FIFO's reader gets the profile, a
symlink stays a symlink and its target gets the bytes."""
import os
import stat
import subprocess
import threading

from pybpf_testlib import PYBPFCTL, WORKLOADS, Daemon, check, end, spawn_python, tmpdir


def record(prefix, pid, out, extra=()):
    cmd = [PYBPFCTL] + prefix + ["record", "-q", "--pid", str(pid), "-d", "1", "-o", out] + list(extra)
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def device(path):
    st = os.stat(path)
    return stat.S_ISCHR(st.st_mode), st.st_rdev


def scenarios(prefix, where, pid):
    d = tmpdir()
    for dev in ("/dev/null", "/dev/full"):
        before = device(dev)
        p = record(prefix, pid, dev)
        after = device(dev)
        check(after == before and after[0], f"{where}: {dev} is still the device ({after})")
        if dev == "/dev/null":
            check(p.returncode == 0, f"{where}: -o /dev/null succeeds ({p.stderr.decode().strip()})")
        else:
            check(p.returncode == 1 and "No space left" in p.stderr.decode(),
                  f"{where}: -o /dev/full says so: {p.stderr.decode().strip()}")

    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo, "rb") as f:
            got["data"] = f.read()

    t = threading.Thread(target=reader)
    t.start()
    p = record(prefix, pid, fifo, ["-f", "pprof"])
    t.join(30)
    check(p.returncode == 0 and got.get("data", b"")[:2] == b"\x1f\x8b",
          f"{where}: a FIFO's reader gets the gzip'd profile ({len(got.get('data', b''))} bytes)")
    check(stat.S_ISFIFO(os.lstat(fifo).st_mode), f"{where}: ... and the FIFO is still a FIFO")

    target = os.path.join(d, "target.txt")
    link = os.path.join(d, "link.txt")
    open(target, "w").close()
    os.symlink(target, link)
    p = record(prefix, pid, link, ["-f", "collapsed"])
    check(p.returncode == 0 and os.path.islink(link) and os.path.getsize(target) > 0,
          f"{where}: a symlink stays one and its target gets the profile ({os.path.getsize(target)} bytes)")

    p = record(prefix, pid, "-", ["-f", "collapsed"])
    check(p.returncode == 0 and b"spin" in p.stdout, f"{where}: -o - writes to stdout")

    plain = os.path.join(d, "plain.pb.gz")
    with open(plain, "w") as f:
        f.write("old")
    ino = os.stat(plain).st_ino
    p = record(prefix, pid, plain)
    check(p.returncode == 0 and os.stat(plain).st_ino != ino and open(plain, "rb").read(2) == b"\x1f\x8b",
          f"{where}: a regular file is replaced whole (a new file renamed over it)")
    leftovers = [n for n in os.listdir(d) if ".tmp" in n]
    check(not leftovers, f"{where}: no temporary file is left ({leftovers})")


busy = spawn_python([os.path.join(WORKLOADS, "busy.py")])
try:
    scenarios(["--no-daemon"], "local", busy.pid)
    daemon = Daemon()
    try:
        import time
        time.sleep(1)
        scenarios(["--socket", daemon.socket], "pybpfd", busy.pid)
    finally:
        daemon.stop()
finally:
    end(busy)
print("PASS")
