"""Endpoint labels: every sample of a thread in a view carries `endpoint`,
the module-qualified view the framework dispatched to (dispatch.c's table).
Real sites from Debian's packages, each with three views of known cost
(tests/workloads/web: a CPU burn, a sleep, a class-based view doing half of
each), driven by a load loop that collects each view's own time:

- Django under gunicorn (sync worker) and Flask under gunicorn (gthread
  worker): in a wall profile the endpoints' shares of the labelled time are
  the views' shares of their own time (within 5 pp), the labelled time is
  the views' own time in the capture (within 10 %), the CPU part splits as
  the views burn (cpu 2/3, mixed 1/3), and pybpfd, recording at the same
  time, gives the same shares; `go tool pprof -tags` shows the labels.
- FastAPI under uvicorn (async endpoints, on the loop's thread): the CPU
  samples carry the endpoint and split as the endpoints burn."""
import os
import threading
import time

from pybpf_testlib import PYTHON, Daemon, Pprof, check, record
from websites import PATHS, Load, Site, by_endpoint, shares, tags

SECONDS = 5
RATE = 999  # the CPU split's noise at 2 s of CPU: 1 pp (3 pp at 99 Hz)
CPU_MS, SLEEP_MS, MIXED_MS = 20, 30, 10  # webwork.py's


def wsgi_site(name, argv, views):
    """views: path -> the endpoint name its samples must carry."""
    site = Site(name, argv)
    daemon = None
    try:
        pid = site.worker()
        load = Load(site)
        time.sleep(1)  # the worker warm
        daemon = Daemon(conf={"rate_hz": str(RATE)})
        local_out, remote_out = os.path.join(site.dir, "local.pb.gz"), os.path.join(site.dir, "daemon.pb.gz")
        res = {}

        def remote():
            p = daemon.ctl("record", "--pid", str(pid), "-d", str(SECONDS), "-m", "wall", "-o", remote_out, "-q")
            res["rc"] = p.returncode

        t = threading.Thread(target=remote)
        t.start()
        summary = record(["--pid", str(pid), "-d", str(SECONDS), "-r", str(RATE), "-m", "wall", "-o", local_out],
                         local=True)
        t1 = time.monotonic()
        t.join()
        load.stop()
    finally:
        if daemon:
            daemon.stop()
        site.stop()
    check(res.get("rc") == 0, f"{name}: pybpfd's record exits 0 ({res.get('rc')})")
    own = load.own(t1 - summary["duration_s"], t1)
    want = shares(own)
    print(f"{name}: requests {dict((p, len(r)) for p, r in load.done.items())}, own time in the capture "
          + ", ".join(f"{p} {own[p]:.2f} s" for p in PATHS), flush=True)

    lp, rp = Pprof(local_out), Pprof(remote_out)
    wall, cpu = by_endpoint(lp), by_endpoint(lp, "cpu")
    print(f"{name}: endpoints (wall s) " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(wall.items())), flush=True)
    check(set(wall) == set(views.values()),
          f"{name}: the endpoints are the views ({sorted(wall)} / {sorted(views.values())})")
    got = shares(wall)
    for p, ep in views.items():
        check(abs(got.get(ep, 0) - want[p]) <= 0.05,
              f"{name}: {ep}'s share of the endpoints' wall time {100 * got.get(ep, 0):.1f} % "
              f"(the views' own time: {100 * want[p]:.1f} %)")
    labelled, owned = sum(wall.values()), sum(own.values())
    check(abs(labelled - owned) <= 0.10 * owned,
          f"{name}: time labelled with an endpoint {labelled:.2f} s, the views' own {owned:.2f} s")
    c = shares(cpu)
    check(abs(c.get(views["cpu"], 0) - CPU_MS / (CPU_MS + MIXED_MS)) <= 0.05
          and abs(c.get(views["mixed"], 0) - MIXED_MS / (CPU_MS + MIXED_MS)) <= 0.05
          and c.get(views["sleep"], 0) <= 0.03,
          f"{name}: on CPU, the endpoints split as the views burn "
          + ", ".join(f"{k} {100 * v:.1f} %" for k, v in sorted(c.items())))
    sleeps = sum(s["value"] for s in lp.samples if s["labels"].get("endpoint") == views["sleep"]
                 and s["labels"].get("reason") == "sleep") / 1e9
    check(sleeps >= 0.9 * wall.get(views["sleep"], 0),
          f"{name}: {views['sleep']} waits in sleep ({sleeps:.2f} of {wall.get(views['sleep'], 0):.2f} s)")

    rgot = shares(by_endpoint(rp))
    for ep in views.values():
        check(abs(rgot.get(ep, 0) - got.get(ep, 0)) <= 0.05,
              f"{name}: pybpfd's share of {ep} {100 * rgot.get(ep, 0):.1f} %, local {100 * got.get(ep, 0):.1f} %")
    text = tags(local_out)
    check("endpoint:" in text and all(ep in text for ep in views.values()),
          f"{name}: go tool pprof -tags lists the endpoints")


wsgi_site("django/gunicorn", [PYTHON, "-m", "gunicorn", "-w", "1", "-b", "127.0.0.1:PORT", "shop.wsgi:application"],
          {"cpu": "shop.views.cpu", "sleep": "shop.views.sleepy", "mixed": "shop.views.Mixed.get"})
wsgi_site("flask/gunicorn-gthread",
          [PYTHON, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", "2", "-b", "127.0.0.1:PORT",
           "flaskapp.app:app"],
          {"cpu": "flaskapp.app.cpu", "sleep": "flaskapp.app.sleepy", "mixed": "flaskapp.app.Mixed.get"})

# --- FastAPI under uvicorn: async endpoints on the loop's thread ----------------
site = Site("fastapi/uvicorn", [PYTHON, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "PORT",
                                "--log-level", "warning", "fastapp.main:app"])
try:
    load = Load(site)
    time.sleep(1)
    out = os.path.join(site.dir, "fastapi.pb.gz")
    record(["--pid", str(site.worker()), "-d", str(SECONDS), "-r", str(RATE), "-o", out], local=True)
    load.stop()
finally:
    site.stop()
prof = Pprof(out)
cpu = by_endpoint(prof)
print("fastapi: endpoints (cpu s) " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(cpu.items())), flush=True)
want = {"fastapp.main.cpu", "fastapp.main.sleepy", "fastapp.main.mixed"}
check(set(cpu) <= want and {"fastapp.main.cpu", "fastapp.main.mixed"} <= set(cpu),
      f"fastapi: the endpoints are the views ({sorted(cpu)})")
c = shares(cpu)
check(abs(c.get("fastapp.main.cpu", 0) - CPU_MS / (CPU_MS + MIXED_MS)) <= 0.05
      and abs(c.get("fastapp.main.mixed", 0) - MIXED_MS / (CPU_MS + MIXED_MS)) <= 0.05,
      "fastapi: on CPU, the async endpoints split as they burn "
      + ", ".join(f"{k} {100 * v:.1f} %" for k, v in sorted(c.items())))
burnt = sum(len(load.done[p]) * ms for p, ms in (("cpu", CPU_MS), ("mixed", MIXED_MS))) / 1000
print(f"fastapi: requests {dict((p, len(r)) for p, r in load.done.items())}, burnt {burnt:.2f} s", flush=True)
print("ok")
