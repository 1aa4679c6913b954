"""The pull endpoint beyond loopback: without pull_token pybpfd refuses to
start (unless pull_insecure = true); with one, a request without
"Authorization: Bearer <token>" gets 401 and one with it the answer."""
import os
import subprocess
import urllib.error
import urllib.request

from pybpf_testlib import PYBPFD, Daemon, check, free_port, tmpdir

port = free_port()
d = tmpdir()
conf = os.path.join(d, "pybpfd.conf")
with open(conf, "w") as f:
    f.write(f"socket = {d}/sock\nsocket_group =\nspool_dir = {d}/spool\npush_queue_dir = {d}/queue\n"
            f"pull_listen = 0.0.0.0:{port}\n")
p = subprocess.run([PYBPFD, "-c", conf], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
check(p.returncode != 0 and "pull_token" in p.stderr and "not a loopback" in p.stderr,
      f"0.0.0.0 with no token: refused at start, rc {p.returncode}: {p.stderr.strip().splitlines()[-1:]}")

TOKEN = "s3cret-t0ken"
dm = Daemon({"pull_listen": f"0.0.0.0:{port}", "pull_token": TOKEN})
try:
    url = f"http://127.0.0.1:{port}/metrics"
    for hdr, want in ((None, 401), ("Bearer wrong", 401), ("Basic " + TOKEN, 401), ("Bearer " + TOKEN, 200)):
        rq = urllib.request.Request(url, headers={"Authorization": hdr} if hdr else {})
        try:
            code = urllib.request.urlopen(rq, timeout=10).status
            www = ""
        except urllib.error.HTTPError as e:
            code, www = e.code, e.headers.get("WWW-Authenticate", "")
        check(code == want and (want == 200 or www == "Bearer"), f"Authorization {hdr!r}: {code} (want {want})")
    p = subprocess.run([PYBPFD, "-c", dm.conf_path, "--check-config"], stdout=subprocess.PIPE, text=True)
    check(TOKEN not in p.stdout and "pull_token is set" in p.stdout, "--check-config does not print the token")
    check(dm.stop(15) == 0, "SIGTERM: exit 0")
finally:
    if dm.proc.poll() is None:
        dm.stop(9)
print("PASS")
