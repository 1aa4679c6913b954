"""pybpfctl dump shows a thread parked in a known function, with its line,
and the main thread sleeping at its line; neither holds the GIL nor is
active (test_dump_churn: a running thread does and is)."""
import json
import os
import re
import subprocess
import time

from pybpf_testlib import PYBPFCTL, check, interp_from_argv, line_of

it = interp_from_argv()
script = it.workload("park.py")
park_line = line_of(it.host(script), "# PARK LINE")
proc = subprocess.Popen(it.cmd(script, 30), stdout=subprocess.PIPE, text=True)
try:
    check(proc.stdout.readline().strip() == "ready", "workload started its parked thread")
    out = subprocess.run([PYBPFCTL, "dump", "--pid", str(proc.pid), "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=60)
    check(out.returncode == 0, f"dump exited 0 ({out.stderr.strip()})")
    d = json.loads(out.stdout)
    print(json.dumps(d, indent=1)[:3000])
    own = subprocess.run(it.argv + ["-c", "import platform; print(platform.python_version())"],
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    # the interpreter's own version, micro included (a release suffix aside)
    m = re.match(r"(\d+\.\d+\.\d+)", own)
    check(d["pid"] == proc.pid and m and d["version"] == m.group(1),
          f"dump names the pid and the full version {d['version']} (the interpreter says {own})")
    threads = d["threads"]
    check(len(threads) == 2, f"two Python threads ({len(threads)})")
    parked = [t for t in threads if any(f["name"] == "parked_here" for f in t["frames"])]
    check(len(parked) == 1, "one thread is in parked_here")
    frames = parked[0]["frames"]
    names = [f["name"] for f in frames]
    i = names.index("parked_here")
    check(frames[i]["line"] == park_line, "parked_here's line is exact")
    check(names[i + 1] == "worker" and frames[i + 1]["file"] == script, "called from worker()")
    # qualified names (co_qualname) exist from 3.11 on; before, plain names
    q = (lambda c, f: f"{c}.{f}") if it.minor >= 11 else (lambda c, f: f)
    check(names[:i] == [q("Condition", "wait"), q("Event", "wait")], f"inner frames are the Event wait ({names[:i]})")
    check(names[-1] == q("Thread", "_bootstrap"), "outermost frame is Thread._bootstrap")
    check(parked[0]["state"] == "sleeping", "parked thread is sleeping")
    check(not parked[0]["partial"] and not parked[0]["stopped"] and parked[0]["reads"] == 1,
          "a sleeping thread is read whole at the first walk, never held still")
    check(parked[0]["tid"] > 0 and os.path.exists(f"/proc/{proc.pid}/task/{parked[0]['tid']}"),
          f"parked thread's kernel tid {parked[0]['tid']} is one of the process's tasks")
    check(all(t["gil"] is False and t["active"] is False for t in threads),
          f"neither sleeping thread holds the GIL or is active "
          f"({[(t['tid'], t['gil'], t['active']) for t in threads]})")
    main = [t for t in threads if t["tid"] == proc.pid]
    check(len(main) == 1 and main[0]["frames"][0]["name"] == "<module>", "main thread is in <module>")
    text = subprocess.run([PYBPFCTL, "dump", "--pid", str(proc.pid)], stdout=subprocess.PIPE, text=True).stdout
    check(f"parked_here ({script}:{park_line})" in text, "text dump shows file:line")
finally:
    proc.kill()
    proc.wait()
print("PASS")
