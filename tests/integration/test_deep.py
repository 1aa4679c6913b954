"""A recursion 1000 frames deep: every frame is in the profile, none is cut,
and the innermost frame's line is the spinning loop."""
import os

from pybpf_testlib import Pprof, check, interp_from_argv, line_of, record

DEPTH = 1000
it = interp_from_argv()
script = it.workload("deep.py")
out = it.host(os.path.join(it.tmpdir(), "deep.pb.gz"))
summary = record(["-r", "199", "-o", out], it.cmd(script, DEPTH, 3))
prof = Pprof(out)

bottom = line_of(it.host(script), "# BOTTOM LINE")
recurse_line = line_of(it.host(script), "# RECURSE LINE")
full = 0
for count, locs, labels in prof.stacks():
    frames = [l for l in locs if l["file"] == script]
    if not frames or frames[0]["name"] != "recurse" or frames[0]["line"] not in (bottom, bottom + 1):
        continue
    rec = [f for f in frames if f["name"] == "recurse"]
    if len(rec) != DEPTH + 1:
        print(f"partial stack: {len(rec)} recurse frames")
        continue
    if any(f["line"] != recurse_line for f in rec[1:]):
        continue
    if frames[-1]["name"] != "<module>":
        continue
    full += count
check(not any("[truncated" in l["name"] for l in prof.locations.values()), "no stack marked truncated")
check(summary["truncated"] == 0, "BPF counted no truncated stack")
check(full >= 0.8 * 199 * 2, f"{full} samples carry all {DEPTH + 1} recurse frames and <module>")
print("PASS")
