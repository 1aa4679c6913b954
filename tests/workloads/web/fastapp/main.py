"""The FastAPI site: async endpoints, CPU in the coroutine (the loop's
thread), the sleeps awaited."""
import asyncio
import time

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

import webwork

app = FastAPI()


@app.get("/cpu/", response_class=PlainTextResponse)
async def cpu():
    return webwork.cpu()


@app.get("/sleep/", response_class=PlainTextResponse)
async def sleepy():
    t0 = time.perf_counter()
    await asyncio.sleep(webwork.SLEEP_MS / 1000)
    return f"{(time.perf_counter() - t0) * 1000:.3f}"


@app.get("/mixed/", response_class=PlainTextResponse)
async def mixed():
    t0 = time.perf_counter()
    webwork.burn(webwork.MIXED_MS)
    await asyncio.sleep(webwork.MIXED_MS / 1000)
    return f"{(time.perf_counter() - t0) * 1000:.3f}"
