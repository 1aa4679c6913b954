"""dump of a stack that changes all the time (a recursion that goes up and
down every few microseconds): of 100 dumps at most one is incomplete, and
none is torn (every frame but the innermost at its call line).  With
--nonblocking nothing is held still: a stack may come out partial, but then
it says so; one that does not say so is whole.  The running thread is
shown active and holding the GIL (in 90 % of the dumps at least)."""
import json
import subprocess

from pybpf_testlib import PYBPFCTL, check, interp_from_argv, line_of

DUMPS = 100

it = interp_from_argv()
script = it.workload("churn.py")
rec_line = line_of(it.host(script), "# REC CALL LINE")
main_line = line_of(it.host(script), "# MAIN CALL LINE")


def torn(frames):
    """A frame other than the innermost away from its call line."""
    for f in frames[1:]:
        if f["name"] == "rec" and f["line"] != rec_line:
            return f
        if f["name"] == "main" and f["line"] != main_line:
            return f
        if f["name"] not in ("rec", "main", "<module>"):
            return f
    return None


def dumps(n, extra):
    global gil, active
    failed = silent_torn = stopped = 0
    for _ in range(n):
        p = subprocess.run([PYBPFCTL, "--no-daemon", "dump", "--pid", str(proc.pid), "--json"] + extra,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if p.returncode != 0:
            print(f"dump failed: {p.stderr.strip()}")
            failed += 1
            continue
        (t,) = json.loads(p.stdout)["threads"]
        stopped += t["stopped"]
        gil += t["gil"] is True
        active += t["active"] is True
        if t["partial"] or t["error"]:
            check(t["partial"] and t["error"], f"an incomplete stack says partial and why ({t['error']})")
            failed += 1
            continue
        bad = torn(t["frames"])
        if bad:
            print(f"torn: {bad} in {[(f['name'], f['line']) for f in t['frames']]}")
            silent_torn += 1
        elif not t["frames"] or t["frames"][-1]["name"] != "<module>":
            print(f"not down to <module>: {t['frames']}")
            silent_torn += 1
    return failed, silent_torn, stopped


gil = active = 0
proc = subprocess.Popen(it.cmd(script, 120), stdout=subprocess.PIPE, text=True)
try:
    check(proc.stdout.readline().strip() == "ready", "the churning recursion runs")
    failed, silent_torn, stopped = dumps(DUMPS, [])
    print(f"{DUMPS} dumps: {failed} incomplete, {silent_torn} torn, {stopped} held the thread still")
    check(failed <= 1, f"at most 1 of {DUMPS} dumps incomplete ({failed})")
    check(silent_torn == 0, f"no torn stack among {DUMPS} dumps ({silent_torn})")
    # its one thread runs Python all the time: it holds the GIL and is on CPU
    check(gil >= 0.9 * DUMPS, f"the running thread holds the GIL in {gil} of {DUMPS} dumps (at least 90 %)")
    check(active >= 0.9 * DUMPS, f"and is active in {active} of {DUMPS}")
    failed, silent_torn, stopped = dumps(30, ["--nonblocking"])
    print(f"30 --nonblocking dumps: {failed} partial, {silent_torn} torn, {stopped} held still")
    check(stopped == 0, "--nonblocking never holds the thread still")
    check(silent_torn == 0, "--nonblocking: a stack not marked partial is whole")
    check(proc.poll() is None, "the workload survived being held still")
finally:
    proc.kill()
    proc.wait()
print("PASS")
