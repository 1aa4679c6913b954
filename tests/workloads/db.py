"""Database waits of known length, for test_db.

    db.py pg PORT SECONDS OUT
    db.py sqlite DIR SECONDS OUT
    db.py sqlcpu DIR SECONDS OUT

One thread (`worker`) loops: burn() spins ~10 ms, query() makes one
database call, nap() sleeps 10 ms.  pg: `SELECT pg_sleep(0.03), 'secret-N'`
through psycopg2 (which puts the parameters in the text: libpq's PQexec,
the thread blocked on the server's socket); sqlite: a row `(N, 'secret-N')`
inserted, its values in the text, and committed with synchronous=FULL
(SQLite's fsyncs of its journal and database file).  sqlcpu: a query
of an in-memory database that counts to 200000 in SQLite's engine (CPU
inside sqlite3_step), 'secret-N' in its text.  N counts the calls:
no two texts are the same, one template is ("SELECT pg_sleep(?), ?").
Writes OUT once the loop runs: {"tid": worker's native tid}; and OUT.done
at the end: each function's share of the loop's wall time, as the worker
measured it around each call ("share": {"burn", "query", "nap"}), and the
queries per second ("rate").  A file OUT.stop ends it early.
"""
import json
import os
import sys
import threading
import time

mode, where, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
end = time.monotonic() + seconds
spent = {"burn": 0.0, "query": 0.0, "nap": 0.0}
calls = [0]

if mode == "pg":
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=int(where), dbname="postgres", user="postgres")
    conn.autocommit = True
    cur = conn.cursor()

    def query():
        calls[0] += 1
        cur.execute("SELECT pg_sleep(%s), %s", (0.03, f"secret-{calls[0]}"))  # PG QUERY
        cur.fetchall()
elif mode == "sqlite":
    import sqlite3

    conn = sqlite3.connect(os.path.join(where, "db.sqlite"), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER, y TEXT)")

    def query():
        calls[0] += 1
        conn.execute(f"INSERT INTO t VALUES ({calls[0]}, 'secret-{calls[0]}')")  # SQLITE QUERY
elif mode == "sqlcpu":
    import sqlite3

    conn = sqlite3.connect(":memory:", check_same_thread=False)

    def query():
        calls[0] += 1
        conn.execute(f"SELECT count(*), 'secret-{calls[0]}' FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                     "SELECT x + 1 FROM c WHERE x < 200000) SELECT x FROM c)").fetchall()
else:
    sys.exit(f"unknown mode {mode}")


def burn():
    until = time.monotonic() + 0.01
    x = 0
    while time.monotonic() < until:
        x += 1  # BURN LINE


def nap():
    time.sleep(0.01)  # NAP LINE


def worker():
    with open(out + ".tmp", "w") as f:
        json.dump({"tid": threading.get_native_id()}, f)
    os.rename(out + ".tmp", out)
    t_start = time.monotonic()
    while time.monotonic() < end and not os.path.exists(out + ".stop"):
        for fn in (burn, query, nap):
            t0 = time.monotonic()
            fn()
            spent[fn.__name__] += time.monotonic() - t0
    total = time.monotonic() - t_start
    with open(out + ".done.tmp", "w") as f:
        json.dump({"share": {k: v / total for k, v in spent.items()}, "rate": calls[0] / total}, f)
    os.rename(out + ".done.tmp", out + ".done")


t = threading.Thread(target=worker, name="worker")
t.start()
t.join()
