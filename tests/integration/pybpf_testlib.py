"""Shared helpers of the integration tests: which Pythons to profile, running
pybpfctl, and reading its pprof output back with Go's independent reader."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("PYBPF_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(SRC, "build"))
PYBPFCTL = os.path.join(BUILD, "pybpfctl")
WORKLOADS = os.path.join(SRC, "tests", "workloads")
SKIP = 77


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print(f"ok: {msg}", flush=True)


def skip(msg):
    print(f"SKIP: {msg}", flush=True)
    sys.exit(SKIP)


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


def interpreters():
    """name -> Interp, or the reason it is missing."""
    pyenv = sorted(glob.glob(os.path.expanduser(os.environ.get("PYENV_ROOT", "~/.pyenv")) + "/versions/3.11*/bin/python3.11"))
    embed = os.path.join(BUILD, "tests", "embed_python3.11")
    out = {
        # Debian's python3.11: static, non-PIE, stripped of .symtab
        "debian": Interp("debian", 11, ["/usr/bin/python3.11"]) if os.path.exists("/usr/bin/python3.11")
        else "no /usr/bin/python3.11",
        # pyenv's build: shared libpython with full symbols
        "pyenv": Interp("pyenv", 11, [pyenv[-1]]) if pyenv else "no pyenv CPython 3.11 on this machine",
        # Debian's shared libpython3.11.so (stripped) in a program not named python
        "embed": Interp("embed", 11, [embed]) if os.path.exists(embed) else f"{embed} not built",
    }
    # Debian's own interpreters of other versions, in roots made by scripts/make-root.sh
    for name, suite, minor in (("3.9", "bullseye", 9), ("3.13", "trixie", 13), ("3.14", "sid", 14), ("3.15", "sid", 15)):
        root = os.path.join(ROOTS, suite)
        binary = f"/usr/bin/python3.{minor}"
        if os.path.exists(root + binary):
            out[name] = Interp(name, minor, ["chroot", root, binary], root)
        else:
            out[name] = f"{root}{binary} missing: scripts/make-root.sh {suite} python3.{minor} was not run or failed"
    return out


def interp_from_argv():
    """The interpreter named by argv[1].  A host interpreter this machine lacks
    (pyenv) is skipped (exit 77, shown in the summary); a missing Debian root
    is a failure: the test setup makes them."""
    name = sys.argv[1] if len(sys.argv) > 1 else "debian"
    all_ = interpreters()
    if name not in all_:
        fail(f"unknown interpreter name {name!r}")
    it = all_[name]
    if isinstance(it, str):
        if name == "pyenv":
            skip(it)
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


def record(args, command=None, timeout=120):
    """Runs pybpfctl record --json ARGS [-- COMMAND]; returns its JSON summary."""
    cmd = [PYBPFCTL, "record", "--json", "-q"] + list(args)
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
    SAMPLE = re.compile(r"^\s+(\d+)\s+(\d+): ([\d ]+)$")

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
                                         "locs": [int(x) for x in m.group(3).split()], "labels": {}})
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
