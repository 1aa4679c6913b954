"""The test sites of tests/workloads/web (servers started and driven by a
load loop that collects each view's own time), and a throw-away PostgreSQL
cluster: what test_endpoints and test_requests share."""
import http.client
import os
import pwd
import subprocess
import threading
import time

from pybpf_testlib import WORKLOADS, fail, free_port, tmpdir

WEB = os.path.join(WORKLOADS, "web")
PATHS = ("cpu", "sleep", "mixed")
PG_BIN = "/usr/lib/postgresql/15/bin"


class Postgres:
    """A cluster of its own in a temporary directory, owned by the
    postgres user (initdb refuses root), on a free loopback port; stop()
    at the end."""

    def __init__(self):
        self.dir = tmpdir()
        os.chmod(self.dir, 0o755)
        pw = pwd.getpwnam("postgres")
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres")
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")

    def run(self, tool, *args):
        p = subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PG_BIN, tool), *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        if p.returncode != 0:
            fail(f"{tool} failed ({p.returncode}): {p.stdout}")

    def stop(self):
        self.run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")


class Site:
    """A server of tests/workloads/web (argv: PORT is its port), answering."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.port = free_port()
        self.dir = tmpdir()
        self.log_path = os.path.join(self.dir, "server.log")
        env = dict(os.environ, PYTHONPATH=WEB, PYTHONDONTWRITEBYTECODE="1", **(env or {}))
        argv = [a.replace("PORT", str(self.port)) for a in argv]
        print("$ " + " ".join(argv), flush=True)
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(argv, cwd=WEB, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail(f"{name} exited {self.proc.returncode} at start:\n{self.log()}")
            try:
                self.get("cpu")
                return
            except OSError:
                time.sleep(0.1)
        fail(f"{name} did not answer in 60 s:\n{self.log()}")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", f"/{path}/")
            r = c.getresponse()
            body = r.read().decode()
            if r.status != 200:
                fail(f"{self.name}: GET /{path}/ answered {r.status}: {body[:200]}")
            return float(body)
        finally:
            c.close()

    def worker(self):
        """gunicorn's one worker (the master's child), else the server."""
        for _ in range(100):
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                kids = []
            if kids or "gunicorn" not in self.name:
                return kids[0] if kids else self.proc.pid
            time.sleep(0.1)
        fail(f"{self.name}: no worker")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Load:
    """One client in a loop over the views: each request's end (monotonic)
    and the view's own time."""

    def __init__(self, site, paths=PATHS, url=None):
        # url(p, i): the path the i-th request of p asks for (default p)
        self.site, self.paths, self.done = site, paths, {p: [] for p in paths}
        self.url = url or (lambda p, i: p)
        self.stopping, self.error = False, None
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        i = 0
        try:
            while not self.stopping:
                p = self.paths[i % len(self.paths)]
                own = self.site.get(self.url(p, i))
                self.done[p].append((time.monotonic(), own / 1000))
                i += 1
        except BaseException as e:  # fail() in this thread: said by stop()
            self.error = e

    def stop(self):
        self.stopping = True
        self.t.join()
        if self.error:
            fail(f"{self.site.name}: the load loop stopped: {self.error!r}")

    def own(self, t0, t1):
        """Each view's own time inside [t0, t1], s."""
        out = {}
        for p, reqs in self.done.items():
            out[p] = sum(max(0.0, min(end, t1) - max(end - own, t0)) for end, own in reqs)
        return out


def p50_floor(mine):
    """The least a report's p50 latency can be, from the view's own times
    (sorted) that the load saw answered in the same window.  Each request's
    latency holds its view's own time; the two sets differ only at the
    window's two edges, by one request of the load's one client at each (the
    report's by the server's write, the load's by the reply read): the
    report's median is at least the own times' order statistic two ranks
    below their median."""
    return mine[max(0, len(mine) // 2 - 2)]


def shares(d):
    tot = sum(d.values())
    return {k: v / tot if tot else 0.0 for k, v in d.items()}


def by_endpoint(prof, reason=None):
    out = {}
    for s in prof.samples:
        ep = s["labels"].get("endpoint")
        if ep and (reason is None or s["labels"].get("reason") == reason):
            out[ep] = out.get(ep, 0) + s["value"] / 1e9
    return out


def tags(path):
    env = dict(os.environ, HOME=os.environ.get("HOME", "/root"), GOCACHE="/tmp/pybpf-gocache")
    p = subprocess.run(["go", "tool", "pprof", "-tags", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    if p.returncode:
        fail(f"go tool pprof -tags {path}: {p.stderr.strip()}")
    return p.stdout
