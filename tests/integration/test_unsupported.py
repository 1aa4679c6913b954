"""Interpreters pybpf cannot unwind are refused clearly, naming the pid, the
version and why, and never profiled into garbage: a version outside the
table (Debian's 3.9 binary installed as python3.16), and a debug build
(Debian's python3.14-dbg)."""
import os
import shutil
import subprocess
import time

from pybpf_testlib import PYBPFCTL, check, interpreters


def refused(argv, expect):
    proc = subprocess.Popen(argv + ["-c", "import time; time.sleep(30)"])
    try:
        time.sleep(1.0)
        for cmd in (["record", "--pid", str(proc.pid), "-d", "1", "-o", "/tmp/pybpf-unsupported.pb.gz"],
                    ["dump", "--pid", str(proc.pid)]):
            p = subprocess.run([PYBPFCTL] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            print(f"$ pybpfctl {' '.join(cmd)} -> {p.returncode}: {p.stderr.strip()}")
            check(p.returncode == 1 and f"pid {proc.pid}" in p.stderr and expect in p.stderr,
                  f"pybpfctl {cmd[0]} refuses it: {expect!r}")
            check("not supported" in p.stderr, "and says it is not supported")
    finally:
        proc.kill()
        proc.wait()


all_ = interpreters()
old = all_["3.9"]
check(not isinstance(old, str), "the bullseye root exists")
fake = old.root + "/usr/local/bin/python3.16"
os.makedirs(os.path.dirname(fake), exist_ok=True)
shutil.copy(old.root + "/usr/bin/python3.9", fake)
refused(["chroot", old.root, "/usr/local/bin/python3.16"], "CPython 3.16.0")

new = all_["3.14"]
check(not isinstance(new, str), "the sid root exists")
dbg = new.root + "/usr/bin/python3.14d"
check(os.path.exists(dbg), "python3.14-dbg is installed in the sid root")
refused(["chroot", new.root, "/usr/bin/python3.14d"], "debug build")
print("PASS")
