"""Shared helpers of the integration tests: which Pythons to profile, running
pybpfctl, and reading its pprof output back with Go's independent reader."""
import glob
import json
import os
import re
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


def pythons():
    """name -> interpreter path (None when this machine lacks it)."""
    pyenv = sorted(glob.glob(os.path.expanduser(os.environ.get("PYENV_ROOT", "~/.pyenv")) + "/versions/3.11*/bin/python3.11"))
    embed = os.path.join(BUILD, "tests", "embed_python3.11")
    return {
        # Debian's python3.11: static, non-PIE, stripped of .symtab
        "debian": "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else None,
        # pyenv's build: shared libpython with full symbols
        "pyenv": pyenv[-1] if pyenv else None,
        # Debian's shared libpython3.11.so (stripped) in a program not named python
        "embed": embed if os.path.exists(embed) else None,
    }


def python_from_argv():
    """The interpreter named by argv[1]; skips (exit 77) when this machine has none."""
    name = sys.argv[1] if len(sys.argv) > 1 else "debian"
    path = pythons().get(name)
    if name not in pythons():
        fail(f"unknown interpreter name {name!r}")
    if not path:
        skip(f"interpreter {name!r} is not installed on this machine")
    print(f"interpreter {name}: {path}", flush=True)
    return name, path


def workload(name):
    return os.path.join(WORKLOADS, name)


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
