"""pybpfctl dump --locals: each frame's arguments and locals, as short
reprs read from the target's memory.  A thread stopped three frames deep
(tests/workloads/locals.py) holds one value of each kind shown (str with
quotes, escapes and non-ASCII, bytes, small, negative, 100-bit and
5001-digit ints, floats, bools, None, nested and long lists, tuples, dicts,
sets, frozensets, empty ones) and objects built to mislead a reader (a str
subclass, a class that calls itself str, a dict of a million keys, a list
that holds itself, a string of 1000 characters): every variable's repr,
parameter flag and kind (local, cell, free) is what the workload computed
from Python's own repr and ids, capped as the dump caps them.  Meanwhile
a thread frees and rebuilds containers as fast as it can, and 20 dumps of
the process all parse and agree on the stopped thread.  Through pybpfd the
dump is the same."""
import json
import os
import subprocess
import time

from pybpf_testlib import PYBPFCTL, Daemon, check, interp_from_argv

it = interp_from_argv()
script = it.workload("locals.py")
out = it.tmpdir() + "/truth.json"
proc = subprocess.Popen(it.cmd(script, out))


def dump(*via):
    cmd = list(via) or [PYBPFCTL]
    p = subprocess.run(cmd + ["dump", "--pid", str(proc.pid), "--locals", "--json"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    check(p.returncode == 0, f"dump --locals exited 0 ({p.stderr.strip()})")
    return json.loads(p.stdout)


def compare(d, truth, how):
    """Every expected variable of each function, as expected."""
    holder = [t for t in d["threads"] if t["tid"] == truth["tid"]]
    check(len(holder) == 1, f"{how}the stopped thread {truth['tid']} is in the dump")
    frames = {f["name"].split(".")[-1]: f for f in holder[0]["frames"]}
    bad = []
    for fn, want in truth["frames"].items():
        check(fn in frames, f"{how}{fn}() is on the stopped thread's stack")
        got = {v["name"]: v for v in frames[fn]["locals"]}
        for name, w in want.items():
            g = got.get(name)
            if not g or (g["repr"], g["arg"], g["kind"]) != (w["repr"], w["arg"], w["kind"]):
                bad.append((fn, name, w, g))
    for b in bad:
        print("mismatch:", b)
    n = sum(len(w) for w in truth["frames"].values())
    check(not bad, f"{how}{n} variables of {len(truth['frames'])} frames: repr, parameter flag and kind as "
          f"Python has them ({len(bad)} differ)")
    return frames


try:
    for _ in range(1000):
        if os.path.exists(it.host(out)) or proc.poll() is not None:
            break
        time.sleep(0.02)
    time.sleep(0.3)
    check(proc.poll() is None, "workload runs")
    truth = json.load(open(it.host(out)))
    d = dump()
    frames = compare(d, truth, "")
    inner = {v["name"]: v for v in frames["inner"]["locals"]}
    check(all(len(v["repr"]) <= 120 for f in frames.values() for v in f["locals"]),
          "no repr is longer than 120 characters")
    check(inner["million"]["type"] == "dict" and inner["sub"]["type"] == "MyStr" and inner["fake"]["type"] == "str",
          f"types as the objects say ({inner['million']['type']}, {inner['sub']['type']}, {inner['fake']['type']})")
    check(frames["inner"]["locals_total"] == len(frames["inner"]["locals"]), "every variable of inner() shown")
    text = subprocess.run([PYBPFCTL, "dump", "--pid", str(proc.pid), "--locals"], stdout=subprocess.PIPE,
                          text=True, timeout=60).stdout
    check("        Arguments:\n            count = 3\n" in text and "            tag = 'outer'\n" in text,
          "the text dump lists Arguments and Locals under each frame")
    # the churning thread's variables come and go while they are read
    for i in range(20):
        compare(dump(), truth, f"dump {i + 1} beside the churn: ")
    if it.name == "debian":
        daemon = Daemon()
        try:
            daemon.ctl("status")  # it answers on its socket: the dump below is its
            compare(dump(PYBPFCTL, "--socket", daemon.socket), truth, "through pybpfd: ")
        finally:
            daemon.stop()
finally:
    proc.kill()
    proc.wait()
print("PASS")
