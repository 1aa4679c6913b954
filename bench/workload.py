"""A fixed pure-Python workload: argv[1] rounds of arithmetic and calls, a
call stack argv[2] frames deep.  Writes its own elapsed seconds to argv[3]."""
import sys
import time

sys.setrecursionlimit(100000)


def work(rounds):
    x = 0
    for i in range(rounds):
        x += (i * 7) % 13
    return x


def nest(depth, rounds):
    if depth <= 1:
        return work(rounds)
    return nest(depth - 1, rounds)


rounds, depth, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
for _ in range(20):
    nest(depth, rounds // 20)
elapsed = time.perf_counter() - t0
cpu = time.process_time()  # all of its own CPU, start-up included
with open(out, "w") as f:
    f.write(f"{elapsed}\n{cpu}\n")
