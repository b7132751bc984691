#!/usr/bin/python3
"""Memory per idle SMTP session (adapted from the reference set-up's mem_idle_conns.py).

mem_idle.py PORT N ROOTPID [NAME]: opens N connections, reads the greeting, says EHLO, keeps them idle; sums RSS
and PSS over the server's process tree before and after (+2 s settle) and prints the delta per connection (and a
TSV row "smtp_idle" with BENCH_TSV_DIR, bench/tsv.py)."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu import tree_mem  # noqa: E402
from tsv import emit  # noqa: E402

port, n, root = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
name = sys.argv[4] if len(sys.argv) > 4 else "server"


def reply(s):
    b = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError
        b += chunk
        lines = b.split(b"\r\n")
        if len(lines) >= 2 and lines[-2][3:4] == b" ":
            return b


n0, rss0, pss0 = tree_mem({root})
socks = []
t0 = time.time()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    reply(s)
    s.sendall(b"EHLO client%d.example.org\r\n" % i)
    reply(s)
    socks.append(s)
opened = time.time() - t0
time.sleep(2)
n1, rss1, pss1 = tree_mem({root})
emit("smtp_idle", [("conns", n), ("processes", f"{n0}->{n1}"), ("rss_kb_per_conn", f"{(rss1 - rss0) / n:.2f}"),
                   ("pss_kb_per_conn", f"{(pss1 - pss0) / n:.2f}"), ("open_s", f"{opened:.1f}"), ("server", name)])
for s in socks:
    s.close()
