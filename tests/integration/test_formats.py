"""Every output format of `pybpfctl record` opens in the tool it is for:
pprof in go tool pprof, SVG as well-formed XML with hover titles and
percentages, speedscope as JSON of its schema, collapsed as `a;b;c N`,
chrometrace as Chrome's trace events (complete events on each thread's
track, named threads, every event inside its parent's span)."""
import json
import os
import re
import xml.dom.minidom

from pybpf_testlib import Pprof, check, interp_from_argv, record

it = interp_from_argv()
d = it.tmpdir()
script = it.workload("split.py")
truth = os.path.join(d, "truth.json")
outs = {}
for fmt, ext in (("pprof", "pb.gz"), ("svg", "svg"), ("speedscope", "json"), ("collapsed", "txt"),
                 ("chrometrace", "trace")):
    out = it.host(os.path.join(d, f"profile.{ext}"))
    summary = record(["-r", "499", "-d", "2", "-o", out], it.cmd(script, 3, truth))
    check(summary["format"] == fmt, f"format {fmt} chosen from the extension .{ext}")
    outs[fmt] = (out, summary)

prof = Pprof(outs["pprof"][0])
check(any(l["name"] == "hot" and l["file"] == script for l in prof.locations.values()),
      "pprof has hot() with its file")
raw = prof.text
check("PeriodType: cpu nanoseconds" in raw, "pprof period type is cpu/nanoseconds")
check(re.search(r"Period: 2004008\b", raw) is not None, "pprof period is 1e9/499 ns")
check("samples/count cpu/nanoseconds" in raw, "pprof sample types samples/count, cpu/nanoseconds")
check(all("thread_id" in s["labels"] and "thread_name" in s["labels"] for s in prof.samples),
      "every pprof sample has thread_id and thread_name labels")

svg_path, svg_sum = outs["svg"]
doc = xml.dom.minidom.parse(svg_path)
titles = [t.firstChild.data for t in doc.getElementsByTagName("title") if t.firstChild]
hot_titles = [t for t in titles if t.startswith(f"hot ({script}:")]
check(hot_titles, "SVG has hover titles for hot()")
check(all(re.search(r"\(\d+ samples?, \d+\.\d\d%\)$", t) for t in hot_titles), "SVG titles carry percentages")

sc = json.load(open(outs["speedscope"][0]))
check(sc["$schema"] == "https://www.speedscope.app/file-format-schema.json", "speedscope schema URL")
frames = sc["shared"]["frames"]
check(any(f["name"] == "hot" and f.get("file") == script for f in frames), "speedscope frames name hot()")
total = sum(sum(p["weights"]) for p in sc["profiles"])
check(total > 0, "speedscope profiles carry weight")

tr = json.load(open(outs["chrometrace"][0]))
events = tr["traceEvents"]
xs = [e for e in events if e["ph"] == "X"]
names = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
check(xs and all(set(e) >= {"name", "cat", "ts", "dur", "pid", "tid"} for e in xs), "chrometrace: complete events")
check(names and {(e["pid"], e["tid"]) for e in xs} <= {(e["pid"], e["tid"]) for e in events if e["ph"] == "M"},
      f"chrometrace: every track is named ({sorted(names)})")
check(any(e["name"].startswith(f"hot ({script}:") for e in xs), "chrometrace names hot() with its file and line")
# nested as a flame chart: an event starts and ends inside the one open
# around it on its track
open_ = {}
nested = True
for e in sorted(xs, key=lambda e: (e["pid"], e["tid"], e["ts"], -e["dur"])):
    stack = open_.setdefault((e["pid"], e["tid"]), [])
    while stack and stack[-1] <= e["ts"] + 1e-6:
        stack.pop()
    if stack and e["ts"] + e["dur"] > stack[-1] + 1e-3:
        nested = False
    stack.append(e["ts"] + e["dur"])
check(nested, "chrometrace: every event lies inside its parent")
tr_sum = outs["chrometrace"][1]
roots = {}
for e in xs:
    k = (e["pid"], e["tid"])
    roots[k] = max(roots.get(k, 0), e["ts"] + e["dur"])
total_s = sum(roots.values()) / 1e6
want_s = tr_sum["samples"] / tr_sum["rate_hz"]
check(abs(total_s - want_s) <= 0.01 * want_s, f"chrometrace: the tracks add up to the samples' time ({total_s:.3f} s, {want_s:.3f} s)")

coll_path, coll_sum = outs["collapsed"]
n = 0
for line in open(coll_path):
    m = re.fullmatch(r"(.+) (\d+)\n", line)
    if m is None:
        check(False, f"collapsed line parses: {line[:80]!r}")
    n += int(m.group(2))
check(n == coll_sum["samples"] == coll_sum["recorded"], f"collapsed counts sum to the recorded samples ({n})")
print("PASS")
