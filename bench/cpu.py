#!/usr/bin/python3
"""cpu.py PID...: CPU seconds (user+system) used so far by these processes and all their descendants,
including children already reaped (cutime/cstime). Run before and after a load; subtract."""
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    # fields[0] is state (field 3): utime is field 14, so index 11.
    return int(fields[1]), sum(int(x) for x in fields[11:15])


def main():
    roots = {int(p) for p in sys.argv[1:]}
    parent, ticks = {}, {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                parent[int(d)], ticks[int(d)] = stat(d)
            except (OSError, ValueError):
                pass
    total = 0
    for pid in ticks:
        p = pid
        while p and p not in roots:
            p = parent.get(p, 0)
        if p:
            total += ticks[pid]
    print(f"{total / TICK:.2f}")


main()
