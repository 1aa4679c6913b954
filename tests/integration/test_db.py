"""Database time and statements: a wait inside a database client library's
call has the reason `db` (uprobes on the entry points of
daemon/native/drivers.c's libraries), whatever it waits on; the call's
statement is made a template in the kernel (its literals '?'), the `sql`
label of those waits, and its calls counted and timed by template.

- PostgreSQL (Debian's, a throw-away cluster made here with initdb, on a
  loopback port) through psycopg2 (libpq's PQexec): a worker that burns
  10 ms, runs `SELECT pg_sleep(0.03), 'secret-N'`, sleeps 10 ms.  Its db,
  sleep and CPU shares within 5 pp of what it measured around each call;
  its queries' stack at the execute line; locally (the probes put on a
  running process) and through pybpfd (which registered it at exec, before
  psycopg2 loaded libpq: found by its rescans).  `requests`: one template,
  its calls' rate within 15 % of the worker's, its p50 within the query's
  own time, its total the query's share (5 pp).  A wall pprof: the
  `reason=db` samples are the query's, as long, all labelled with the
  template.  No literal ("secret") anywhere; with `--no-sql-text` and
  pybpfd's `sql_text = false`, no statement at all, the time still db.
  Through pybpfd, every output of a query that runs on CPU in SQLite's
  engine: its windows (CPU profiles: query()'s samples, 95 % at least
  inside sqlite3_step, labelled with the one template, or none with an sql
  label at all), a pulled profile and /metrics.
- SQLite (CPython's sqlite3, libsqlite3): inserts whose values are in the
  text, committed with synchronous=FULL: their fsyncs are `db`, not
  `file`; one template, counted once a call (its prepare and its step)."""
import datetime
import gzip
import json
import os
import re
import subprocess
import time

from pybpf_testlib import PYBPFCTL, PYTHON, WORKLOADS, Daemon, Pprof, check, fail, line_of, tmpdir
from websites import Postgres

SCRIPT = os.path.join(WORKLOADS, "db.py")
SECONDS = 3
QUERY = {"pg": line_of(SCRIPT, "PG QUERY"), "sqlite": line_of(SCRIPT, "SQLITE QUERY")}
TEMPLATE = {"pg": "SELECT pg_sleep(?), ?", "sqlite": "INSERT INTO t VALUES (?, ?)"}
LOCAL = [PYBPFCTL, "--no-daemon"]


class Workload:
    """db.py, running until stop() (its own measure then in .own)."""

    def __init__(self, mode, where):
        self.mode = mode
        self.out = os.path.join(tmpdir(), "db.json")
        self.proc = subprocess.Popen([PYTHON, SCRIPT, mode, str(where), "120", self.out])
        for _ in range(3000):
            if os.path.exists(self.out):
                break
            if self.proc.poll() is not None:
                fail(f"db.py {mode} exited early ({self.proc.returncode})")
            time.sleep(0.01)
        time.sleep(0.5)  # some rounds in
        self.pid = self.proc.pid
        self.tid = json.load(open(self.out))["tid"]

    def stop(self):
        open(self.out + ".stop", "w").close()
        self.proc.wait(timeout=30)
        self.own = json.load(open(self.out + ".done"))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_json(how, argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    check(p.returncode == 0, f"{how}{' '.join(argv[2:4])} exits 0 ({p.stderr.strip()})")
    check("secret" not in p.stdout and "secret" not in p.stderr, f"{how}{argv[2]}: no literal in its output")
    return json.loads(p.stdout), p.stdout


def io_run(how, ctl, mode, where):
    with Workload(mode, where) as w:
        if how:  # pybpfd registered it at exec: its rescans find libpq
            time.sleep(2)
        r, _ = run_json(how, ctl + ["io", "--pid", str(w.pid), "-d", str(SECONDS), "--json"])
        w.stop()
    own = w.own["share"]
    th = {t["tid"]: t["seconds"] for t in r["per_thread"]}[w.tid]
    share = {k: v / r["seconds"] for k, v in th.items()}
    print(f"{how}{mode}: {json.dumps({k: round(v, 4) for k, v in share.items() if v})}, own {own}", flush=True)
    reasons = {x["reason"]: x for x in r["reasons"]}
    tops = reasons["db"]["top"]
    check(tops and tops[0]["stack"].startswith(f"query ({SCRIPT}:{QUERY[mode]})"),
          f"{how}{mode}: the top db stack is query's execute line ({tops[:1]})")
    # off CPU in query() for another reason than the database's, the GIL's
    # or the run queue's: none, but for a call already blocked when the
    # capture began (seeded from /proc with its system call's reason)
    other = sum(x["seconds"] for name, rs in reasons.items() if name not in ("db", "gil", "runqueue")
                for x in rs["top"] if x["stack"].startswith("query ("))
    check(other <= 0.035, f"{how}{mode}: query()'s waits are db, {other:.3f} s of other reasons")
    return share, own


def pg_checks(how, ctl, pg):
    share, own = io_run(how, ctl, "pg", pg.port)
    check(abs(share.get("db", 0) - own["query"]) <= 0.05,
          f"{how}pg: db {share.get('db', 0):.3f} of the time, query() {own['query']:.3f} by its own clock (± 0.05)")
    check(abs(share.get("sleep", 0) - own["nap"]) <= 0.05,
          f"{how}pg: sleep {share.get('sleep', 0):.3f}, nap() {own['nap']:.3f} (± 0.05)")
    check(abs(share.get("cpu", 0) + share.get("runqueue", 0) - own["burn"]) <= 0.05,
          f"{how}pg: cpu + runqueue {share.get('cpu', 0) + share.get('runqueue', 0):.3f}, burn() "
          f"{own['burn']:.3f} (± 0.05)")
    check(share.get("socket", 0) <= 0.035 / SECONDS + 1e-9, f"{how}pg: socket {share.get('socket', 0):.3f}")


def statements(mode, where, *extra):
    """`requests --json` of a workload; its own measure."""
    with Workload(mode, where) as w:
        r, _ = run_json("", LOCAL + ["requests", "--pid", str(w.pid), "-d", str(SECONDS), "--json", *extra])
        w.stop()
    print(f"requests {mode} {' '.join(extra)}: {json.dumps(r['sql'])}; db_calls {r['db_calls']}, untracked "
          f"{r['db_calls_untracked']}; own {w.own}", flush=True)
    return r, w.own


def sql_checks(mode, where):
    r, own = statements(mode, where)
    check(r["sql_text"] and [s["statement"] for s in r["sql"]] == [TEMPLATE[mode]],
          f"requests {mode}: one statement, {TEMPLATE[mode]!r} ({[s['statement'] for s in r['sql']]})")
    s = r["sql"][0]
    rate = s["count"] / r["seconds"]
    check(abs(rate - own["rate"]) <= 0.15 * own["rate"],
          f"requests {mode}: {rate:.1f} calls/s, the worker's {own['rate']:.1f} (± 15 %)")
    mean_ms = 1000 * own["share"]["query"] / own["rate"]  # query() around each call
    floor = 30 if mode == "pg" else 0
    check(floor <= s["p50_ms"] <= mean_ms * 1.25 and s["p50_ms"] <= s["p99_ms"] <= s["max_ms"],
          f"requests {mode}: p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f}, max {s['max_ms']:.2f} "
          f"(query() {mean_ms:.2f} ms a call)")
    check(abs(s["total_ms"] / 1000 / r["seconds"] - own["share"]["query"]) <= 0.05,
          f"requests {mode}: {s['total_ms'] / 1000 / r['seconds']:.3f} of the time in it, query() "
          f"{own['share']['query']:.3f} (± 0.05)")


def wall_profile(ctl, pg, *extra, daemon=False):
    """A wall pprof of the pg workload, `record --mode wall` (locally, or
    through pybpfd, after its rescans found libpq)."""
    path = os.path.join(tmpdir(), "wall.pb.gz")
    with Workload("pg", pg.port) as w:
        if daemon:
            time.sleep(2)
        r, _ = run_json("", ctl + ["record", "-q", "--mode", "wall", "--pid", str(w.pid), "-d", str(SECONDS),
                                   "-o", path, "--json", *extra])
        secs = r["duration_s"]
        w.stop()
    raw = gzip.decompress(open(path, "rb").read())
    return Pprof(path), secs, w.own["share"], raw


def label_checks(how, prof, secs, own, raw):
    db = [(locs, v, labels) for s, (_, locs, labels) in zip(prof.samples, prof.stacks())
          if labels.get("reason") == "db" for v in (s["value"],)]
    db_s = sum(v for _, v, _ in db) / 1e9
    check(abs(db_s / secs - own["query"]) <= 0.05,
          f"{how}wall pprof: reason=db {db_s / secs:.3f} of the time, query() {own['query']:.3f} (± 0.05)")
    outside = [locs[0]["name"] for locs, _, _ in db
               if not any(l["name"] == "query" and l["file"] == SCRIPT for l in locs)]
    check(db and not outside, f"{how}wall pprof: every db sample ({len(db)} stacks) is in query() (not: {outside[:3]})")
    sqls = {labels.get("sql") for _, _, labels in db}
    check(sqls == {TEMPLATE["pg"]}, f"{how}wall pprof: db samples labelled sql={TEMPLATE['pg']!r} ({sqls})")
    check(b"secret" not in raw, f"{how}wall pprof: no literal in the profile's bytes")


def window_start(prof):
    """A profile's time (its window's start), in seconds since the epoch."""
    m = re.search(r"^Time: (\S+ \S+) ", prof.text, re.M)
    day, frac = (m.group(1) + ".0").split(".")[:2]
    return datetime.datetime.strptime(day, "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp() + float("0." + frac)


def daemon_outputs(how, daemon, text):
    """Everything pybpfd shows of a running sqlcpu workload: its windows (CPU
    profiles: a sample of query() inside sqlite3_step carries the call's
    statement, normalised), a pulled profile and /metrics.  With sql_text off, no
    statement anywhere."""
    path = os.path.join(tmpdir(), "pull.pb.gz")
    with Workload("sqlcpu", tmpdir()) as w:
        time.sleep(2)  # its rescans find libsqlite3
        probed = time.time()  # the windows from here on: every call probed
        status, body = daemon.http(f"/debug/pprof/profile?seconds={SECONDS}&pid={w.pid}")
        time.sleep(2.5)  # the window of the pull's end spooled
        w.stop()
    check(status == 200, f"{how}pull: HTTP {status}")
    with open(path, "wb") as f:
        f.write(body)
    Pprof(path)  # it reads
    blobs = {"the pulled profile": gzip.decompress(body), "/metrics": daemon.http("/metrics")[1]}
    inside = []  # the sql labels of query()'s samples
    for sp in daemon.spool_files():
        blobs[os.path.basename(sp)] = gzip.decompress(open(sp, "rb").read())
        prof = Pprof(sp)
        if window_start(prof) < probed:
            continue
        inside += [labels.get("sql") for n, locs, labels in prof.stacks()
                   if labels.get("pid") == str(w.pid) and
                   any(loc["name"] == "query" and loc["file"] == SCRIPT for loc in locs) for _ in range(n)]
    labelled = [x for x in inside if x]
    check(len(inside) >= 20, f"{how}the spooled windows since the probes ({len(blobs) - 2} in all) hold "
          f"{len(inside)} CPU samples in query()")
    if text:
        # the rest of query() (its f-string, fetchall) runs outside the call
        check(len(labelled) >= 0.95 * len(inside) and len(set(labelled)) == 1 and
              labelled[0].startswith("SELECT count(*), ? FROM (WITH RECURSIVE"),
              f"{how}windows: {len(labelled)} of them labelled with the one template ({set(labelled)})")
        leaks = [n for n, b in blobs.items() if b"secret" in b]
        check(not leaks, f"{how}no literal in {len(blobs)} outputs (found in {leaks})")
    else:
        check(not labelled, f"{how}windows: none of those labelled sql ({set(labelled)})")
        leaks = [n for n, b in blobs.items() if b"RECURSIVE" in b or b"secret" in b]
        check(not leaks, f"{how}no statement in {len(blobs)} outputs (found in {leaks})")


def no_text_checks(how, prof, raw):
    db = [s for s in prof.samples if s["labels"].get("reason") == "db"]
    check(db and not any("sql" in s["labels"] for s in prof.samples),
          f"{how}sql_text off: {len(db)} db samples, no sql label")
    check(b"pg_sleep" not in raw and b"secret" not in raw, f"{how}sql_text off: no statement in the profile's bytes")


pg = Postgres()
try:
    pg_checks("", LOCAL, pg)
    sql_checks("pg", pg.port)
    label_checks("", *wall_profile(LOCAL, pg))
    prof, _, _, raw = wall_profile(LOCAL, pg, "--no-sql-text")
    no_text_checks("--no-sql-text: ", prof, raw)
    r, _ = statements("pg", pg.port, "--no-sql-text")
    check(not r["sql_text"] and r["sql"] == [], f"requests --no-sql-text: no statement ({r['sql']})")

    daemon = Daemon({"db_time": "true"})
    try:
        pg_checks("through pybpfd: ", [PYBPFCTL, "--socket", daemon.socket], pg)
        label_checks("pybpfd: ", *wall_profile([PYBPFCTL, "--socket", daemon.socket], pg, daemon=True))
        m = daemon.http("/metrics")[1].decode()
        check("pybpf_db_seconds_total{" in m and "secret" not in m, "pybpfd: /metrics has pybpf_db_seconds_total")
        daemon_outputs("pybpfd: ", daemon, True)
    finally:
        daemon.stop()
    daemon = Daemon({"db_time": "true", "sql_text": "false"})
    try:
        prof, _, _, raw = wall_profile([PYBPFCTL, "--socket", daemon.socket], pg, daemon=True)
        no_text_checks("pybpfd sql_text = false: ", prof, raw)
        daemon_outputs("pybpfd sql_text = false: ", daemon, False)
    finally:
        daemon.stop()
finally:
    pg.stop()

# SQLite: its fsyncs are the database's time
share, own = io_run("", LOCAL, "sqlite", tmpdir())
check(share.get("db", 0) > 0 and share.get("db", 0) <= own["query"] + 0.02,
      f"sqlite: db {share.get('db', 0):.4f} of the time, within query()'s {own['query']:.4f}")
check(share.get("file", 0) <= 0.035 / SECONDS, f"sqlite: file {share.get('file', 0):.4f}")
sql_checks("sqlite", tmpdir())
print("PASS")
