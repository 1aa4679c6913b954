"""What the machine did meanwhile, for workloads whose truth is a thread's
own clock: a virtual machine's CPUs are stolen a share of the time (its
hypervisor runs others), which the thread's clock leaves out and a sampler
on the guest's timers (perf's cpu-clock) partly counts."""
import json


def cpu_ticks():
    """(steal, all) ticks of every CPU so far (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[7], sum(v)


def steal_share(before, after):
    """The share of the CPUs' time stolen between two cpu_ticks()."""
    return (after[0] - before[0]) / max(1, after[1] - before[1])


def run_threads(started, out, **truth):
    """Start the threads, wait for them all, and write OUT (JSON): the
    caller's truth (its dicts filled by the threads) and "steal", the share
    of the CPUs' time stolen while they ran."""
    before = cpu_ticks()
    for t in started:
        t.start()
    for t in started:
        t.join()
    truth["steal"] = steal_share(before, cpu_ticks())
    with open(out, "w") as f:
        json.dump(truth, f)
