"""Task-aware stacks: asyncio.gather of three named tasks running the same
coroutine (tests/workloads/tasks.py), with known CPU shares that the
workload measures itself.  Recorded locally and through pybpfd, each
capture read by `go tool pprof -raw`: the CPU samples under worker() carry
the `task` label of their task, alpha/beta/gamma's shares of them within
±5 pp of the workload's own, all with `task_parents` Task-1 (the main task
awaits them through gather); --no-tasks leaves no label.  `dump --tasks
--json`, locally and through pybpfd: the five tasks, their states, the
coroutine each waits in at its line and the coroutines it awaits (idle:
asyncio.sleep()), what the main task awaits and who awaits the others.
Below worker() in the stacks, the main task's coroutines: run_all() at its
gather line, main() at its run_all line."""
import json
import os
import subprocess
import time

from pybpf_testlib import PYBPFCTL, Daemon, Pprof, check, interp_from_argv, line_of, record

it = interp_from_argv()
script = it.workload("tasks.py")
LINES = {m: line_of(it.host(script), f"# {m} LINE") for m in ("WORKER", "IDLE", "GATHER", "MAIN", "BURN")}
NAMES = ("alpha", "beta", "gamma")
TOL = 5.0
# ~4,000 samples in 4 s: a share's sampling error (1 sigma) under 1 pp
RATE = 999


def start(d, name):
    out = f"{d}/{name}.json"
    proc = subprocess.Popen(it.cmd(script, 120, out))
    for _ in range(1500):
        if os.path.exists(it.host(out + ".ready")) or proc.poll() is not None:
            break
        time.sleep(0.02)
    check(proc.poll() is None, "the workload runs")
    time.sleep(0.5)
    return proc, out


def cpu_so_far(proc, out):
    open(it.host(out + ".stop"), "w").close()
    proc.wait(timeout=60)
    return json.load(open(it.host(out)))["cpu"]


def check_profile(path, truth, how, labelled=True):
    prof = Pprof(path)
    by_task, in_worker, parents, chained = {}, 0, set(), 0
    base = os.path.basename(script)
    for count, locs, labels in prof.stacks():
        names = [l["name"] for l in locs]
        if "worker" not in names:
            continue
        in_worker += count
        # the awaiting task's coroutines right below the task's own, each
        # at its line: the gather tree reads as a call stack
        i = names.index("worker")
        up = [(l["name"], l["line"]) for l in locs[i + 1:i + 3] if l.get("file", "").endswith(base)]
        if up == [("run_all", LINES["GATHER"]), ("main", LINES["MAIN"])]:
            chained += count
        if "task" in labels:
            by_task[labels["task"]] = by_task.get(labels["task"], 0) + count
            parents.add(labels.get("task_parents", ""))
    check(in_worker > 1000, f"{how}: samples under worker() ({in_worker})")
    if not labelled:
        check(not by_task and not chained, f"{how}: no task label, no awaiting frame with --no-tasks ({by_task}, {chained})")
        return
    check(chained >= 0.95 * in_worker,
          f"{how}: worker() is called by run_all() at its gather line, called by main(), in the stacks "
          f"({chained} of {in_worker})")
    named = sum(by_task.get(n, 0) for n in NAMES)
    check(named >= 0.95 * in_worker,
          f"{how}: the samples under worker() name their task ({named} of {in_worker}: {by_task})")
    total_truth = sum(truth[n] for n in NAMES)
    for n in NAMES:
        got = 100.0 * by_task.get(n, 0) / named
        want = 100.0 * truth[n] / total_truth
        print(f"{how}: {n}: {got:.1f} % of the tasks' samples, the workload {want:.1f} %", flush=True)
        check(abs(got - want) <= TOL, f"{how}: {n}'s share {got:.1f} % within {TOL} pp of {want:.1f} %")
    check(parents == {"Task-1"}, f"{how}: the tasks are awaited by Task-1 ({parents})")


def check_dump(text, how):
    r = json.loads(text)
    tasks = {t["name"]: t for t in r["tasks"]}
    want = set(NAMES) | {"idle", "Task-1"}
    check(want <= set(tasks), f"{how}: dump --tasks lists {sorted(want)} ({sorted(tasks)})")
    check(r["tasks_total"] == len(r["tasks"]), f"{how}: every task shown ({r['tasks_total']})")
    base = os.path.basename(script)
    main, idle = tasks["Task-1"], tasks["idle"]
    check(main["coroutine"].startswith("main (") and main["coroutine"].endswith(f"{base}:{LINES['MAIN']})"),
          f"{how}: Task-1 waits in main() at its run_all line ({main['coroutine']})")
    check(main["awaiting"] == "_GatheringFuture", f"{how}: Task-1 awaits gather's future ({main['awaiting']})")
    check(idle["coroutine"].endswith(f"{base}:{LINES['IDLE']})"),
          f"{how}: idle waits at its sleep line ({idle['coroutine']})")
    # the await chain inside a task: the coroutine each one awaits
    check(len(main["stack"]) == 2 and main["stack"][0] == main["coroutine"] and
          main["stack"][1].startswith("run_all (") and main["stack"][1].endswith(f"{base}:{LINES['GATHER']})"),
          f"{how}: Task-1's stack is main(), then run_all() at its gather line ({main['stack']})")
    check(len(idle["stack"]) == 2 and idle["stack"][0] == idle["coroutine"] and
          idle["stack"][1].startswith("sleep (") and "asyncio/tasks.py:" in idle["stack"][1],
          f"{how}: idle awaits asyncio.sleep() in its stack ({idle['stack']})")
    for n in NAMES + ("idle",):
        t = tasks[n]
        check(t["state"] == "pending" and t["awaited_by"] == "Task-1",
              f"{how}: {n} pending, awaited by Task-1 ({t['state']}, {t['awaited_by']!r})")
    for n in NAMES:
        line = int(tasks[n]["coroutine"].rsplit(":", 1)[1].rstrip(")"))
        check(tasks[n]["coroutine"].startswith("worker (") and LINES["WORKER"] - 6 <= line <= LINES["WORKER"],
              f"{how}: {n} in worker() ({tasks[n]['coroutine']})")


d = it.tmpdir()
# locally: the shares, the parents, and --no-tasks
proc, out = start(d, "local")
try:
    p = subprocess.run([PYBPFCTL, "--no-daemon", "dump", "-p", str(proc.pid), "--tasks", "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    check(p.returncode == 0, f"dump --tasks exited 0 ({p.stderr.strip()})")
    check_dump(p.stdout, "local dump --tasks")
    local = it.host(d + "/local.pb.gz")
    summary = record(["-p", str(proc.pid), "-d", "4", "-r", str(RATE), "-o", local], local=True)
    check(summary["task_reads"] >= 1, f"the tasks were read ({summary['task_reads']} reads, "
          f"{summary['task_misses']} misses)")
    notasks = it.host(d + "/notasks.pb.gz")
    record(["-p", str(proc.pid), "-d", "2", "-r", str(RATE), "-o", notasks, "--no-tasks"], local=True)
finally:
    truth = cpu_so_far(proc, out)
check_profile(local, truth, "local")
check_profile(notasks, truth, "--no-tasks", labelled=False)

# through pybpfd: the same
daemon = Daemon(conf={"rate_hz": str(RATE)})
try:
    proc, out = start(d, "daemon")
    try:
        check_dump(daemon.ctl("dump", "-p", str(proc.pid), "--tasks", "--json").stdout, "pybpfd dump --tasks")
        via = it.host(d + "/daemon.pb.gz")
        daemon.ctl("record", "-q", "-p", str(proc.pid), "-d", "4", "-o", via)
    finally:
        truth = cpu_so_far(proc, out)
    check_profile(via, truth, "pybpfd")
finally:
    daemon.stop()
print("ok")
