"""`pybpfctl requests` at the socket on the other servers of
tests/workloads/web, each driven by the load loop that collects each view's
own time (a CPU burn of 20 ms, a sleep of 30 ms, 10 ms of each):

- Flask under gunicorn's gthread worker (a thread pool: the request read on
  one thread of the worker, answered by it);
- Flask under gunicorn with two sync workers, measured at the master with
  --subprocesses (its workers found from /proc as it starts): both workers
  and the master measured, their requests added up;
- FastAPI under uvicorn (async endpoints on the event loop's thread; with
  Debian's uvloop installed uvicorn runs libuv's loop: read and write, not
  recv and send).

For each view: its request count within 15 % of those the load loop saw
answered in the window; its p50 latency at least the view's own time two
ranks below its median (websites.p50_floor), at most 1.25 times its own
p50 + 3 ms; every route named by its view, except the async
sleep's (it awaits on the loop: no sampled stack of it need be in the view),
which is named by its view or by its route."""
import json
import subprocess
import time

from pybpf_testlib import PYBPFCTL, PYTHON, check
from websites import PATHS, Load, Site, p50_floor

SECONDS = 4


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return {int(x) for x in f.read().split()}


def measure(site, views, sleep_unnamed=False, tree=False):
    """`requests` of the site's worker, or with tree of its master and all its
    workers (--subprocesses): the same figures, added up."""
    try:
        site.worker()  # up
        pid = site.proc.pid if tree else site.worker()
        load = Load(site)
        time.sleep(1)  # the worker warm
        p = subprocess.run([PYBPFCTL, "--no-daemon", "requests", "--pid", str(pid), "-d", str(SECONDS), "--json"]
                           + (["--subprocesses"] if tree else []),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        t1 = time.monotonic()
        load.stop()
        workers = children(site.proc.pid) if tree else set()
    finally:
        site.stop()
    name = site.name
    check(p.returncode == 0, f"{name}: requests exits 0 ({p.stderr.strip()})")
    r = json.loads(p.stdout)
    if tree:
        check(len(workers) == 2 and {pid} | workers <= set(r["pids"]),
              f"{name}: the master {pid} and its workers {sorted(workers)} measured ({r['pids']})")
    else:
        check(r["pids"] == [pid], f"{name}: the one worker measured ({r['pids']})")
    t0 = t1 - r["seconds"]
    h = r["http"]
    print(f"{name}: http {json.dumps(h)}", flush=True)
    check(h.get("requests_lost") == 0, f"{name}: requests measured, none lost ({h.get('requests_lost')})")
    routes = {x["route"]: x["endpoint"] for x in h["routes"]}
    eps = {e["endpoint"]: e for e in r["endpoints"]}
    for q in PATHS:
        route = f"GET /{q}/"
        ep = routes.get(route)
        named = ep == views[q] or (sleep_unnamed and q == "sleep" and ep == "")
        check(named, f"{name}: {route} is {views[q]} ({ep!r}; routes {routes})")
        e = eps.get(ep or route, {})
        mine = sorted(1000 * o for end, o in load.done[q] if t0 <= end <= t1)
        served, own50, floor = len(mine), mine[len(mine) // 2], p50_floor(mine)
        check(abs(e.get("requests", 0) - served) <= 0.15 * served,
              f"{name}: {route}: {e.get('requests')} requests, {served} answered in the window (± 15 %)")
        p50 = e.get("latency_ms_p50", 0)
        check(floor <= p50 <= 1.25 * own50 + 3,
              f"{name}: {route}: latency p50 {p50:.2f} ms, p99 {e.get('latency_ms_p99', 0):.2f} ms "
              f"(the view's own p50 {own50:.2f} ms; at least {floor:.2f}, its own two ranks below; "
              f"at most 1.25 x + 3)")


measure(Site("flask/gunicorn-gthread",
             [PYTHON, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads", "2", "-b", "127.0.0.1:PORT",
              "flaskapp.app:app"]),
        {"cpu": "flaskapp.app.cpu", "sleep": "flaskapp.app.sleepy", "mixed": "flaskapp.app.Mixed.get"})
# a master and two sync workers, measured at the master: one client's
# requests go to either worker, and add up to what it saw answered
measure(Site("flask/gunicorn-sync-2",
             [PYTHON, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:PORT", "flaskapp.app:app"]),
        {"cpu": "flaskapp.app.cpu", "sleep": "flaskapp.app.sleepy", "mixed": "flaskapp.app.Mixed.get"},
        tree=True)
measure(Site("fastapi/uvicorn", [PYTHON, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "PORT",
                                 "--log-level", "warning", "fastapp.main:app"]),
        {"cpu": "fastapp.main.cpu", "sleep": "fastapp.main.sleepy", "mixed": "fastapp.main.mixed"},
        sleep_unnamed=True)
print("ok")
