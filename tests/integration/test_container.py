"""A Python in new mount and pid namespaces (unshare + chroot into a Debian
root), profiled from the host by its host pid: the profile names the
functions and exact lines, and labels the samples with the host pid, the pid
the process sees for itself, its cgroup and its root."""
import json
import os
import subprocess
import time

from pybpf_testlib import PYBPFCTL, Pprof, check, interp_from_argv, line_of, record

it = interp_from_argv()
if not it.root:
    check(False, "test_container needs an interpreter from a Debian root")
script = it.workload("split.py")
d = it.tmpdir()
truth = os.path.join(d, "truth.json")
outer = subprocess.Popen(["unshare", "--fork", "--pid", "--mount-proc"] + it.cmd(script, 8, truth))


def python_pid():
    """The interpreter: unshare's child, once it has exec'd python."""
    for _ in range(500):
        try:
            kids = open(f"/proc/{outer.pid}/task/{outer.pid}/children").read().split()
            if kids and "python3" in os.readlink(f"/proc/{kids[0]}/exe"):
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.01)
    check(False, "found the namespaced python process")


try:
    pid = python_pid()
    time.sleep(0.5)
    nspid = [l for l in open(f"/proc/{pid}/status") if l.startswith("NSpid:")][0].split()[1:]
    check(len(nspid) == 2 and nspid[1] == "1", f"process is pid 1 in its own pid namespace (NSpid {nspid})")
    check(os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt"), "process is in another mount namespace")
    out = it.host(os.path.join(d, "ns.pb.gz"))
    summary = record(["--pid", str(pid), "-d", "3", "-r", "499", "-o", out])
    prof = Pprof(out)
    hot = [(c, l) for c, locs, _ in prof.stacks() for l in locs[:4] if l["name"] == "hot" and l["file"] == script]
    check(sum(c for c, _ in hot) > 0.5 * summary["samples"], "most samples are in hot() of the namespaced script")
    hot_line = line_of(it.host(script), "# HOT LINE")
    lines = {}
    for c, l in hot:
        lines[l["line"]] = lines.get(l["line"], 0) + c
    check(max(lines, key=lines.get) == hot_line, f"hottest line of hot() is {hot_line} ({lines})")
    labels = prof.samples[0]["labels"]
    print(f"labels: {labels}")
    check(labels.get("pid") == str(pid), "samples carry the host pid")
    check(labels.get("container_pid") == "1", "samples carry the pid the process sees (1)")
    check(labels.get("root") == it.root, f"samples carry the process's root ({it.root})")
    check("cgroup" in labels, "samples carry the cgroup")
    dump = subprocess.run([PYBPFCTL, "dump", "--pid", str(pid), "--json"], stdout=subprocess.PIPE, text=True)
    check(dump.returncode == 0, "dump reads the namespaced process")
    threads = json.loads(dump.stdout)["threads"]
    check(any(f["name"] == "main" and f["file"] == script for f in threads[0]["frames"]), "dump shows main() of the script")
    check(threads[0]["tid"] == pid, f"dump gives the host tid ({threads[0]['tid']}), not the namespace's")
finally:
    outer.kill()
    outer.wait()
print("PASS")
