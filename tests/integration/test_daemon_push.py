"""pybpfd push: a Pyroscope-style receiver on loopback gets every window as
POST /ingest?name=SERVICE{...}&from=&until=&format=pprof&sampleRate=&spyName=;
stopped for several windows and started again, it still gets every window,
and none twice.  The spool (on as well) is the list of windows made."""
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pybpf_testlib import Daemon, Pprof, WORKLOADS, check, end, fail, free_port, spawn_python, tmpdir

WINDOW = 2


class Receiver:
    def __init__(self, port):
        self.port = port
        self.got = []  # (name, from, until, query, body)
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                url = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(url.query)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if url.path != "/ingest":
                    self.send_response(404)
                    self.end_headers()
                    return
                with rec.lock:
                    rec.got.append((q["name"][0], q["from"][0], q["until"][0], q, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def window_key(name, frm):
    return (name.split("{", 1)[0], int(frm))


def spool_keys(d):
    keys = set()
    for f in d.spool_files():
        base = os.path.basename(f)[:-len(".pb.gz")]
        svc, stamp = base.rsplit("-", 1)
        t = time.strptime(stamp, "%Y%m%dT%H%M%SZ")
        import calendar
        keys.add((svc, calendar.timegm(t)))
    return keys


def main():
    port = free_port()
    rx = Receiver(port)
    rx.start()
    work = tmpdir()
    conf = {"window_s": str(WINDOW), "push": "true", "push_url": f"http://127.0.0.1:{port}",
            "push_backoff_max_s": "2", "push_timeout_s": "5", "push_labels": "env=test"}
    d = Daemon(conf, workdir=work)
    busy = os.path.join(WORKLOADS, "busy.py")
    a = spawn_python([busy], env={"PYBPF_SERVICE": "pushed"})
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with rx.lock:
                mine = [g for g in rx.got if g[0].startswith("pushed")]
            if len(mine) >= 2:
                break
            time.sleep(0.1)
        check(len(mine) >= 2, f"the receiver got windows of the service: {len(mine)}")
        name, frm, until, q, body = mine[0]
        check(name == "pushed{env=test}", f"name with labels: {name}")
        check(q["format"] == ["pprof"] and q["spyName"] == ["pybpf"] and q["sampleRate"] == ["99"],
              f"format, spyName, sampleRate: {q['format']} {q['spyName']} {q['sampleRate']}")
        check(0 < int(until) - int(frm) <= WINDOW + 2, f"from {frm} until {until}")
        path = os.path.join(work, "pushed.pb.gz")
        with open(path, "wb") as f:
            f.write(body)
        prof = Pprof(path)
        check(any(l["name"] == "spin" for _, locs, _ in prof.stacks() for l in locs),
              "a pushed body reads back with go tool pprof, spin() in it")
        # the backend goes away for a while
        rx.stop()
        print("receiver stopped", flush=True)
        time.sleep(WINDOW * 3 + 1)
        st = d.ctl_json("status")
        push = [e for e in st["exports"] if e["name"] == "push"][0]
        check(push["queued"] >= 2 and push["failed"] >= 1 and push["last_error"],
              f"while it is down: {push['queued']} queued, {push['failed']} failures, "
              f"last error {push['last_error']!r}")
        rx.start()
        print("receiver restarted", flush=True)
        time.sleep(WINDOW)
        end(a)
        check(d.stop(15) == 0, "SIGTERM: exit status 0")
        # what is still queued goes out at the next start
        d2 = Daemon(conf, workdir=work)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st = d2.ctl_json("status")
            push = [e for e in st["exports"] if e["name"] == "push"][0]
            if push["queued"] == 0:
                break
            time.sleep(0.2)
        check(push["queued"] == 0, "the queue drains after the restart")
        made = spool_keys(d)
        got = [window_key(g[0], g[1]) for g in rx.got]
        dups = {k for k in got if got.count(k) > 1}
        check(not dups, f"no window arrived twice ({len(got)} received)")
        missing = made - set(got)
        check(not missing, f"every one of the {len(made)} windows of the first run arrived: missing {sorted(missing)}")
        check(d2.stop(15) == 0, "the second daemon stops cleanly")
    finally:
        end(a)
        for dd in ("d", "d2"):
            x = locals().get(dd)
            if x and x.proc.poll() is None:
                x.stop(9)


if __name__ == "__main__":
    main()
