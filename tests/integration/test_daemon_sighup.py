"""pybpfd reloads its configuration on SIGHUP: a new rate_hz changes the
sampling rate of processes already profiled (samples per second of a busy
process scale with it); flags still override the file; a broken file keeps
the running configuration.  A reload is all or nothing: a pull_listen whose
port is taken leaves the running endpoint serving, the error logged and in
status; one that can be opened replaces the old endpoint, which closes only
after."""
import os
import signal
import socket
import time
import urllib.request

from pybpf_testlib import Daemon, Pprof, WORKLOADS, check, end, free_port, spawn_python


def rate_of(d, pid, seconds=4):
    """Samples per second of pid: a pull profile of that many seconds."""
    path = os.path.join(d.dir, "rate.pb.gz")
    with open(path, "wb") as f:
        f.write(d.http(f"/debug/pprof/profile?seconds={seconds}&pid={pid}")[1])
    return Pprof(path).total() / seconds


def wait_log(d, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in d.log_text():
            return True
        time.sleep(0.05)
    return False


def main():
    d = Daemon({"rate_hz": "49", "window_s": "1"}, args=["--set", "log_level=info"])
    a = spawn_python([os.path.join(WORKLOADS, "busy.py")], env={"PYBPF_SERVICE": "hup"})
    try:
        time.sleep(3)
        before = rate_of(d, a.pid)
        check(d.ctl_json("status")["rate_hz"] == 49, "starts at 49 Hz")
        d.conf["rate_hz"] = "199"
        d.write_conf()
        d.signal(signal.SIGHUP)
        check(wait_log(d, "configuration reloaded: 199 Hz"), "SIGHUP reloads the file (logged)")
        check(d.ctl_json("status")["rate_hz"] == 199, "status says 199 Hz")
        time.sleep(3)
        after = rate_of(d, a.pid)
        ratio = after / before if before else 0
        check(2.8 < ratio < 5.2, f"samples per second follow the rate: {before:.1f}/s -> {after:.1f}/s "
                                 f"(x{ratio:.2f}, expected about x{199 / 49:.2f})")
        m = d.metrics()
        check(m[("pybpf_rate_hz", ())] == 199, "/metrics says 199 Hz")
        # a broken file: the running configuration stays
        with open(d.conf_path, "a") as f:
            f.write("rate_hz = lots\n")
        d.signal(signal.SIGHUP)
        check(wait_log(d, "<3>reload:"), "a bad file is an error at priority 3")
        check(d.ctl_json("status")["rate_hz"] == 199, "... and the running configuration stays")
        st = d.ctl_json("status")
        check("rate_hz" in st["reload_error"], f"status says why: {st['reload_error']!r}")
        d.write_conf()  # the good file again

        # a pull_listen that looks right but whose port is taken
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        old_port = d.port
        d.conf["pull_listen"] = f"127.0.0.1:{taken}"
        d.conf["rate_hz"] = "99"
        d.write_conf()
        d.signal(signal.SIGHUP)
        check(wait_log(d, f"reload: pull endpoint 127.0.0.1:{taken}"), "a port in use is an error")
        code, body = d.http("/metrics")
        check(code == 200 and b"pybpf_rate_hz 199" in body,
              "the running endpoint still answers, at the running rate (nothing applied)")
        st = d.ctl_json("status")
        check(st["rate_hz"] == 199 and f"127.0.0.1:{taken}" in st["reload_error"],
              f"status keeps 199 Hz and says why: {st['reload_error']!r}")
        pull = [e for e in st["exports"] if e["name"] == "pull"][0]
        check(pull["target"] == f"127.0.0.1:{old_port}", f"... still serving {pull['target']}")
        busy.close()

        # a usable new address: the new endpoint serves, the old is closed
        new_port = free_port()
        d.conf["pull_listen"] = f"127.0.0.1:{new_port}"
        d.write_conf()
        d.signal(signal.SIGHUP)
        check(wait_log(d, "configuration reloaded: 99 Hz"), "a usable address reloads")
        body = urllib.request.urlopen(f"http://127.0.0.1:{new_port}/metrics", timeout=5).read()
        check(b"pybpf_rate_hz 99" in body, "the new endpoint answers")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{old_port}/metrics", timeout=5)
            check(False, "the old endpoint is closed")
        except OSError:
            check(True, "the old endpoint is closed")
        check(d.ctl_json("status")["reload_error"] == "", "a good reload clears the error")
        d.port = new_port
        check(d.stop(15) == 0, "SIGTERM: exit 0")
    finally:
        end(a)
        if d.proc.poll() is None:
            d.stop(9)


if __name__ == "__main__":
    main()
