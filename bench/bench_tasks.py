"""The cost of task labels (asyncio tasks' own stacks, the default) where a
task is started per request: an asyncio loop that starts RATE short tasks a
second (each burns ~1 ms of CPU in one coroutine, then ends), recorded at 99
and 999 Hz with and without --no-tasks, interleaved: the stacks the kernel
sent (new_stacks), the task reads and misses, pybpfctl's own CPU seconds,
and the workload's throughput (tasks finished a second) against an
unprofiled run."""
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import BUILD, PY
REPEATS = int(os.environ.get("PYBPF_BENCH_REPEATS", "3"))
RATE = int(os.environ.get("PYBPF_BENCH_TASKS_RATE", "500"))
SECONDS = 5
WORKLOAD = r'''
import asyncio, os, sys, time
seconds, out, rate = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
done = 0
async def handle(i):
    global done
    end = time.thread_time() + 0.001
    while time.thread_time() < end:
        pass
    await asyncio.sleep(0)
    done += 1
async def main():
    open(out + ".ready", "w").close()
    t0 = time.monotonic()
    n = 0
    while time.monotonic() < t0 + seconds:
        asyncio.get_running_loop().create_task(handle(n), name=f"req-{n}")
        n += 1
        await asyncio.sleep(max(0.0, t0 + n / rate - time.monotonic()))
    await asyncio.sleep(0.05)
    open(out, "w").write(str(done / seconds))
asyncio.run(main())
'''


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(d, how, hz):
    script = os.path.join(d, "w.py")
    out = os.path.join(d, f"{how}-{hz}-{time.monotonic_ns()}")
    w = subprocess.Popen([PY, script, str(SECONDS + 2), out, str(RATE)])
    while not os.path.exists(out + ".ready"):
        time.sleep(0.01)
    summary, cpu = {}, 0.0
    if how != "none":
        cmd = [os.path.join(BUILD, "pybpfctl"), "--no-daemon", "record", "--json", "-q", "-r", str(hz),
               "-d", str(SECONDS), "-p", str(w.pid), "-o", os.path.join(d, "p.pb.gz")]
        if how == "no-tasks":
            cmd.append("--no-tasks")
        before = child_cpu()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
        cpu = child_cpu() - before
        summary = json.loads(p.stdout.strip().splitlines()[-1])
    w.wait()
    return float(open(out).read()), summary, cpu


def main():
    d = tempfile.mkdtemp(prefix="pybpf-bench-")
    with open(os.path.join(d, "w.py"), "w") as f:
        f.write(WORKLOAD)
    print(f"{RATE} tasks a second of ~1 ms each, {SECONDS} s recordings, {REPEATS} interleaved runs, {PY}")
    for hz in (99, 999):
        res = {k: [] for k in ("none", "tasks", "no-tasks")}
        for _ in range(REPEATS):
            for how in res:
                res[how].append(run(d, how, hz))
        base = statistics.median(r[0] for r in res["none"])
        print(f"\n{hz} Hz: unprofiled {base:.0f} tasks/s")
        for how in ("tasks", "no-tasks"):
            rs = res[how]
            med = lambda f: statistics.median(f(r) for r in rs)
            print(f"  {how:9s} {med(lambda r: r[0]):6.0f} tasks/s ({base / med(lambda r: r[0]):.3f}), "
                  f"new stacks {med(lambda r: r[1]['new_stacks']):6.0f}, "
                  f"task reads {med(lambda r: r[1]['task_reads']):5.0f}, misses {med(lambda r: r[1]['task_misses']):5.0f}, "
                  f"pybpfctl {med(lambda r: r[2]):.2f} CPU s ({100 * med(lambda r: r[2]) / SECONDS:.1f} % of a core)")


if __name__ == "__main__":
    sys.exit(main())
