"""record --subprocesses: a tree of Python processes (tests/workloads/
tree.py: a parent, a multiprocessing child by fork and one by spawn, a
subprocess, a Python under a shell, and an orphan that outlives its parent)
is profiled whole: every process's pid label is in the profile, its samples
are mostly in its own hot function (at least 60 % of them), and it has the
samples its own CPU clock owes while it spun (rate x its CPU seconds, 85 %
to 115 %, the top raised by the share the hypervisor stole meanwhile, which
the sampler's timers count and the clock does not; each spins a quarter of
the time, so that none waits for a CPU: 0.91 to 1.10 here).  The capture
lasts until the orphan, the last of the tree, has ended, and pybpfctl exits
with the command's status.  Started under a shell (record --subprocesses --
sh -c ...), the Pythons below a non-Python root are followed too.  And
--pid PID --subprocesses finds the children already running (their
samples against their clocks read while the capture runs).  `dump
--subprocesses` shows every process of a running tree in its hot function,
locally and through pybpfd, which finds a forked child (a Python that never
execs: gunicorn's and multiprocessing's workers) from the fork itself."""
import json
import os
import subprocess
import time

from pybpf_testlib import PYBPFCTL, PYTHON, WORKLOADS, Daemon, Pprof, SchedClock, check, tmpdir

SECONDS = 2
RATE = 499
script = os.path.join(WORKLOADS, "tree.py")
d = tmpdir()


def hot_shares(path):
    """pid -> [samples, {the hot_ function under the leaf: samples}]."""
    per = {}
    for count, frames, labels in Pprof(path).stacks():
        pid = int(labels.get("pid", "0"))
        fns = per.setdefault(pid, [0, {}])[1]
        per[pid][0] += count
        leaf = next((f["name"] for f in frames if f["name"].startswith("hot_")), "?")
        fns[leaf] = fns.get(leaf, 0) + count
    return per


def check_tree(how, out, truth):
    per = hot_shares(out)
    for fn, pid in truth["pids"].items():
        n, fns = per.get(pid, (0, {}))
        spun = fns.get(fn, 0)
        owed = RATE * truth["cpu"][fn][0]
        # the sampler's timers count time the hypervisor stole, the clock not
        most = (1.15 * owed + 5) / (1 - truth["steal"])
        print(f"{how}{fn} pid {pid}: {n} samples, {fns}; its clock owes {owed:.0f} while it spun", flush=True)
        check(0.85 * owed <= spun <= most,
              f"{how}{fn} (pid {pid}): {spun} samples in {fn}(), its CPU clock owes {owed:.0f} (at most "
              f"{most:.0f} with steal {100 * truth['steal']:.1f} %)")
        check(spun >= 0.6 * n, f"{how}{fn} (pid {pid}): most of its samples are in {fn}() ({spun} of {n})")
    # each process's command line as a label, as /proc had it while it ran
    # (a forked child's its parent's; a spawned one's its own)
    for fn, pid in truth["pids"].items():
        got = {labels.get("cmdline") for _, _, labels in Pprof(out).stacks() if labels.get("pid") == str(pid)}
        want = truth["cmdline"][fn][:255]
        check(got == {want}, f"{how}{fn} (pid {pid}): its samples' cmdline label is its command line "
                             f"({sorted(str(g) for g in got)} / {want!r})")


# a Python tree, started by record
out = os.path.join(d, "tree.pb.gz")
truth_path = os.path.join(d, "tree.json")
p = subprocess.run([PYBPFCTL, "--no-daemon", "record", "--subprocesses", "-r", str(RATE), "-o", out, "--json", "--",
                    PYTHON, script, str(SECONDS), truth_path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                   text=True, timeout=120)
ended = time.monotonic()
print(p.stderr)
check(p.returncode == 0, f"record --subprocesses exits with the command's 0 ({p.returncode})")
summary = json.loads(p.stdout)
truth = json.load(open(truth_path))
check(set(truth["pids"].values()) <= set(summary["pids"]),
      f"the summary lists every Python of the tree ({sorted(truth['pids'].values())} in {summary['pids']})")
# the parent began spinning after the capture began (record starts the
# command once attached), so the capture spans at least parent start ->
# orphan end; pybpfctl's own start-up (seconds on a loaded machine) is not in it
spun_from = truth["cpu"]["hot_parent"][1]
check(truth["orphan_end"] <= ended and summary["duration_s"] >= truth["orphan_end"] - spun_from - 0.1,
      f"the capture lasted until the orphan ended ({summary['duration_s']:.2f} s; the orphan ended "
      f"{truth['orphan_end'] - spun_from:.2f} s after the parent began)")
check_tree("", out, truth)

# the same tree under a shell: the root is no Python
out = os.path.join(d, "shell.pb.gz")
truth_path = os.path.join(d, "shell.json")
p = subprocess.run([PYBPFCTL, "--no-daemon", "record", "--subprocesses", "-q", "-r", str(RATE), "-o", out, "--",
                    "/bin/sh", "-c", f'"{PYTHON}" "{script}" {SECONDS} "{truth_path}"; exit 3'],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
print(p.stderr)
check(p.returncode == 3, f"under a shell: pybpfctl exits with the shell's 3 ({p.returncode})")
check_tree("under a shell: ", out, json.load(open(truth_path)))

# --pid: children that run already are found
truth_path = os.path.join(d, "pid.json")
tree = subprocess.Popen([PYTHON, script, "8", truth_path])
time.sleep(1.5)  # its children up


def descendants(pid):
    out = []
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        kids = []
    for k in kids:
        out += [k] + descendants(k)
    return out


# each process's own clock read while the capture runs (the kernel's
# schedstat, every 50 ms): what its spin costs inside the window, where the
# spin's mean rate would count pybpfctl's start-up, which takes a CPU
tree_pids = [tree.pid] + descendants(tree.pid)
clocks = {pid: SchedClock(pid, [pid]) for pid in tree_pids}
out = os.path.join(d, "pid.pb.gz")
p = subprocess.run([PYBPFCTL, "--no-daemon", "record", "--subprocesses", "-q", "-r", str(RATE), "-o", out, "--pid",
                    str(tree.pid), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
ended = time.monotonic()
for c in clocks.values():
    c.stop()
tree.wait()
print(p.stderr)
check(p.returncode == 0, f"--pid --subprocesses exits 0 ({p.returncode})")
truth = json.load(open(truth_path))
per = hot_shares(out)
began = ended - json.loads(p.stdout)["duration_s"]
for fn in ("hot_parent", "hot_fork", "hot_spawn", "hot_subprocess", "hot_shell"):
    pid = truth["pids"][fn]
    spun = per.get(pid, (0, {}))[1].get(fn, 0)
    # what its clock owes of the part of its spin the capture saw
    cpu, t0, t1 = truth["cpu"][fn]
    check(pid in clocks and clocks[pid].marks[pid], f"--pid: {fn} (pid {pid}) ran before the capture")
    # to its clock's last reading, when it exited first (50 ms at most)
    w0, w1 = max(t0, began), min(t1, ended, clocks[pid].marks[pid][-1][0])
    owed = RATE * clocks[pid].share(pid, w0, w1)[0] / 100 * (w1 - w0)
    check(owed > 0 and 0.85 * owed <= spun <= (1.15 * owed + 5) / (1 - truth["steal"]),
          f"--pid: {fn} (pid {pid}), running before the capture, has {spun} samples in {fn}(); its clock owes "
          f"{owed:.0f} of the {w1 - w0:.1f} s the capture saw")


def dump_tree(how, *via):
    p = subprocess.run(list(via) + ["dump", "--pid", str(tree.pid), "--subprocesses", "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    check(p.returncode == 0, f"{how}dump --subprocesses exits 0 ({p.stderr.strip()})")
    d = json.loads(p.stdout)
    return {x["pid"]: {f["name"] for t in x["threads"] for f in t["frames"]} for x in d["processes"]}


daemon = Daemon()
try:
    truth_path = os.path.join(d, "dump.json")
    tree = subprocess.Popen([PYTHON, script, "6", truth_path])
    time.sleep(2.5)  # every process of it up, and found by pybpfd
    shown = {"": dump_tree("", PYBPFCTL, "--no-daemon"),
             "through pybpfd: ": dump_tree("through pybpfd: ", PYBPFCTL, "--socket", daemon.socket)}
    ps = json.loads(daemon.ctl("ps", "--json").stdout)
    tree.wait()
    truth = json.load(open(truth_path))
    for how, procs in shown.items():
        for fn in ("hot_parent", "hot_fork", "hot_spawn", "hot_subprocess", "hot_shell", "hot_orphan"):
            pid = truth["pids"][fn]
            check(fn in procs.get(pid, ()), f"{how}dump --subprocesses: pid {pid} is in {fn}()")
    check(truth["pids"]["hot_fork"] in {e["pid"] for e in ps},
          f"pybpfd found the forked child {truth['pids']['hot_fork']} (a Python that never exec'd)")
finally:
    daemon.stop()
print("PASS")
