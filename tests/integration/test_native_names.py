"""Native code of stripped libraries is named: libc's internal functions
(not in its dynamic symbols) from libc6-dbg's debug file, found by build id
as gdb finds it; libz, with no debug file, by object and function start
from its call frame information, so its functions stay apart."""
import collections
import os

from pybpf_testlib import PYTHON, WORKLOADS, Pprof, check, fail, record, tmpdir

d = tmpdir()
out = os.path.join(d, "n.pb.gz")
if not os.path.isdir("/usr/lib/debug/.build-id"):
    fail("no /usr/lib/debug/.build-id: install libc6-dbg (scripts/install-deps.sh does)")
record(["-r", "499", "-o", out], [PYTHON, os.path.join(WORKLOADS, "natives.py"), "4"], local=True)
prof = Pprof(out)
by_name = collections.Counter()
for count, locs, _ in prof.stacks():
    if locs:
        by_name[locs[0]["name"]] += count
total = sum(by_name.values())
print("hottest leaves:", by_name.most_common(12))
libc_named = sum(c for n, c in by_name.items() if n.startswith(("__memset", "__memmove", "__memcpy")))
check(libc_named > 0.05 * total, f"libc's memset/memmove variants are named from its debug file ({libc_named} of {total})")
check(by_name.get("[libc.so.6]", 0) == 0, f"no libc frame left unnamed ({by_name.get('[libc.so.6]', 0)})")
libz = {n: c for n, c in by_name.items() if n.startswith("[libz.so")}
check(libz and all("+0x" in n for n in libz), f"libz frames are named by function start: {sorted(libz)[:5]}")
check(len(libz) >= 2, f"... and its functions stay apart ({len(libz)} of them)")
print("PASS")
