"""A process whose stacks never repeat: it compiles and calls new functions
(distinct names and first lines, kept alive so no code object address is
reused) for argv[1] seconds, each for a few milliseconds."""
import sys
import time

end = time.monotonic() + float(sys.argv[1])
keep = []
i = 0
while time.monotonic() < end:
    src = "\n" * (i % 5000) + f"def gen_{i}(n):\n    x = 0\n    for k in range(n):\n        x += k\n    return x\n"
    ns = {}
    exec(compile(src, f"<generated {i // 5000}>", "exec"), ns)
    fn = ns[f"gen_{i}"]
    fn(20000)
    keep.append(fn)
    i += 1
