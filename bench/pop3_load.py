#!/usr/bin/python3
"""POP3 load with Python's poplib (adapted from the reference set-up's pop3_clients.py), against 127.0.0.1.

pop3_load.py retr NAME PORT USER PASSES ROOTPID
    one client: USER/PASS, STAT, RETR 1..N in order, PASSES times in one session, QUIT.
pop3_load.py retrpipe NAME PORT USER PASSES ROOTPID
    the same messages, but the client sends RETR commands 100 at a time (RFC 2449 PIPELINING, which
    both servers announce) and counts the replies' terminators: shows the server, not poplib, as the limit.
pop3_load.py login NAME PORT NPROC SECONDS ROOTPID
    NPROC client processes, client k looping connect, USER popKK, PASS, STAT, QUIT for SECONDS.
Prints one key=value line with the server tree's CPU per RETR or per session (and a TSV row "pop3_MODE" with
BENCH_TSV_DIR, bench/tsv.py)."""
import multiprocessing as mp
import os
import poplib
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu import tree_cpu  # noqa: E402
from tsv import emit  # noqa: E402

mode, name, port = sys.argv[1], sys.argv[2], int(sys.argv[3])

if mode == "retr":
    user, passes, pid = sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    p.user(user)
    p.pass_("pw")
    n, octets = p.stat()
    c0, t0 = tree_cpu({pid}), time.perf_counter()
    got = 0
    for _ in range(passes):
        for i in range(1, n + 1):
            got += p.retr(i)[2]
    el = time.perf_counter() - t0
    cpu = tree_cpu({pid}) - c0
    p.quit()
    emit("pop3_retr", [("test", "retr"), ("server", name), ("msgs", n), ("passes", passes),
                       ("msgs_per_s", f"{n * passes / el:.0f}"), ("MB_per_s", f"{got / el / 1e6:.2f}"),
                       ("cpu_us_per_retr", f"{1e6 * cpu / (n * passes):.1f}")])
elif mode == "retrpipe":
    import socket
    user, passes, pid = sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    s.sendall(f"USER {user}\r\nPASS pw\r\nSTAT\r\n".encode())
    f.readline(), f.readline()
    n = int(f.readline().split()[1])
    c0, t0 = tree_cpu({pid}), time.perf_counter()
    got, tail, batch = 0, b"", 100
    for _ in range(passes):
        for first in range(1, n + 1, batch):
            last = min(n, first + batch - 1)
            s.sendall(b"".join(b"RETR %d\r\n" % i for i in range(first, last + 1)))
            want, seen = last - first + 1, 0
            while seen < want:  # a reply ends with CRLF "." CRLF; stuffed content never has that
                chunk = s.recv(1 << 20)
                if not chunk:
                    raise EOFError
                got += len(chunk)
                data = tail + chunk
                seen += data.count(b"\r\n.\r\n") - tail.count(b"\r\n.\r\n")
                tail = data[-4:]
    el = time.perf_counter() - t0
    cpu = tree_cpu({pid}) - c0
    s.sendall(b"QUIT\r\n")
    emit("pop3_retrpipe", [("test", "retrpipe"), ("server", name), ("msgs", n), ("passes", passes),
                           ("msgs_per_s", f"{n * passes / el:.0f}"), ("MB_per_s", f"{got / el / 1e6:.2f}"),
                           ("cpu_us_per_retr", f"{1e6 * cpu / (n * passes):.1f}")])
else:
    nproc, secs, pid = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])

    def worker(k, start, q):
        user = f"pop{k + 1:02d}"
        lat, errs = [], 0
        while time.time() < start:
            time.sleep(0.001)
        end = start + secs
        while time.time() < end:
            t = time.perf_counter()
            try:
                c = poplib.POP3("127.0.0.1", port, timeout=10)
                c.user(user)
                c.pass_("pw")
                c.stat()
                c.quit()
                lat.append(time.perf_counter() - t)
            except Exception:  # noqa: BLE001 -- counted
                errs += 1
        q.put((lat, errs))

    q = mp.Queue()
    start = time.time() + 0.5
    procs = [mp.Process(target=worker, args=(k, start, q)) for k in range(nproc)]
    for pr in procs:
        pr.start()
    while time.time() < start:
        time.sleep(0.001)
    c0 = tree_cpu({pid})
    res = [q.get() for _ in procs]
    cpu = tree_cpu({pid}) - c0
    for pr in procs:
        pr.join()
    lat = sorted(x for r in res for x in r[0])
    errs = sum(r[1] for r in res)
    p50 = lat[len(lat) // 2] * 1000 if lat else float("nan")
    emit("pop3_login", [("test", "login"), ("server", name), ("clients", nproc), ("sessions_per_s", f"{len(lat) / secs:.0f}"),
                        ("errors", errs), ("p50_ms", f"{p50:.1f}"), ("cpu_ms_per_session", f"{1000 * cpu / max(1, len(lat)):.3f}")])
