#!/usr/bin/python3
"""One server, one big maildrop (bench/scale_mailbox.sh): how long a session takes as the maildrop grows.

mailbox_load.py NAME PORT USER REPS ROOTPID [BASE_RSS_KB BASE_PSS_KB]
  first:  the first session ever on the maildrop (Dovecot builds its index here): connect, USER, PASS,
          STAT, LIST, QUIT, each reply read before the next command, in milliseconds
  warm:   the same session REPS times more, the median; and the server's CPU per session (its threads'
          run time, bench/cpu.py tree_run_ns: on a loaded machine the time waits for a CPU, the CPU
          does not)
  uidl:   REPS sessions timing UIDL alone (after the login), the median
  memory: the server's process tree (RSS, PSS, KB) while a session is logged in after LIST, less
          BASE (the tree just after the server started; default: just before that session), so that
          memory a server kept from earlier sessions counts; and (pss_session_kb) less the tree's PSS
          just before that session, which leaves out what the first login started (Dovecot's auth
          processes) and what the session reused.
Prints one key=value line and, with BENCH_TSV_DIR, a row of scale_mailbox.tsv (bench/tsv.py)."""
import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu import tree_mem, tree_run_ns  # noqa: E402
from tsv import emit  # noqa: E402

name, port, user, reps, root = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
base = (0, int(sys.argv[6]), int(sys.argv[7])) if len(sys.argv) > 7 else None


class Client:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.buf = b""
        self.line()

    def line(self):
        while b"\n" not in self.buf:
            c = self.s.recv(1 << 20)
            if not c:
                raise EOFError
            self.buf += c
        ln, _, self.buf = self.buf.partition(b"\n")
        return ln

    def multi(self):  # a multi-line reply up to ".": the number of lines (linear in the reply's size)
        first = self.line()
        assert first.startswith(b"+OK"), first
        parts = [b"\r\n" + self.buf]  # the +OK line's CRLF: a reply without lines is just "."
        window = parts[0]
        while b"\r\n.\r\n" not in window:  # only the newest bytes are searched
            c = self.s.recv(1 << 20)
            if not c:
                raise EOFError
            parts.append(c)
            window = window[-4:] + c
        data = b"".join(parts)
        i = data.index(b"\r\n.\r\n") + 2
        n = data.count(b"\n", 2, i)
        self.buf = data[i + 3:]
        return n

    def cmd(self, c):
        self.s.sendall(c + b"\r\n")
        r = self.line()
        assert r.startswith(b"+OK"), (c, r)
        return r

    def login(self):
        self.cmd(b"USER " + user.encode())
        self.cmd(b"PASS pw")
        return int(self.cmd(b"STAT").split()[1])

    def list(self):
        self.s.sendall(b"LIST\r\n")
        return self.multi()

    def quit(self):
        self.cmd(b"QUIT")
        self.s.close()


def session(mem=False):
    before = tree_mem({root}) if mem else None
    t = time.perf_counter()
    c = Client()
    n = c.login()
    listed = c.list()
    el = time.perf_counter() - t  # the memory session's time is not used: /proc is read below
    grown = None
    if mem:
        _, rss, pss = tree_mem({root})
        start = base or before
        grown = (rss - start[1], pss - start[2], pss - before[2])
    c.quit()
    assert listed == n, (listed, n)
    return el * 1000, n, grown


first_ms, n, _ = session()
cpu0 = tree_run_ns({root})
warm = [session()[0] for _ in range(reps)]
cpu_ms = (tree_run_ns({root}) - cpu0) / 1e6 / reps
_, _, (rss_kb, pss_kb, pss_session_kb) = session(mem=True)
uidl = []
for _ in range(reps):
    c = Client()
    c.login()
    t = time.perf_counter()
    c.s.sendall(b"UIDL\r\n")
    got = c.multi()
    uidl.append((time.perf_counter() - t) * 1000)
    c.quit()
    assert got == n, (got, n)
emit("scale_mailbox", [("server", name), ("msgs", n), ("first_ms", f"{first_ms:.1f}"),
                       ("login_stat_list_ms", f"{statistics.median(warm):.2f}"), ("cpu_ms", f"{cpu_ms:.2f}"),
                       ("uidl_ms", f"{statistics.median(uidl):.2f}"), ("rss_kb", rss_kb), ("pss_kb", pss_kb), ("pss_session_kb", pss_session_kb)])
