"""pybpfctl dump --native: each thread's native frames interleaved with its
Python frames, as record folds them.  A Python callback run by libc's qsort
through ctypes (tests/workloads/native.py), blocked in time.sleep, and then
spinning on the CPU: the dump reads, innermost first, libc's sleep (asleep;
spinning, what the interpreter calls, if anything), cmp at its line, the callback's way in (libffi), qsort_r (libc),
the way out of Python into C (libffi's ffi_call, _ctypes), then
sort_with_qsort at its qsort line and <module>: every Python frame where
the plain dump has it, no frame of the interpreter itself (the python
binary, libpython: folded), the thread held still for the read and running
on after it (no tracer left).  Through pybpfd the dump is the same; the
text dump marks native frames; --native --nonblocking is refused."""
import json
import os
import subprocess
import time

from pybpf_testlib import PYBPFCTL, Daemon, check, interp_from_argv, line_of

it = interp_from_argv()
script = it.workload("native.py")
lines = {m: line_of(it.host(script), f"# {m} LINE") for m in ("SLEEP", "SPIN", "QSORT", "LOOP")}


def start(mode):
    ready = it.tmpdir() + "/ready.json"
    proc = subprocess.Popen(it.cmd(script, mode, 120, ready))
    for _ in range(1000):
        if os.path.exists(it.host(ready)) or proc.poll() is not None:
            break
        time.sleep(0.02)
    check(proc.poll() is None and os.path.exists(it.host(ready)), f"{mode}: the callback runs")
    time.sleep(0.2)
    return proc, json.load(open(it.host(ready)))["tid"]


def dump(proc, *args, via=(PYBPFCTL,)):
    p = subprocess.run(list(via) + ["dump", "--pid", str(proc.pid), "--json"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    check(p.returncode == 0, f"dump {' '.join(args)} exited 0 ({p.stderr.strip()})")
    return json.loads(p.stdout)


def thread(d, tid):
    ts = [t for t in d["threads"] if t["tid"] == tid]
    check(len(ts) == 1, f"thread {tid} is in the dump")
    return ts[0]


def base(path):
    return path.rsplit("/", 1)[-1]


def index(frames, what, pred, after=-1):
    for i, f in enumerate(frames):
        if i > after and pred(f):
            return i
    print(json.dumps(frames, indent=1))
    check(False, f"{what} below frame {after}")


def native_in(lib, name=""):
    return lambda f: f["kind"] == "native" and base(f["module"]).startswith(lib) and name in f["name"]


def python(name, line):
    return lambda f: f["kind"] == "python" and f["name"] == name and f["line"] == line


def check_stack(proc, tid, mode, how=""):
    d = dump(proc, "--native", via=via)
    t = thread(d, tid)
    frames = t["frames"]
    print(how + " <- ".join(f"{f['name']}" + (f" ({base(f['module'])})" if f["kind"] == "native" else "")
                            for f in frames))
    check(t.get("native_error") is None, f"{how}{mode}: native frames read ({t.get('native_error')})")
    check(t["stopped"], f"{how}{mode}: the thread was held still for the read")
    # spinning, it may be caught on the loop's own lines too (its test, its if)
    at = {lines["SLEEP"]} if mode == "sleep" else set(range(lines["LOOP"], lines["SPIN"] + 1)) - {lines["SLEEP"]}
    i = index(frames, f"{how}{mode}: cmp at its {mode} line",
              lambda f: f["kind"] == "python" and f["name"] == "cmp" and f["line"] in at)
    if mode == "sleep":  # the sleep's own frames, libc's (one or more)
        leaf = [base(f["module"]) for f in frames[:i] if f["kind"] == "native"]
        check(i >= 1 and len(leaf) == i and all(m.startswith("libc") for m in leaf),
              f"{how}sleep: the frames inside cmp are libc's ({leaf})")
    else:  # caught in Python, or in what the interpreter calls (ld.so's __tls_get_addr)
        check(all(f["kind"] == "native" for f in frames[:i]),
              f"{how}spin: cmp is the innermost Python frame ({[f['name'] for f in frames[:i]]} inside it)")
    j = index(frames, f"{how}{mode}: libffi's closure", native_in("libffi"), i)
    k = index(frames, f"{how}{mode}: libc's qsort_r", native_in("libc", "qsort"), j)
    m = index(frames, f"{how}{mode}: ffi_call", native_in("libffi"), k)
    n = index(frames, f"{how}{mode}: sort_with_qsort at its qsort line",
              python("sort_with_qsort", lines["QSORT"]), m)
    index(frames, f"{how}{mode}: <module>", lambda f: f["kind"] == "python" and f["name"] == "<module>", n)
    interp = [f["name"] for f in frames if f["kind"] == "native" and
              (base(f["module"]).startswith("python") or base(f["module"]).startswith("libpython"))]
    check(not interp, f"{how}{mode}: no frame of the interpreter itself ({interp[:3]})")
    check(all(f["address"].startswith("0x") for f in frames if f["kind"] == "native"),
          f"{how}{mode}: native frames carry their addresses")
    # the Python frames are those of the plain dump
    plain = [(f["name"], f["line"]) for f in thread(dump(proc, via=via), tid)["frames"]]
    pys = [(f["name"], f["line"]) for f in frames if f["kind"] == "python"]
    check(pys == plain, f"{how}{mode}: the Python frames are the plain dump's ({pys} / {plain})")
    return [(f["kind"], f["name"]) for f in frames]


for mode in ("sleep", "spin"):
    proc, tid = start(mode)
    try:
        via = (PYBPFCTL,)
        local = check_stack(proc, tid, mode)
        status = open(f"/proc/{proc.pid}/status").read()
        tracer = [x for x in status.splitlines() if x.startswith("TracerPid:")]
        check(tracer == ["TracerPid:\t0"], f"{mode}: no tracer left ({tracer})")
        time.sleep(0.2)
        state = open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()[0]
        check(state in ("R", "S"), f"{mode}: it runs on ({state})")
        if mode == "sleep":
            text = subprocess.run([PYBPFCTL, "dump", "--pid", str(proc.pid), "--native"], stdout=subprocess.PIPE,
                                  text=True, timeout=60).stdout
            check(any("qsort" in x and "[native 0x" in x for x in text.splitlines()),
                  "the text dump marks native frames")
            p = subprocess.run([PYBPFCTL, "dump", "--pid", str(proc.pid), "--native", "--nonblocking"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
            check(p.returncode == 2 and "nonblocking" in p.stderr, f"--native --nonblocking refused ({p.stderr.strip()})")
            if it.name in ("debian", "3.13"):
                daemon = Daemon()
                try:
                    daemon.ctl("status")  # it answers: the dump below is its
                    via = (PYBPFCTL, "--socket", daemon.socket)
                    remote = check_stack(proc, tid, mode, "through pybpfd: ")
                    check(remote == local, "through pybpfd the same frames")
                finally:
                    daemon.stop()
    finally:
        proc.kill()
        proc.wait()
print("PASS")
