"""Every output format of `pybpfctl record` opens in the tool it is for:
pprof in go tool pprof, SVG as well-formed XML with hover titles and
percentages, speedscope as JSON of its schema, collapsed as `a;b;c N`."""
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
for fmt, ext in (("pprof", "pb.gz"), ("svg", "svg"), ("speedscope", "json"), ("collapsed", "txt")):
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

coll_path, coll_sum = outs["collapsed"]
n = 0
for line in open(coll_path):
    m = re.fullmatch(r"(.+) (\d+)\n", line)
    if m is None:
        check(False, f"collapsed line parses: {line[:80]!r}")
    n += int(m.group(2))
check(n == coll_sum["samples"] == coll_sum["recorded"], f"collapsed counts sum to the recorded samples ({n})")
print("PASS")
