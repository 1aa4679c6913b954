"""The cost of database time tracking: uprobes on the drivers' calls
(daemon/native/drivers.c), each call two traps into the kernel (entry and
return) and a nested one two more.  A loop of the smallest statements,
as fast as it goes (the worst case): SQLite in memory, `SELECT ?` (Python's
sqlite3: a cached statement's step, and the step that ends it: two probed
calls a query), and PostgreSQL over loopback, `SELECT 1`
through psycopg2 (PQexec: one); queries per second
unprofiled, under `pybpfctl io` (wall mode: sched_switch, perf events
and the uprobes) and under the same without the uprobes (PYBPF_DB_PROBES=0:
`io-noprobes`), interleaved, ratio of medians, with the none-vs-none noise
floor of the same runs; the uprobe programs' own run time per call
(kernel.bpf_stats_enabled).  PostgreSQL: a throw-away cluster (initdb,
pg_ctl on a loopback port) made here.

    python3 bench/bench_db.py [sqlite|pg ...]"""
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import BUILD, PY

REPEATS = int(os.environ.get("PYBPF_BENCH_REPEATS", "7"))
SECONDS = 3
PG_BIN = "/usr/lib/postgresql/15/bin"
WORKLOAD = r'''
import os, sys, time
mode, where, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
if mode == "sqlite":
    import sqlite3
    conn = sqlite3.connect(":memory:")
    def query(i):
        conn.execute("SELECT ?", (i,)).fetchone()
else:
    import psycopg2
    conn = psycopg2.connect(host="127.0.0.1", port=int(where), dbname="postgres", user="postgres")
    conn.autocommit = True
    cur = conn.cursor()
    def query(i):
        cur.execute("SELECT 1")
        cur.fetchone()
for i in range(1000):
    query(i)
open(out + ".ready", "w").close()
time.sleep(1.5)  # the capture attached
n, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    query(n)
    n += 1
open(out, "w").write(str(n / seconds))
'''
PROGS = ("on_db_call", "on_db_sql2", "on_db_sql3", "on_db_prepare", "on_db_step", "on_db_call_ret")


def prog_stats():
    return benchlib.prog_stats(PROGS)


def once(mode, db, where, probes=True):
    d = tempfile.mkdtemp(prefix="pybpf-bench-")
    wl = os.path.join(d, "wl.py")
    open(wl, "w").write(WORKLOAD)
    out = os.path.join(d, "rate")
    proc = subprocess.Popen([PY, wl, db, str(where), str(SECONDS), out])
    while not os.path.exists(out + ".ready"):
        if proc.poll() is not None:
            sys.exit(f"the {db} workload exited {proc.returncode}")
        time.sleep(0.01)
    tool, stats = None, [0, 0]
    if mode:
        tool = subprocess.Popen([os.path.join(BUILD, "pybpfctl"), "--no-daemon", mode, "--pid", str(proc.pid),
                                 "-d", str(SECONDS + 3), "--json", "-r", "99"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=dict(os.environ, PYBPF_DB_PROBES="1" if probes else "0"))
    proc.wait()
    if tool:
        stats = prog_stats()
        tool.wait()
    rate = float(open(out).read())
    shutil.rmtree(d, ignore_errors=True)
    return rate, stats


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_start():
    d = tempfile.mkdtemp(prefix="pybpf-bench-pg-")
    os.chmod(d, 0o755)
    pw = pwd.getpwnam("postgres")
    os.chown(d, pw.pw_uid, pw.pw_gid)
    port = free_port()
    run = lambda *a: subprocess.run(["runuser", "-u", "postgres", "--", *a], check=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run(os.path.join(PG_BIN, "initdb"), "-D", os.path.join(d, "data"), "-A", "trust", "-U", "postgres")
    run(os.path.join(PG_BIN, "pg_ctl"), "-D", os.path.join(d, "data"), "-l", os.path.join(d, "log"), "-w", "-o",
        f"-p {port} -k {d} -c listen_addresses=127.0.0.1", "start")
    return port, lambda: run(os.path.join(PG_BIN, "pg_ctl"), "-D", os.path.join(d, "data"), "-m", "immediate",
                             "-w", "stop")


def series(db, where):
    res = {"none": [], "none2": [], "io-noprobes": [], "io": []}
    per_call = []
    for _ in range(REPEATS):
        for mode in res:
            before = prog_stats()
            tool = None if mode.startswith("none") else "io"
            rate, (ns, cnt) = once(tool, db, where, probes=mode == "io")
            res[mode].append(rate)
            if cnt - before[1] > 0:
                per_call.append((ns - before[0]) / (cnt - before[1]))
    base = statistics.median(res["none"])
    print(f"{db}: {SECONDS} s timed, {REPEATS} interleaved runs each; queries/s")
    for mode, rates in res.items():
        med = statistics.median(rates)
        print(f"{mode:>8}: median {med:9.0f}/s  slowdown {base / med:.4f}")
    noprobes, probes = statistics.median(res["io-noprobes"]), statistics.median(res["io"])
    print(f"  the uprobes' own: slowdown {noprobes / probes:.4f}, "
          f"{1e6 * (1 / probes - 1 / noprobes):.2f} us a query")
    if per_call:
        print(f"  uprobe programs: median {statistics.median(per_call):.0f} ns a call (their run time, "
              f"not the traps)")


def main():
    with benchlib.bpf_stats():
        for db in sys.argv[1:] or ("sqlite", "pg"):
            if db == "pg":
                port, stop = pg_start()
                try:
                    series("pg", port)
                finally:
                    stop()
            else:
                series("sqlite", "-")


if __name__ == "__main__":
    main()
