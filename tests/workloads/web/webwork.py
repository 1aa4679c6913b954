"""What the test sites' views do, measured by themselves: CPU (a burn of a
given thread CPU time) and sleep.  Each view answers with its own time in
ms, so that the load loop knows what each endpoint cost."""
import time

CPU_MS = 20  # the cpu view
SLEEP_MS = 30  # the sleep view
MIXED_MS = 10  # the mixed view: this much CPU, then this much sleep
SQL_MS = 30  # the query view: a statement the server sleeps in this long


def burn(ms):
    end = time.thread_time() + ms / 1000
    x = 0
    while time.thread_time() < end:
        for i in range(200):
            x += i * i
    return x


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return f"{(time.perf_counter() - t0) * 1000:.3f}"


def cpu():
    return timed(lambda: burn(CPU_MS))


def sleep():
    return timed(lambda: time.sleep(SLEEP_MS / 1000))


def mixed():
    return timed(lambda: (burn(MIXED_MS), time.sleep(MIXED_MS / 1000)))
