"""pybpfctl dump shows a thread parked in a known function, with its line,
and the main thread sleeping at its line."""
import json
import subprocess
import time

from pybpf_testlib import PYBPFCTL, check, line_of, python_from_argv, workload

name, py = python_from_argv()
script = workload("park.py")
proc = subprocess.Popen([py, script, "30"], stdout=subprocess.PIPE, text=True)
try:
    check(proc.stdout.readline().strip() == "ready", "workload started its parked thread")
    out = subprocess.run([PYBPFCTL, "dump", "--pid", str(proc.pid), "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=60)
    check(out.returncode == 0, f"dump exited 0 ({out.stderr.strip()})")
    d = json.loads(out.stdout)
    print(json.dumps(d, indent=1)[:3000])
    check(d["pid"] == proc.pid and d["version"].startswith("3.11"), "dump names the pid and version")
    threads = d["threads"]
    check(len(threads) == 2, f"two Python threads ({len(threads)})")
    parked = [t for t in threads if any(f["name"] == "parked_here" for f in t["frames"])]
    check(len(parked) == 1, "one thread is in parked_here")
    frames = parked[0]["frames"]
    names = [f["name"] for f in frames]
    i = names.index("parked_here")
    check(frames[i]["line"] == line_of(script, "# PARK LINE"), "parked_here's line is exact")
    check(names[i + 1] == "worker" and frames[i + 1]["file"] == script, "called from worker()")
    check(names[:i] == ["Condition.wait", "Event.wait"], f"inner frames are the Event wait ({names[:i]})")
    check(names[-1] == "Thread._bootstrap", "outermost frame is Thread._bootstrap")
    check(parked[0]["state"] == "sleeping", "parked thread is sleeping")
    main = [t for t in threads if t["tid"] == proc.pid]
    check(len(main) == 1 and main[0]["frames"][0]["name"] == "<module>", "main thread is in <module>")
    text = subprocess.run([PYBPFCTL, "dump", "--pid", str(proc.pid)], stdout=subprocess.PIPE, text=True).stdout
    check(f"parked_here ({script}:{line_of(script, '# PARK LINE')})" in text, "text dump shows file:line")
finally:
    proc.kill()
    proc.wait()
print("PASS")
