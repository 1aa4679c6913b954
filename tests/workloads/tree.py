"""A tree of Python processes, each busy in a function named for how it
started, for `record --subprocesses`.

    tree.py SECONDS OUT

The parent spins in hot_parent while it starts: a multiprocessing child by
fork (hot_fork), one by spawn (hot_spawn), a subprocess running this file
again (hot_subprocess), and a shell whose own child is Python (hot_shell: a
Python below a non-Python parent); each spins SECONDS in its function; the
subprocess's own child outlives it (hot_orphan, twice as long).  Writes OUT
(JSON) once all have ended: {"pids": {function: pid}, "cpu": {function: [CPU
seconds of its process while it spun, and when the spin began and ended
(monotonic)]}, "orphan_end": the monotonic time the
orphan ended, "steal": the share of the CPUs' time the hypervisor took
meanwhile (machine.py)}.
"""
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time

from machine import cpu_ticks, steal_share


def spin(seconds):
    """Spins a quarter of the time (5 ms of every 20: six processes want
    1.5 of the machine's 2 CPUs, so none waits for one, which would make
    the scheduler's slices and the sampler's timer alias); its CPU seconds
    and when it began and ended (monotonic)."""
    c0, t0 = time.process_time(), time.monotonic()
    end = t0 + seconds
    x = 0
    while time.monotonic() < end:
        busy = time.monotonic() + 0.005
        while time.monotonic() < busy:
            for i in range(200):
                x += i
        time.sleep(0.015)
    return [time.process_time() - c0, t0, time.monotonic()]


def cmdline():
    """This process's command line as /proc has it, NULs as spaces."""
    with open("/proc/self/cmdline", "rb") as f:
        return f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")


def hot_fork(seconds, q):
    q.put(("hot_fork", os.getpid(), spin(seconds), cmdline()))


def hot_spawn(seconds, q):
    q.put(("hot_spawn", os.getpid(), spin(seconds), cmdline()))


def hot_parent(seconds):
    return spin(seconds)


def report(path, name, cpu, **more):
    with open(path, "w") as f:
        json.dump({"pids": {name: os.getpid()}, "cpu": {name: cpu}, "cmdline": {name: cmdline()}, **more}, f)


def hot_subprocess(seconds, out):
    # a child that outlives this process: an orphan the capture still follows
    subprocess.Popen([sys.executable, __file__, "--orphan", str(seconds), out + ".orphan"])
    report(out + ".sub", "hot_subprocess", spin(seconds))


def hot_orphan(seconds, out):
    cpu = spin(2 * seconds)
    report(out, "hot_orphan", cpu, orphan_end=time.monotonic())


def hot_shell(seconds, out):
    report(out, "hot_shell", spin(seconds))


def main(seconds, out):
    truth = {"pids": {"hot_parent": os.getpid()}, "cpu": {}, "cmdline": {"hot_parent": cmdline()}}
    before = cpu_ticks()
    fork, spawn = mp.get_context("fork"), mp.get_context("spawn")
    queues = [fork.Queue(), spawn.Queue()]
    kids = [fork.Process(target=hot_fork, args=(seconds, queues[0])),
            spawn.Process(target=hot_spawn, args=(seconds, queues[1]))]
    for k in kids:
        k.start()
    sub = subprocess.Popen([sys.executable, __file__, "--sub", str(seconds), out])
    shell = subprocess.Popen(["/bin/sh", "-c", f'"{sys.executable}" "{__file__}" --shell {seconds} "{out}.shell"; true'])
    truth["cpu"]["hot_parent"] = hot_parent(seconds)
    for q in queues:
        name, pid, cpu, cmd = q.get(timeout=60)
        truth["pids"][name] = pid
        truth["cpu"][name] = cpu
        truth["cmdline"][name] = cmd
    for k in kids:
        k.join()
    sub.wait()
    shell.wait()
    for part in (".sub", ".shell", ".orphan"):
        while not os.path.exists(out + part):
            time.sleep(0.05)
        with open(out + part) as f:
            r = json.load(f)
        truth["pids"].update(r["pids"])
        truth["cpu"].update(r["cpu"])
        truth["cmdline"].update(r["cmdline"])
        truth["orphan_end"] = r.get("orphan_end", truth.get("orphan_end"))
    truth["steal"] = steal_share(before, cpu_ticks())
    with open(out, "w") as f:
        json.dump(truth, f)


if __name__ == "__main__":
    if sys.argv[1] == "--sub":
        hot_subprocess(float(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "--orphan":
        hot_orphan(float(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "--shell":
        hot_shell(float(sys.argv[2]), sys.argv[3])
    else:
        main(float(sys.argv[1]), sys.argv[2])
