"""Helpers the benchmarks share: where pybpf and the Python are, and reading
a process's figures from /proc."""
import os

TICK = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("PYBPF_BUILD_DIR", os.path.join(HERE, "..", "build"))
PY = os.environ.get("PYBPF_BENCH_PYTHON", "/usr/bin/python3.11")


def prog_stats(names):
    """[run time ns, run count] summed over the loaded BPF programs named in
    names (kernel.bpf_stats_enabled on), via bpftool."""
    import json
    import subprocess
    p = subprocess.run(["bpftool", "prog", "show", "--json"], stdout=subprocess.PIPE, text=True)
    tot = [0, 0]
    for x in json.loads(p.stdout or "[]"):
        if x.get("name") in names:
            tot[0] += x.get("run_time_ns", 0)
            tot[1] += x.get("run_cnt", 0)
    return tot


class bpf_stats:
    """with bpf_stats(): kernel.bpf_stats_enabled on inside, as it was after."""
    PATH = "/proc/sys/kernel/bpf_stats_enabled"

    def __enter__(self):
        self.old = open(self.PATH).read().strip()
        open(self.PATH, "w").write("1")

    def __exit__(self, *exc):
        open(self.PATH, "w").write(self.old)


def sched_seconds(pid):
    """CPU time of pid's threads from schedstat, in seconds (ns resolution:
    cpu_seconds counts clock ticks)."""
    import glob
    tot = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                tot += int(f.read().split()[0])
        except (OSError, ValueError):
            pass
    return tot / 1e9


def cpu_seconds(pid):
    """User + system CPU time of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def status_kb(pid, key):
    """A kB line of /proc/PID/status (VmRSS, VmHWM...), 0 if absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0
