"""An event loop whose stalls are known.  In "block" mode one coroutine
blocks the loop in time.sleep(50 ms) every 200 ms and another burns 50 ms
of CPU every 200 ms (half a period apart), beside tickers that wake every
5 ms; in "healthy" mode only the tickers run.  Every block is logged with
its start and end (time.monotonic).

    loop.py block|healthy asyncio|uvloop SECONDS OUT [LINGER]

Writes OUT.ready (JSON: the loop thread's native id) once the loop runs,
and OUT (JSON: {"blocks": [[kind, start, end], ...]}) at the end, which
comes after SECONDS or when OUT.stop appears; then lives LINGER seconds
more (default 0), its loop done."""
import asyncio
import json
import os
import sys
import threading
import time

mode, impl, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
blocks = []
end = time.monotonic() + seconds


def running():
    return time.monotonic() < end and not os.path.exists(out + ".stop")


def burn(until):
    while time.monotonic() < until: pass  # BURN LINE


async def sleeper():
    while running():
        await asyncio.sleep(0.2)
        t0 = time.monotonic()
        time.sleep(0.05)  # SLEEP LINE
        blocks.append(("sleep", t0, time.monotonic()))


async def burner():
    await asyncio.sleep(0.1)
    while running():
        await asyncio.sleep(0.2)
        t0 = time.monotonic()
        burn(t0 + 0.05)
        blocks.append(("cpu", t0, time.monotonic()))


async def ticker():
    while running():
        await asyncio.sleep(0.005)


async def main():
    with open(out + ".ready.tmp", "w") as f:
        json.dump({"tid": threading.get_native_id()}, f)
    os.rename(out + ".ready.tmp", out + ".ready")
    tasks = [asyncio.create_task(ticker(), name=f"ticker-{i}") for i in range(3)]
    if mode == "block":
        tasks += [asyncio.create_task(sleeper(), name="sleeper"), asyncio.create_task(burner(), name="burner")]
    await asyncio.gather(*tasks)


if impl == "uvloop":
    import uvloop
    uvloop.install()
asyncio.run(main())
with open(out + ".tmp", "w") as f:
    json.dump({"blocks": blocks}, f)
os.rename(out + ".tmp", out)
time.sleep(float(sys.argv[5]) if len(sys.argv) > 5 else 0)
