"""`pybpfctl record -- COMMAND`, locally and through pybpfd: the command's exit
status is pybpfctl's (its code, 128+signal, 127 when not found), and with -d
the recording ends at d seconds and the command is stopped: SIGINT, then
SIGTERM, then SIGKILL, each after a grace period.  A command of a few
milliseconds is profiled too (held, stopped, once its interpreter is up,
until it is registered), with its own exit status and output.  A program
that never becomes Python is let go, not held."""
import os
import subprocess
import time

from pybpf_testlib import PYBPFCTL, PYTHON, Daemon, Pprof, check, tmpdir

def run(prefix, args, command, timeout=60):
    cmd = [PYBPFCTL] + prefix + ["record", "-q"] + args + ["--"] + command
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    took = time.monotonic() - t0
    print(f"  -> rc {p.returncode} after {took:.1f} s: {p.stderr.strip()[-400:]}", flush=True)
    return p, took


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def scenarios(prefix, where):
    d = tmpdir()
    out = os.path.join(d, "p.pb.gz")

    p, _ = run(prefix, ["-o", out], [PYTHON, "-c", "import time, sys; time.sleep(0.5); sys.exit(3)"])
    check(p.returncode == 3 and os.path.getsize(out) > 0, f"{where}: sys.exit(3) gives 3, and a profile")

    p, _ = run(prefix, ["-o", out], [PYTHON, "-c",
                                      "import os, signal, time; time.sleep(0.5); os.kill(os.getpid(), signal.SIGSEGV)"])
    check(p.returncode == 128 + 11, f"{where}: a segfault gives 139")

    # short ones: held until registered, then run on
    for code, rc in (("pass", 0), ("import sys; sys.exit(3)", 3),
                     ("import os; os.kill(os.getpid(), 11)", 139), ("print('hello')", 0)):
        p, took = run(prefix, ["--json", "-o", out], [PYTHON, "-c", code])
        summary = {}
        for line in p.stdout.splitlines():
            if line.startswith("{"):
                import json
                summary = json.loads(line)
        check(p.returncode == rc and summary.get("python", "").startswith("3.") and
              summary.get("duration_s", 99) < 2 and os.path.getsize(out) > 0,
              f"{where}: a short command ({code!r}) is profiled: rc {p.returncode}, "
              f"{summary.get('samples')} samples over {summary.get('duration_s')} s")
        if code.startswith("print"):
            check("hello" in p.stdout, f"{where}: ... and its output is there")

    p, took = run(prefix, ["-o", out], ["bash", "-c", "sleep 5"])
    check(p.returncode == 1 and "no CPython" in p.stderr and took < 10,
          f"{where}: a program that is no Python is let go after 3 s, and said ({took:.1f} s)")

    p, _ = run(prefix, ["-o", out], ["/nonexistent/command"])
    check(p.returncode == 127 and "/nonexistent/command" in p.stderr, f"{where}: a missing command gives 127, named")

    # -d 2 on a command that would run 60 s: ended at 2 s by SIGINT, rc 0.
    os.unlink(out)
    spin = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: sum(range(1000))\n"
    p, took = run(prefix, ["-d", "2", "-o", out], [PYTHON, "-c", spin])
    check(p.returncode == 0, f"{where}: -d 2 on a longer command succeeds")
    check("KeyboardInterrupt" in p.stderr and took < 30,
          f"{where}: the command was interrupted (SIGINT), not waited for (took {took:.1f} s)")
    prof = Pprof(out)
    check(prof.total() > 99, f"{where}: the profile covers the 2 s ({prof.total()} samples)")

    # A command that ignores SIGINT gets SIGTERM: its handler records it.
    marker = os.path.join(d, "term")
    code = (f"import signal, sys, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            f"def term(*a):\n    open({marker!r}, 'w').close()\n    sys.exit(5)\n"
            f"signal.signal(signal.SIGTERM, term)\ntime.sleep(60)\n")
    p, took = run(prefix, ["-d", "1", "-o", out], [PYTHON, "-c", code])
    check(p.returncode == 0 and os.path.exists(marker) and "SIGTERM" in p.stderr,
          f"{where}: a command deaf to SIGINT gets SIGTERM after the grace period")

    # One that ignores both is killed; nothing is left running.
    pidfile = os.path.join(d, "pid")
    code = (f"import os, signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            f"signal.signal(signal.SIGTERM, signal.SIG_IGN)\nopen({pidfile!r}, 'w').write(str(os.getpid()))\n"
            f"time.sleep(60)\n")
    p, took = run(prefix, ["-d", "1", "-o", out], [PYTHON, "-c", code])
    pid = int(open(pidfile).read())
    check(p.returncode == 0 and "SIGKILL" in p.stderr and not alive(pid),
          f"{where}: a command deaf to SIGINT and SIGTERM is killed, and gone")


scenarios(["--no-daemon"], "local")
daemon = Daemon()
try:
    scenarios(["--socket", daemon.socket], "pybpfd")
finally:
    daemon.stop()
print("PASS")
