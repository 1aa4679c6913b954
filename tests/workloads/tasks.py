"""asyncio.gather of three named tasks running the same coroutine, each
burning its own share of CPU per step (alpha 5 ms, beta 3 ms, gamma 2 ms
on average; each step's length drawn from 0.5-1.5 times that, so that no
step locks in phase with the sampling), under a main task that awaits them through another coroutine
(main -> run_all -> gather); a fourth task ("idle") only waits.  Each task's CPU time
is counted by the workload itself (time.thread_time around its burn).

    tasks.py SECONDS OUT

Writes OUT.ready once the tasks run, and OUT (JSON: {"cpu": {name: s},
"tid": the loop thread}) at the end: after SECONDS, or when OUT.stop
appears."""
import asyncio
import json
import os
import random
import sys
import threading
import time

seconds, out = float(sys.argv[1]), sys.argv[2]
SHARES = {"alpha": 5, "beta": 3, "gamma": 2}
cpu = {n: 0.0 for n in SHARES}
end = time.monotonic() + seconds


def running():
    return time.monotonic() < end and not os.path.exists(out + ".stop")


def burn(ms):
    until = time.thread_time() + ms / 1000
    while time.thread_time() < until: pass  # BURN LINE


async def worker(name, ms):
    rnd = random.Random(name)
    while running():
        t0 = time.thread_time()
        burn(ms * rnd.uniform(0.5, 1.5))
        cpu[name] += time.thread_time() - t0
        await asyncio.sleep(0)  # WORKER LINE


async def idle():
    while running():
        await asyncio.sleep(0.05)  # IDLE LINE


async def run_all(tasks):
    await asyncio.gather(*tasks)  # GATHER LINE


async def main():
    tasks = [asyncio.create_task(worker(n, ms), name=n) for n, ms in SHARES.items()]
    tasks.append(asyncio.create_task(idle(), name="idle"))
    open(out + ".ready", "w").close()
    await run_all(tasks)  # MAIN LINE


asyncio.run(main())
with open(out, "w") as f:
    json.dump({"cpu": cpu, "tid": threading.get_native_id()}, f)
