"""Clear errors, non-zero exits: no privileges, no BTF, not a Python process,
no such process, bad arguments; and --help on every command."""
import subprocess

from pybpf_testlib import PYBPFCTL, check


def run(args, env=None, user=None, timeout=60):
    cmd = ([ "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if user else []) + [PYBPFCTL] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=timeout)
    print(f"$ {' '.join(cmd)} -> {p.returncode}: {p.stderr.strip()[:300]}")
    return p


for cmd in ([], ["record"], ["dump"], ["gil"], ["io"]):
    p = run(cmd + ["--help"])
    check(p.returncode == 0 and "usage: pybpfctl" in p.stdout, f"pybpfctl {' '.join(cmd)} --help")

p = run(["record", "-o", "/tmp/x.pb.gz", "--", "/usr/bin/python3.11", "-c", "pass"], user="nobody")
check(p.returncode == 1 and "run as root" in p.stderr, "unprivileged record says it needs root/CAP_BPF")

import os
env = dict(os.environ, PYBPF_KERNEL_BTF="/nonexistent/vmlinux")
p = run(["record", "-o", "/tmp/x.pb.gz", "--", "/usr/bin/python3.11", "-c", "pass"], env=env)
check(p.returncode == 1 and "no BTF" in p.stderr, "a kernel without BTF is named as the reason")

sleeper = subprocess.Popen(["sleep", "30"])
try:
    p = run(["record", "--pid", str(sleeper.pid), "-d", "1", "-o", "/tmp/x.pb.gz"])
    check(p.returncode == 1 and f"pid {sleeper.pid}" in p.stderr and "no CPython runtime" in p.stderr,
          "a non-Python pid is refused, naming the pid")
    p = run(["dump", "--pid", str(sleeper.pid)])
    check(p.returncode == 1 and "no CPython runtime" in p.stderr, "dump refuses a non-Python pid")
finally:
    sleeper.kill()
    sleeper.wait()

p = run(["dump", "--pid", "999999999"])
check(p.returncode != 0, "dump of an impossible pid fails")
p = run(["record", "--pid", "4000000", "-o", "/tmp/x.pb.gz"])
check(p.returncode == 1 and "no such process" in p.stderr, "record of a missing pid says so")
p = run(["record", "--rate", "0", "--pid", "1", "-o", "/tmp/x"])
check(p.returncode == 2, "rate 0 is a usage error")
p = run(["record", "--pid", "1"])
check(p.returncode == 2 and "-o FILE is required" in p.stderr, "missing -o is a usage error")
p = run(["record", "-o", "x", "-f", "png", "--pid", "1"])
check(p.returncode == 2 and "unknown format" in p.stderr, "unknown format is a usage error")
p = run(["frobnicate"])
check(p.returncode == 2 and "unknown command" in p.stderr, "unknown command is a usage error")
p = run(["record", "-o", "/tmp/x.pb.gz", "--", "/usr/bin/python3.11", "-c", "import time; time.sleep(0.5)"])
check(p.returncode == 0, "a command that exits quickly still gives a profile")
print("PASS")
