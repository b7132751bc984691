#!/usr/bin/python3
"""CPU and memory of a server's whole process tree, from /proc.

As a command:  cpu.py PID...   prints the CPU seconds (user+system, with reaped children's) used so far by
these processes and all their descendants; run before and after a load and subtract.
As a module:   tree_cpu(roots) -> seconds;  tree_mem(roots) -> (processes, rss_kb, pss_kb);
               tree_run_ns(roots) -> nanoseconds on a CPU of the live threads (schedstat: fine-grained,
               for work of a few milliseconds; processes that exited meanwhile are not counted)."""
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def _procs():
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        out[int(d)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))  # ppid; utime+stime+cutime+cstime
    return out


def tree(roots, procs=None):
    procs = procs or _procs()
    kids = {}
    for pid, (ppid, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    out, stack = set(), [r for r in roots if r in procs]
    while stack:
        p = stack.pop()
        if p not in out:
            out.add(p)
            stack.extend(kids.get(p, []))
    return out, procs


def tree_cpu(roots):
    pids, procs = tree(roots)
    return sum(procs[p][1] for p in pids) / TICK


def tree_run_ns(roots):
    pids, _ = tree(roots)
    total = 0
    for p in pids:
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0])
        except (OSError, ValueError):
            continue
    return total


def tree_mem(roots):
    pids, _ = tree(roots)
    n = rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                vals = {l.split(":")[0]: int(l.split()[1]) for l in f if l.rstrip().endswith("kB")}
        except (OSError, ValueError):
            continue
        n += 1
        rss += vals.get("Rss", 0)
        pss += vals.get("Pss", 0)
    return n, rss, pss


if __name__ == "__main__":
    print(f"{tree_cpu({int(p) for p in sys.argv[1:]}):.2f}")
