"""Python's thread names (threading's registry, read with the object reader)
wherever a thread is named: dump (text and --json, "name_from": "python"),
a CPU profile's thread_name label (pprof, locally and through pybpfd) and
the gil report.  The names are longer than the OS keeps, one set after the
thread started, the main thread's too; from 3.14 CPython also sets the OS
name, cut at 15 characters and not changed by a later rename: Python's
must win.  And behind 200 newer threads in the registry (which is read
newest first, each read capped), dump and a profile still name them."""
import json
import os
import subprocess

from pybpf_testlib import PYBPFCTL, Daemon, Pprof, check, fail, interp_from_argv

it = interp_from_argv()
script = it.workload("named.py")


def start(crowd=0):
    p = subprocess.Popen(it.cmd(script, 30, crowd), stdout=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "ready":
        fail("named.py did not start")
    return p, json.loads(p.stdout.readline())


def ctl(*args, daemon=None):
    cmd = [PYBPFCTL] + ([] if daemon else ["--no-daemon"]) + list(args)
    env = dict(os.environ)
    if daemon:
        env["PYBPF_SOCKET"] = daemon.socket
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, env=env)
    check(out.returncode == 0, f"{' '.join(args[:1])} exited 0 ({out.stderr.strip()[:300]})")
    return out.stdout


def labels_by_tid(path):
    names = {}
    for _, _, labels in Pprof(path).stacks():
        names.setdefault(int(labels.get("thread_id", "0")), set()).add(labels.get("thread_name"))
    return names


p, want = start()
try:
    d = json.loads(ctl("dump", "--pid", str(p.pid), "--json"))
    got = {t["tid"]: (t["name"], t["name_from"]) for t in d["threads"]}
    for name, tid in want.items():
        check(got.get(tid) == (name, "python"), f"dump --json: thread {tid} is {name!r} (Python's): {got.get(tid)}")
    text = ctl("dump", "--pid", str(p.pid))
    for name in want:
        check(f'"{name}"' in text, f"dump's text names {name!r}")

    out = os.path.join(it.host(it.tmpdir()), "names.pb.gz")
    ctl("record", "-q", "--pid", str(p.pid), "-d", "2", "-o", out)
    names = labels_by_tid(out)
    for name in ("worker-with-a-long-python-name", "renamed-after-start"):
        check(names.get(want[name]) == {name}, f"pprof thread_name of {want[name]}: {names.get(want[name])}, want {name!r}")

    r = json.loads(ctl("gil", "--pid", str(p.pid), "-d", "2", "--json"))
    rep = {t["tid"]: t.get("name") for t in r.get("per_thread", r.get("threads", []))}
    for name in ("worker-with-a-long-python-name", "renamed-after-start"):
        check(rep.get(want[name]) == name, f"gil report names {want[name]} {rep.get(want[name])!r}, want {name!r}")

    daemon = Daemon()
    try:
        out = os.path.join(it.host(it.tmpdir()), "names-daemon.pb.gz")
        ctl("record", "-q", "--pid", str(p.pid), "-d", "2", "-o", out, daemon=daemon)
        names = labels_by_tid(out)
        for name in ("worker-with-a-long-python-name", "renamed-after-start"):
            check(names.get(want[name]) == {name}, f"through pybpfd: thread_name of {want[name]}: {names.get(want[name])}")
    finally:
        daemon.stop()
finally:
    p.kill()
    p.wait()

p, want = start(200)
try:
    d = json.loads(ctl("dump", "--pid", str(p.pid), "--json"))
    got = {t["tid"]: (t["name"], t["name_from"]) for t in d["threads"]}
    for name, tid in want.items():
        check(got.get(tid) == (name, "python"), f"behind 200 threads: dump names {tid} {name!r}: {got.get(tid)}")
    out = os.path.join(it.host(it.tmpdir()), "names-crowd.pb.gz")
    ctl("record", "-q", "--pid", str(p.pid), "-d", "2", "-o", out)
    names = labels_by_tid(out)
    for name in ("worker-with-a-long-python-name", "renamed-after-start"):
        check(names.get(want[name]) == {name}, f"behind 200 threads: pprof thread_name of {want[name]}: "
              f"{names.get(want[name])}")
finally:
    p.kill()
    p.wait()
print("PASS")
