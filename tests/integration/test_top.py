"""pybpfctl top without pybpfd, as py-spy top: --rate sets the sampling
frequency (a process busy on one CPU gives about rate x interval samples,
± 15 %, at 99 Hz by default and at 499 Hz), its hottest row is the busy
function, and a rate out of range is refused with a message."""
import json
import os
import subprocess

from pybpf_testlib import PYBPFCTL, WORKLOADS, check, end, spawn_python

busy = spawn_python([os.path.join(WORKLOADS, "busy.py")])
try:
    for rate in (None, 499):
        args = [PYBPFCTL, "--no-daemon", "top", "--pid", str(busy.pid), "--once", "--json", "--interval", "2"]
        if rate:
            args += ["--rate", str(rate)]
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        check(p.returncode == 0, f"top {'--rate %d' % rate if rate else ''} exits 0 ({p.stderr.strip()})")
        t = json.loads(p.stdout)
        want = (rate or 99) * t["seconds"]
        check(abs(t["samples"] - want) <= 0.15 * want,
              f"at {rate or 99} Hz: {t['samples']} samples in {t['seconds']:.2f} s (about {want:.0f})")
        check(t["rows"] and t["rows"][0]["function"] == "spin", f"the hottest row is spin ({t['rows'][:1]})")
    p = subprocess.run([PYBPFCTL, "--no-daemon", "top", "--pid", str(busy.pid), "--once", "--rate", "0"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    check(p.returncode == 2 and "rate" in p.stderr, f"--rate 0 is refused, saying why ({p.stderr.strip()})")
finally:
    end(busy)
print("PASS")
