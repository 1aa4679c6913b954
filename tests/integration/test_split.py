"""A workload with a known time split between two functions: the profile's
split (read back by go tool pprof) matches the workload's own measurement
within 5 percentage points, and the hottest lines are exactly the loop bodies."""
import json
import os

from pybpf_testlib import Pprof, check, interp_from_argv, line_of, record

it = interp_from_argv()
d = it.tmpdir()
script = it.workload("split.py")
truth_path = os.path.join(d, "truth.json")
out = it.host(os.path.join(d, "split.pb.gz"))
summary = record(["-r", "999", "-o", out], it.cmd(script, "4", truth_path))
truth = json.load(open(it.host(truth_path)))
print(f"workload's own split: {truth}")

prof = Pprof(out)
hot = cold = 0
lines = {"hot": {}, "cold": {}}
for count, locs, labels in prof.stacks():
    py_frames = [l for l in locs if l["file"] == script]
    check_pid = labels.get("pid") == str(summary["pid"])
    if not check_pid:
        continue
    leafmost = next((l for l in py_frames if l["name"] in ("hot", "cold")), None)
    if not leafmost:
        continue
    fn = leafmost["name"]
    if fn == "hot":
        hot += count
    else:
        cold += count
    lines[fn][leafmost["line"]] = lines[fn].get(leafmost["line"], 0) + count

total = hot + cold
check(summary["samples"] == prof.total() == summary["recorded"],
      f"summary count {summary['samples']} == pprof total {prof.total()} == BPF recorded count")
check(total > 1500, f"enough samples in hot/cold to judge ({total}) at 999 Hz over 4 s")
share = hot / total
check(abs(share - truth["hot"]) <= 0.05,
      f"hot share {share:.3f} within 5 pp of the workload's own {truth['hot']:.3f}")
check(abs(cold / total - truth["cold"]) <= 0.05,
      f"cold share {cold / total:.3f} within 5 pp of the workload's own {truth['cold']:.3f}")
hot_line = line_of(it.host(script), "# HOT LINE")
cold_line = line_of(it.host(script), "# COLD LINE")
print(f"lines sampled: {lines}")
check(max(lines["hot"], key=lines["hot"].get) == hot_line, f"hottest line of hot() is {hot_line}")
check(max(lines["cold"], key=lines["cold"].get) == cold_line, f"hottest line of cold() is {cold_line}")
for fn, body in (("hot", hot_line), ("cold", cold_line)):
    allowed = set(range(line_of(it.host(script), f"def {fn}"), body + 2))
    check(set(lines[fn]) <= allowed, f"{fn}() lines {sorted(lines[fn])} all inside {fn}()")
check(summary["dropped_ringbuf_full"] == 0 and summary["dropped_counts_map_full"] == 0,
      "no samples dropped")
print("PASS")
