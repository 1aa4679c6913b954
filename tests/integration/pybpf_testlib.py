"""Shared helpers of the integration tests: which Pythons to profile, running
pybpfctl, and reading its pprof output back with Go's independent reader."""
import glob
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ.get("PYBPF_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(SRC, "build"))
PYBPFCTL = os.path.join(BUILD, "pybpfctl")
WORKLOADS = os.path.join(SRC, "tests", "workloads")
# the workloads' reader of /proc/stat's steal, by path: the workloads'
# directory on sys.path would shadow modules by their names (db, tasks)
_spec = importlib.util.spec_from_file_location("machine", os.path.join(WORKLOADS, "machine.py"))
machine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(machine)


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print(f"ok: {msg}", flush=True)


ROOTS = os.environ.get("PYBPF_ROOTS", "/var/cache/pybpf/roots")


class Interp:
    """One CPython to profile: how to start it, and where its files are.

    Interpreters from Debian roots run with chroot: they are real processes in
    another mount namespace, as a container's are to a host profiler.  Their
    scripts are copied into the root; `visible()` gives a path as the process
    sees it, `host()` the same file from the host."""

    def __init__(self, name, minor, argv, root=""):
        self.name, self.minor, self.argv, self.root = name, minor, list(argv), root

    def host(self, path):
        return self.root + path if self.root else path

    def workload(self, name):
        src = os.path.join(WORKLOADS, name)
        if not self.root:
            return src
        dst = "/opt/pybpf-workloads/" + name
        os.makedirs(os.path.dirname(self.host(dst)), exist_ok=True)
        shutil.copyfile(src, self.host(dst))
        return dst

    def tmpdir(self):
        base = self.host("/tmp")
        os.makedirs(base, exist_ok=True)
        d = tempfile.mkdtemp(prefix="pybpf-test-", dir=base)
        os.chmod(d, 0o777)
        return d[len(self.root):] if self.root else d

    def cmd(self, script, *args):
        return self.argv + [script] + [str(a) for a in args]


PYENV_ROOT = os.path.expanduser(os.environ.get("PYENV_ROOT", "~/.pyenv"))
# pyenv's builds (shared libpython with full symbols, built from CPython's
# sources, not Debian's patches): name -> version
PYENV = {"pyenv3.9": "3.9", "pyenv3.10": "3.10", "pyenv": "3.11", "pyenv3.12": "3.12", "pyenv3.13": "3.13"}


def pyenv_python(minor_version):
    found = sorted(glob.glob(f"{PYENV_ROOT}/versions/{minor_version}.*/bin/python{minor_version}"),
                   key=lambda p: [int(x) for x in re.findall(r"\d+", p.split("/versions/")[1].split("/")[0])])
    return found[-1] if found else None


def interpreters():
    """name -> Interp, or the reason it is missing."""
    embed = os.path.join(BUILD, "tests", "embed_python3.11")
    out = {
        # Debian's python3.11: static, non-PIE, stripped of .symtab
        "debian": Interp("debian", 11, ["/usr/bin/python3.11"]) if os.path.exists("/usr/bin/python3.11")
        else "no /usr/bin/python3.11",
        # Debian's shared libpython3.11.so (stripped) in a program not named python
        "embed": Interp("embed", 11, [embed]) if os.path.exists(embed) else f"{embed} not built",
    }
    for name, version in PYENV.items():
        exe = pyenv_python(version)
        out[name] = (Interp(name, int(version.split(".")[1]), [exe]) if exe else
                     f"no pyenv CPython {version} in {PYENV_ROOT}/versions (scripts/make-pyenv.sh {version} builds one)")
    # Debian's own interpreters of other versions, in roots made by scripts/make-root.sh
    for name, suite, minor in (("3.9", "bullseye", 9), ("3.13", "trixie", 13), ("3.14", "sid", 14), ("3.15", "sid", 15)):
        root = os.path.join(ROOTS, suite)
        binary = f"/usr/bin/python3.{minor}"
        if os.path.exists(root + binary):
            out[name] = Interp(name, minor, ["chroot", root, binary], root)
        else:
            out[name] = f"{root}{binary} missing: scripts/make-root.sh {suite} python3.{minor} was not run or failed"
    return out


class SchedClock:
    """The kernel's own account of threads' time, read every 50 ms while a
    capture runs: on CPU and runnable but waiting for a CPU (the run queue)
    from /proc/PID/task/TID/schedstat; what is left of the wall time the
    thread slept.  share(tid, t0, t1) gives (on-CPU %, run-queue %) over a
    window of CLOCK_MONOTONIC, interpolated."""

    def __init__(self, pid, tids):
        self.paths = {tid: f"/proc/{pid}/task/{tid}/schedstat" for tid in tids}
        self.marks = {tid: [] for tid in tids}
        self.ticks = []  # (monotonic, steal, all) of every CPU (/proc/stat)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _read(self):
        for tid, path in self.paths.items():
            try:
                with open(path) as f:
                    run, wait = (int(x) for x in f.read().split()[:2])
            except (OSError, ValueError):
                continue
            self.marks[tid].append((time.monotonic(), run / 1e9, wait / 1e9))
        self.ticks.append((time.monotonic(),) + machine.cpu_ticks())

    def _poll(self):
        while not self.done.is_set():
            self._read()
            self.done.wait(0.05)

    def stop(self):
        """Stop polling, after one last reading (now: past any window that
        has ended)."""
        if not self.done.is_set():
            self.done.set()
            self.thread.join()
            self._read()

    def share(self, tid, t0, t1):
        ms = self.marks[tid]

        def at(t, k):
            for a, b in zip(ms, ms[1:]):
                if a[0] <= t <= b[0]:
                    return a[k] + (b[k] - a[k]) * (t - a[0]) / max(b[0] - a[0], 1e-9)
            fail(f"no schedstat reading of tid {tid} around {t:.3f} ({len(ms)} readings' span: "
                 f"{ms[0][0] if ms else 0:.3f}..{ms[-1][0] if ms else 0:.3f})")

        span = t1 - t0
        return tuple(100 * (at(t1, k) - at(t0, k)) / span for k in (1, 2))

    def steal(self, t0, t1):
        """The share of the CPUs' time the hypervisor stole, from the last
        reading at or before t0 to the first at or after t1: the threads'
        clocks (and schedstat's run time) leave it out, the guest's switches
        count it as time on CPU."""
        a = max((m for m in self.ticks if m[0] <= t0), default=self.ticks[0])
        b = min((m for m in self.ticks if m[0] >= t1), default=self.ticks[-1])
        return machine.steal_share(a[1:], b[1:])


def interp_from_argv():
    """The interpreter named by argv[1].  One this machine lacks is a failure
    that names it: no interpreter of the matrix vanishes from a run."""
    name = sys.argv[1] if len(sys.argv) > 1 else "debian"
    all_ = interpreters()
    if name not in all_:
        fail(f"unknown interpreter name {name!r}")
    it = all_[name]
    if isinstance(it, str):
        fail(it)
    print(f"interpreter {name}: {' '.join(it.argv)}", flush=True)
    return it


def line_of(path, marker):
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if marker in line:
                return i
    raise AssertionError(f"{marker} not in {path}")


def tmpdir():
    return tempfile.mkdtemp(prefix="pybpf-test-")


def record(args, command=None, timeout=120, local=False):
    """Runs pybpfctl record --json ARGS [-- COMMAND] (local: never through a
    pybpfd); returns its JSON summary."""
    cmd = [PYBPFCTL] + (["--no-daemon"] if local else []) + ["record", "--json", "-q"] + list(args)
    if command:
        cmd += ["--"] + list(command)
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        fail(f"pybpfctl record exited {p.returncode}: {p.stderr.strip()}")
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        fail(f"no JSON summary from pybpfctl: {p.stdout!r}")
    summary = json.loads(lines[-1])
    print("summary: " + json.dumps(summary), flush=True)
    return summary


class Pprof:
    """A profile as `go tool pprof -raw` prints it: samples (count, value,
    [locations leaf first], labels) and locations (name, file, line)."""

    LOC = re.compile(r"^\s*(\d+): (0x[0-9a-f]+)(?: M=\d+)? (.*) (\S*):(-?\d+) s=(-?\d+)")
    # a sample may have no location at all (a stack that could not be read);
    # pybpfd's windows with event-loop stalls have a third value (stall ns)
    SAMPLE = re.compile(r"^\s+(\d+)\s+(\d+)(?:\s+(\d+))?:\s*([\d ]*)$")

    def __init__(self, path):
        env = dict(os.environ)
        env.setdefault("HOME", "/root")
        env.setdefault("GOCACHE", "/tmp/pybpf-gocache")
        p = subprocess.run(["go", "tool", "pprof", "-raw", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, timeout=120)
        if p.returncode != 0:
            fail(f"go tool pprof cannot read {path}: {p.stderr.strip()}")
        self.text = p.stdout
        self.samples = []
        self.locations = {}
        section = None
        for line in p.stdout.splitlines():
            if line.startswith("Samples:"):
                section = "samples"
                continue
            if line.startswith("Locations"):
                section = "locations"
                continue
            if line.startswith("Mappings"):
                section = "mappings"
                continue
            if section == "samples":
                m = self.SAMPLE.match(line)
                if m:
                    self.samples.append({"count": int(m.group(1)), "value": int(m.group(2)),
                                         "stall": int(m.group(3) or 0),
                                         "locs": [int(x) for x in m.group(4).split()], "labels": {}})
                elif self.samples and ":[" in line:
                    for k, v in re.findall(r"(\w+):\[([^\]]*)\]", line):
                        self.samples[-1]["labels"][k] = v
            elif section == "locations":
                m = self.LOC.match(line)
                if m:
                    self.locations[int(m.group(1))] = {"addr": int(m.group(2), 16), "name": m.group(3),
                                                       "file": m.group(4), "line": int(m.group(5))}
        if not self.samples:
            fail(f"{path}: go tool pprof shows no samples")

    def stacks(self):
        """(count, [location dicts leaf first], labels) per sample."""
        for s in self.samples:
            yield s["count"], [self.locations[i] for i in s["locs"]], s["labels"]

    def total(self):
        return sum(s["count"] for s in self.samples)


PYBPFD = os.path.join(BUILD, "pybpfd")
PYTHON = "/usr/bin/python3.11"


def capture_workload(d, name, script, seconds, rate, args, daemon=None):
    """Record a workload that writes its truth to a JSON file (its last
    argument), locally at rate or through a Daemon; give the profile, that
    truth and the samples per thread_id label."""
    out = os.path.join(d, f"{name}.pb.gz")
    truth = os.path.join(d, f"{name}.json")
    cmd = [PYTHON, script, str(seconds), truth]
    if daemon:
        daemon.ctl("record", "-q", "-o", out, *args, "--", *cmd)
    else:
        record(["-r", str(rate), "-o", out] + args, cmd, local=True)
    with open(truth) as f:
        t = json.load(f)
    prof = Pprof(out)
    by_tid = {}
    for c, _, labels in prof.stacks():
        tid = int(labels.get("thread_id", "0"))
        by_tid[tid] = by_tid.get(tid, 0) + c
    return prof, t, by_tid


def daemon_maps(pid, name):
    """Ids of the BPF maps called name that pid (pybpfd or pybpfctl) holds open."""
    ids = []
    fd_dir = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                text = f.read()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("map_id:"):
                ids.append(int(line.split()[1]))
    out = []
    for i in ids:
        info = json.loads(subprocess.run(["bpftool", "map", "show", "id", str(i), "-j"],
                                         stdout=subprocess.PIPE, text=True, check=True).stdout)
        if info.get("name") == name:
            out.append(i)
    return out


def map_pids(map_id):
    dump = json.loads(subprocess.run(["bpftool", "map", "dump", "id", str(map_id), "-j"],
                                     stdout=subprocess.PIPE, text=True, check=True).stdout)
    pids = set()
    for e in dump:
        k = e.get("key")
        if isinstance(k, list):  # raw bytes, little-endian u32
            pids.add(int.from_bytes(bytes(int(b, 16) for b in k[:4]), "little"))
        elif isinstance(k, int):
            pids.add(k)
        else:
            pids.add(int(e["formatted"]["key"]) if "formatted" in e else int(k))
    return pids


def wait_measuring(holder, target, timeout=60):
    """Waits until process holder (a pybpfctl) has registered pid target with
    its BPF programs: from then on it measures, its start-up (loading and
    verifying the programs, reading symbols: seconds of CPU on a loaded
    machine) is over and no longer disturbs what it measures."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if holder.poll() is not None:
            fail(f"pid {holder.pid} exited ({holder.returncode}) before it measured pid {target}")
        try:
            if any(target in map_pids(m) for m in daemon_maps(holder.pid, "procs")):
                return
        except (OSError, subprocess.CalledProcessError):
            pass  # its maps are being created
        time.sleep(0.05)
    fail(f"pid {holder.pid} did not register pid {target} in {timeout} s")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A pybpfd started with a temporary configuration: its own socket, spool,
    queue and pull port under a fresh directory."""

    def __init__(self, conf=None, args=(), workdir=None, env=None):
        import time
        self.dir = workdir or tmpdir()
        os.chmod(self.dir, 0o755)
        self.socket = os.path.join(self.dir, "pybpfd.sock")
        self.spool = os.path.join(self.dir, "spool")
        self.port = free_port()
        self.conf = {
            "window_s": "2", "socket": self.socket, "socket_group": "", "spool_dir": self.spool,
            "push_queue_dir": os.path.join(self.dir, "queue"), "pull_listen": f"127.0.0.1:{self.port}",
            "log_level": "debug",
        }
        self.conf.update(conf or {})
        self.conf_path = os.path.join(self.dir, "pybpfd.conf")
        self.write_conf()
        self.log_path = os.path.join(self.dir, "pybpfd.log")
        self.log = open(self.log_path, "a")
        cmd = [PYBPFD, "-c", self.conf_path] + list(args)
        print("$ " + " ".join(cmd), flush=True)
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env=e)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail(f"pybpfd exited {self.proc.returncode} at start:\n{self.log_text()}")
            if "found " in self.log_text() and os.path.exists(self.socket):
                break
            time.sleep(0.05)
        else:
            fail(f"pybpfd did not start in 30 s:\n{self.log_text()}")

    def write_conf(self):
        with open(self.conf_path + ".tmp", "w") as f:
            f.write("# written by the test\n")
            for k, v in self.conf.items():
                f.write(f"{k} = {v}\n")
        os.rename(self.conf_path + ".tmp", self.conf_path)

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def ctl(self, *args, user=None, check_rc=True, timeout=120):
        cmd = [PYBPFCTL, "--socket", self.socket] + list(args)
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"] + cmd
        print("$ " + " ".join(cmd), flush=True)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        if check_rc and p.returncode != 0:
            fail(f"pybpfctl {args[0]} exited {p.returncode}: {p.stderr.strip()}")
        return p

    def ctl_json(self, *args, **kw):
        p = self.ctl(*args, "--json", **kw)
        return json.loads(p.stdout)

    def http(self, path, timeout=60):
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as r:
            return r.status, r.read()

    def metrics(self):
        return parse_prometheus(self.http("/metrics")[1].decode())

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=15, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                fail(f"pybpfd did not stop in {timeout} s after signal {sig}")
        self.log.close()
        log = self.log_text()
        for bad in ("runtime error:", "AddressSanitizer", "LeakSanitizer"):
            if bad in log:
                fail(f"pybpfd's log has a sanitizer report ({bad}):\n{log[-4000:]}")
        return self.proc.returncode

    def spool_files(self):
        return sorted(glob.glob(os.path.join(self.spool, "*.pb.gz")))


PROM_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? '
                       r'(-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')


def parse_prometheus(text):
    """Prometheus text format 0.0.4, strictly: every sample line parses, every
    metric has HELP and TYPE before its samples.  {(name, labels): value}."""
    out, typed, histograms = {}, set(), set()
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4:
                fail(f"/metrics: bad comment line {line!r}")
            if parts[1] == "TYPE":
                if parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    fail(f"/metrics: bad type in {line!r}")
                typed.add(parts[2])
                if parts[3] in ("histogram", "summary"):
                    histograms.add(parts[2])
            continue
        m = PROM_LINE.match(line)
        if not m:
            fail(f"/metrics: line does not parse: {line!r}")
        base = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        if m.group(1) not in typed and base not in histograms:
            fail(f"/metrics: {m.group(1)} has no TYPE before its samples")
        labels = tuple(sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
        key = (m.group(1), labels)
        if key in out:
            fail(f"/metrics: duplicate sample {line!r}")
        out[key] = float(m.group(3))
    return out


def make_user(name, group=None):
    """A fresh system user for a test (made again if it exists), in group
    (created when missing) if given."""
    import grp
    import pwd

    def run(*cmd):
        print("$ " + " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)

    if group:
        try:
            grp.getgrnam(group)
        except KeyError:
            run("groupadd", "--system", group)
    try:
        pwd.getpwnam(name)
        run("userdel", name)
    except KeyError:
        pass
    run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
        *(["--groups", group] if group else []), name)


def spawn_python(script_args, env=None, user=None):
    """Starts PYTHON with script_args; returns the Popen."""
    cmd = [PYTHON] + list(script_args)
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups"] + cmd
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.Popen(cmd, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def end(p):
    if p.poll() is None:
        p.kill()
    p.wait()


# --- one capture read back from each format, as shares of its total --------------------

def _label_name(label):
    """A frame label as the text formats write it: 'name (file:line)'."""
    return label.split(" (", 1)[0]


def shares_pprof(path, names):
    """Inclusive share of each function in names, by value (time or CPU)."""
    prof = Pprof(path)
    total = sum(s["value"] for s in prof.samples)
    out = dict.fromkeys(names, 0)
    for s in prof.samples:
        seen = {prof.locations[i]["name"] for i in s["locs"]}
        for n in names:
            if n in seen:
                out[n] += s["value"]
    return {n: v / total for n, v in out.items()}, total


def shares_collapsed(path, names):
    total, out = 0, dict.fromkeys(names, 0)
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            stack, w = line.rsplit(" ", 1)
            w = int(w)
            total += w
            seen = {_label_name(fr) for fr in stack.split(";")}
            for n in names:
                if n in seen:
                    out[n] += w
    return {n: v / total for n, v in out.items()}, total


SVG_NODE = re.compile(r'<g class="f" data-s="\d+" data-n="(\d+)" data-d="(\d+)"><title>([^<]*)</title>')


def shares_svg(path, names):
    """From the flame graph's own node widths (the workload has no recursion:
    a function's nodes never nest)."""
    import html
    total, out = None, dict.fromkeys(names, 0)
    with open(path) as f:
        text = f.read()
    for n_, depth, title in SVG_NODE.findall(text):
        name = _label_name(html.unescape(title))
        if title.startswith("all (") and total is None:
            total = int(n_)
        elif name in out:
            out[name] += int(n_)
    if not total:
        fail(f"{path}: no root node")
    return {n: v / total for n, v in out.items()}, total


def shares_speedscope(path, names):
    with open(path) as f:
        d = json.load(f)
    frames = [fr["name"] for fr in d["shared"]["frames"]]
    total, out = 0, dict.fromkeys(names, 0)
    for p in d["profiles"]:
        for stack, w in zip(p["samples"], p["weights"]):
            total += w
            seen = {frames[i] for i in stack}
            for n in names:
                if n in seen:
                    out[n] += w
    return {n: v / total for n, v in out.items()}, total


def _union(spans):
    total, end = 0.0, None
    for a, b in sorted(spans):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def shares_chrometrace(path, names):
    """From Chrome's trace events, checked against the format: the time of
    the events naming each function (their union per thread), over the time
    of every thread's chart."""
    with open(path) as f:
        d = json.load(f)
    if not isinstance(d.get("traceEvents"), list):
        fail(f"{path}: no traceEvents list")
    spans, named = {}, {}
    for e in d["traceEvents"]:
        if e.get("ph") == "M":
            if e.get("name") not in ("process_name", "thread_name") or not isinstance(e["args"]["name"], str):
                fail(f"{path}: bad metadata event {e}")
            continue
        if e.get("ph") != "X" or not isinstance(e.get("name"), str) or not all(
                isinstance(e.get(k), (int, float)) for k in ("ts", "dur", "pid", "tid")) or e["dur"] < 0:
            fail(f"{path}: bad trace event {e}")
        key = (e["pid"], e["tid"])
        spans.setdefault(key, []).append((e["ts"], e["ts"] + e["dur"]))
        n = _label_name(e["name"])
        if n in names:
            named.setdefault((n, key), []).append((e["ts"], e["ts"] + e["dur"]))
    total = sum(_union(v) for v in spans.values())
    out = dict.fromkeys(names, 0.0)
    for (n, _), v in named.items():
        out[n] += _union(v)
    return {n: v / total for n, v in out.items()}, total


SHARE_READERS = {"pb.gz": shares_pprof, "txt": shares_collapsed, "svg": shares_svg, "json": shares_speedscope,
                 "trace": shares_chrometrace}
