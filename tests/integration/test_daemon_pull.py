"""pybpfd pull: /debug/pprof/profile?seconds=N (narrowed by pid= and
service=) gives a profile go tool pprof reads; /metrics parses as
Prometheus text with the numbers the daemon has; `pybpfctl top` refreshes
and quits on q."""
import os
import pty
import select
import time

from pybpf_testlib import (Daemon, PYBPFCTL, Pprof, WORKLOADS, check, end, fail, spawn_python,
                           tmpdir)


def pids_in(path):
    return {lab.get("pid") for _, _, lab in Pprof(path).stacks()}


def main():
    d = Daemon({"window_s": "3"})
    busy = os.path.join(WORKLOADS, "busy.py")
    a = spawn_python([busy], env={"PYBPF_SERVICE": "pull-a"})
    b = spawn_python([busy], env={"PYBPF_SERVICE": "pull-b"})
    work = tmpdir()
    try:
        time.sleep(1.5)
        t0 = time.monotonic()
        status, body = d.http(f"/debug/pprof/profile?seconds=2&pid={a.pid}")
        took = time.monotonic() - t0
        check(status == 200 and 1.5 < took < 8, f"profile of 2 s answered in {took:.1f} s")
        path = os.path.join(work, "pull-pid.pb.gz")
        with open(path, "wb") as f:
            f.write(body)
        prof = Pprof(path)
        spin = sum(c for c, locs, _ in prof.stacks() if any(l["name"] == "spin" for l in locs))
        check(spin >= 0.8 * prof.total() and prof.total() >= 100,
              f"go tool pprof reads it: {prof.total()} samples, spin {spin}")
        check(pids_in(path) == {str(a.pid)}, f"pid= narrows to pid {a.pid}")
        _, body = d.http("/debug/pprof/profile?seconds=1&service=pull-b")
        with open(path, "wb") as f:
            f.write(body)
        check(pids_in(path) == {str(b.pid)}, f"service= narrows to pull-b (pid {b.pid})")
        for bad in ("seconds=0", "seconds=abc", "pid=-3"):
            try:
                d.http(f"/debug/pprof/profile?{bad}")
                fail(f"{bad} accepted")
            except Exception as e:  # urllib raises HTTPError for 4xx
                check(getattr(e, "code", 0) == 400, f"{bad}: HTTP {getattr(e, 'code', e)}")
        try:
            d.http("/debug/pprof/profile?seconds=1&pid=999999")
            fail("an unknown pid accepted")
        except Exception as e:
            check(getattr(e, "code", 0) == 404, f"an unknown pid: HTTP {getattr(e, 'code', e)}")
        time.sleep(3.5)  # a window, so the per-service metrics have something
        m = d.metrics()
        get = lambda name, **lab: m.get((name, tuple(sorted(lab.items()))))
        check(get("pybpf_processes") >= 2, f"/metrics parses; pybpf_processes {get('pybpf_processes')}")
        check(get("pybpf_samples_total") > 0, f"samples {get('pybpf_samples_total')}")
        sa = get("pybpf_service_samples_total", service="pull-a")
        check(sa is not None and sa > 200, f"per-service samples of pull-a: {sa}")
        held = get("pybpf_gil_held_seconds_total", service="pull-a")
        check(held is not None and held > 1.0, f"GIL held seconds of pull-a: {held}")
        for reason in ("ringbuf_full", "counts_map_full", "internal", "stack_lost"):
            check(get("pybpf_dropped_samples_total", reason=reason) is not None, f"drops by reason: {reason}")
        check(get("pybpf_offcpu_seconds_total", service="pull-a", reason="sleep") is not None,
              "off-CPU seconds by service and reason")
        # top: a live table on a terminal, q quits
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(PYBPFCTL, [PYBPFCTL, "--socket", d.socket, "top", "--pid", str(a.pid)])
        out = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and out.count(b"%Own") < 2:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    break
        if out.count(b"%Own") < 2 or b"spin" not in out:
            fail(f"top did not refresh its table with spin() in it; it printed:\n{out.decode(errors='replace')}")
        check(True, "top refreshes its table, spin() in it")
        os.write(fd, b"q")
        deadline = time.monotonic() + 5
        done = 0
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            try:
                select.select([fd], [], [], 0.1)
                os.read(fd, 65536)
            except OSError:
                pass
        if not done:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            fail("top did not quit on q")
        check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "top quits on q with status 0")
        once = d.ctl_json("top", "--pid", str(a.pid), "--once")
        check(once["rows"] and once["rows"][0]["function"] == "spin",
              f"top --once --json: first row {once['rows'][0] if once['rows'] else None}")
        # gil and io through the daemon (no second BPF load)
        g = d.ctl_json("gil", "--pid", str(a.pid), "-d", "2")
        check(g["pid"] == a.pid and g["held_pct"] > 80, f"gil through the daemon: held {g['held_pct']} %")
        io = d.ctl_json("io", "--pid", str(a.pid), "-d", "2")
        check(io["pid"] == a.pid and 1.5 < io["seconds"] < 6, f"io through the daemon over {io['seconds']} s")
        dump = d.ctl("dump", "--pid", str(a.pid)).stdout
        check("spin" in dump and "busy.py" in dump, "dump through the daemon")
        check(d.stop(15) == 0, "SIGTERM: exit 0")
    finally:
        end(a)
        end(b)
        if d.proc.poll() is None:
            d.stop(9)


if __name__ == "__main__":
    main()
