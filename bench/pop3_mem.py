#!/usr/bin/python3
"""pop3_mem.py NAME PORT N ROOTPID USERFMT: N logged-in idle POP3 sessions (USER/PASS on USERFMT % k, k=1..N),
then the server tree's RSS/PSS per session (a TSV row "pop3_mem" too with BENCH_TSV_DIR, bench/tsv.py; adapted from the reference set-up's mem_idle_conns.py)."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu import tree_mem  # noqa: E402
from tsv import emit  # noqa: E402

name, port, n, root, fmt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]


def line(s):
    b = b""
    while not b.endswith(b"\n"):
        c = s.recv(4096)
        if not c:
            raise EOFError
        b += c
    return b


_, rss0, pss0 = tree_mem({root})
socks = []
for k in range(1, n + 1):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    line(s)
    s.sendall(b"USER " + (fmt % k).encode() + b"\r\n")
    assert line(s).startswith(b"+OK")
    s.sendall(b"PASS pw\r\n")
    r = line(s)
    assert r.startswith(b"+OK"), r
    socks.append(s)
time.sleep(2)
procs, rss1, pss1 = tree_mem({root})
emit("pop3_mem", [("test", "mem"), ("server", name), ("sessions", n), ("processes", procs),
                  ("rss_kb_per_session", f"{(rss1 - rss0) / n:.2f}"), ("pss_kb_per_session", f"{(pss1 - pss0) / n:.2f}")])
for s in socks:
    s.close()
