"""The views of one profile (profile/view.c), read back with go tool pprof
and from collapsed text, locally and through pybpfd.  By default the
interpreter's own frames (the python binary's, libpython's)
are folded into the Python frame they run, and libz's stay under hot();
--native keeps them (as in round 1); --no-native leaves Python frames only;
--function puts every sample of hot() at its first line, --nolineno at none;
pybpfd's pull profiles and spooled windows fold the same way (config
native = fold).  --threads makes "thread NAME (TID)" the root of each stack (the OS name
until Python's thread names are read: issue 12).  Run
on Debian's python3.11, whose native stacks unwind (its leaf frames in the
stripped binary are named "[python3.11+0x...]")."""
import os
import re
import subprocess
import time

from pybpf_testlib import PYTHON, Daemon, Pprof, WORKLOADS, check, line_of, record, tmpdir

PY = PYTHON
script = os.path.join(WORKLOADS, "views.py")
first_line = line_of(script, "def hot(end):")
hot_lines = {line_of(script, "# HOT LINE A"), line_of(script, "# HOT LINE B")}
d = tmpdir()


def capture(name, args, daemon=None):
    out = os.path.join(d, f"{name}.pb.gz")
    txt = os.path.join(d, f"{name}.txt")
    outs = ["-o", out, "-o", txt] + args
    if daemon:
        daemon.ctl("record", "-q", *outs, "--", PY, script, "3")
    else:
        record(["-r", "499"] + outs, [PY, script, "3"], local=True)
    return Pprof(out), txt


def libpython(loc):
    """A frame of the interpreter's own code (Debian's python3.11 is
    stripped: its code is named by object and offset)."""
    return loc["name"].startswith(("[python3", "_PyEval", "PyObject_", "_PyObject_", "Py_RunMain"))


def python_loc(loc):
    # (go tool pprof -raw splits "<frozen site>" at its space: the file reads "site>")
    return loc["file"].endswith((".py", ">")) or loc["file"].startswith("<")


def special(name):
    """pybpf's own markers ("[native code]", "[no stack]", "[Python stack
    unreadable]"), not a native frame ("[libz.so.1+0x5d80]")."""
    return name.startswith("[") and name.endswith("]") and "+0x" not in name and ".so" not in name


def check_default(prof, how):
    total = prof.total()
    # (a stack with no Python frame, the interpreter starting or ending,
    # has nothing to fold into: it stays as it is)
    interp = sum(c for c, locs, _ in prof.stacks()
                 if any(python_loc(l) for l in locs) and any(libpython(l) for l in locs))
    check(interp == 0, f"{how}: no Python stack has an interpreter frame ({interp} of {total})")
    libz = sum(c for c, locs, _ in prof.stacks() if locs and not python_loc(locs[0]) and
               locs[0]["name"].startswith(("deflate", "longest_match", "fill_window", "[libz", "adler32", "crc32")))
    check(libz > 0.05 * total, f"{how}: libz's frames stay ({libz} of {total})")
    under_hot = sum(c for c, locs, _ in prof.stacks() if locs and not python_loc(locs[0])
                    and any(l["name"] == "hot" for l in locs))
    check(under_hot > 0.05 * total, f"{how}: native leaves sit under hot() ({under_hot} of {total})")
    # a Python stack starts at the thread's first Python frame: no native
    # start-up (clone, start_thread, pythread_wrapper) below it
    rooted = sum(c for c, locs, _ in prof.stacks() if any(python_loc(l) for l in locs) and
                 not python_loc(locs[-1]) and locs[-1]["name"] not in ("[no stack]",))
    check(rooted == 0, f"{how}: no native frame below the first Python one ({rooted} of {total})")


prof, _ = capture("default", [])
check_default(prof, "default")

prof, _ = capture("native", ["--native"])
interp = sum(c for c, locs, _ in prof.stacks() if any(libpython(l) for l in locs))
check(interp > 0.05 * prof.total(), f"--native: the interpreter's frames are there ({interp} of {prof.total()})")

prof, _ = capture("nonative", ["--no-native"])
others = {l["name"] for _, locs, _ in prof.stacks() for l in locs if not python_loc(l)}
check(all(special(n) for n in others), f"--no-native: Python frames only (others: {sorted(others)[:5]})")
hot = sum(c for c, locs, _ in prof.stacks() if locs and locs[0]["name"] == "hot")
check(hot > 0.8 * prof.total(), f"--no-native: hot() is the leaf of {hot} of {prof.total()} samples")

prof, _ = capture("function", ["--function"])
lines = {l["line"] for _, locs, _ in prof.stacks() for l in locs if l["name"] == "hot"}
check(lines == {first_line}, f"--function: hot() at its first line only ({sorted(lines)}, want {first_line})")
prof, _ = capture("lines", ["--no-native"])
lines = {l["line"] for _, locs, _ in prof.stacks() for l in locs if l["name"] == "hot"}
check(hot_lines <= lines, f"by default hot() is at its lines ({sorted(lines)})")

prof, _ = capture("nolineno", ["--nolineno"])
lines = {l["line"] for _, locs, _ in prof.stacks() for l in locs if python_loc(l)}
check(lines == {0}, f"--nolineno: no Python frame has a line ({sorted(lines)[:5]})")

prof, txt = capture("threads", ["--threads"])
roots = {}
with open(txt) as f:
    for line in f:
        if line.strip() and not line.startswith("#"):
            stack, w = line.rstrip("\n").rsplit(" ", 1)
            roots[stack.split(";")[0]] = roots.get(stack.split(";")[0], 0) + int(w)
check(all(re.fullmatch(r"thread .+ \(\d+\)", r) for r in roots),
      f"--threads: every stack has a thread root ({list(roots)[:3]})")
check(max(roots.values()) > 0.9 * sum(roots.values()), f"--threads: the worker thread is the root of its stacks ({roots})")

# through pybpfd: the same views
dm = Daemon()
try:
    prof, _ = capture("d-default", [], dm)
    check_default(prof, "through pybpfd")
    prof, _ = capture("d-nonative", ["--no-native"], dm)
    others = {l["name"] for _, locs, _ in prof.stacks() for l in locs if not python_loc(l)}
    check(all(special(n) for n in others), f"through pybpfd, --no-native: Python frames only ({sorted(others)[:5]})")
    # its pull endpoint and its windows (spool) fold the same way
    w = subprocess.Popen([PY, script, "30"])
    try:
        time.sleep(1.5)
        status, body = dm.http(f"/debug/pprof/profile?seconds=3&pid={w.pid}")
        check(status == 200, f"pull answers ({status})")
        path = os.path.join(d, "pull.pb.gz")
        with open(path, "wb") as f:
            f.write(body)
        check_default(Pprof(path), "pull")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(dm.spool_files()) < 2:
            time.sleep(0.5)
    finally:
        w.kill()
        w.wait()
    spooled = dm.spool_files()
    check(spooled, "pybpfd spooled a window")
    prof = Pprof(spooled[-1])
    interp = sum(c for c, locs, _ in prof.stacks()
                 if any(python_loc(l) for l in locs) and any(libpython(l) for l in locs))
    check(interp == 0, f"a spooled window folds the interpreter's frames too ({interp} of {prof.total()})")
finally:
    check(dm.stop() == 0, "pybpfd stops cleanly")
print("PASS")
