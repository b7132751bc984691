#!/usr/bin/python3
"""Many slow SMTP sessions, and the NOOP round trip of one more (issue 15, item 5).

scale_sessions.py PORT N ROOTPID SERVER [INTERVAL=5] [PROBES=300]: opens N sessions to 127.0.0.1:PORT (each
reads the greeting, says EHLO, then sends a NOOP every INTERVAL seconds, at a random phase, and reads its
reply), measures the memory of the server's process tree (PSS, bench/cpu.py) before and after, then
sends PROBES NOOPs one after the other on one more session (a process of its own) while the N keep going, and prints (and with
BENCH_TSV_DIR writes, bench/tsv.py kind scale_sessions) the round trip p50/p99 and the memory per
session. Raises its own open-files limit to the hard limit."""
import asyncio
import multiprocessing
import os
import socket
import random
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu import tree_mem  # noqa: E402
from tsv import emit  # noqa: E402

port, n, root, server = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
interval = float(sys.argv[5]) if len(sys.argv) > 5 else 5.0
probes = int(sys.argv[6]) if len(sys.argv) > 6 else 300
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def reply(r):
    while True:
        line = await r.readline()
        if not line:
            raise EOFError("closed")
        if line[3:4] != b"-":
            return line


async def open_session(i):
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=4096)
    await reply(r)
    w.write(b"EHLO client%d.example.org\r\n" % i)
    await reply(r)
    return r, w


async def slow(r, w, stop, errors):
    await asyncio.sleep(random.uniform(0, interval))
    while not stop.is_set():
        try:
            w.write(b"NOOP\r\n")
            if not (await reply(r)).startswith(b"250"):
                errors.append("not 250")
        except (OSError, EOFError) as e:
            errors.append(str(e))
            return
        await asyncio.sleep(interval)


def probe(conn):
    """The one more session, in a process of its own: the slow sessions' event loop does not delay it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if not line:
                raise EOFError("closed")
            if line[3:4] != b"-":
                return line
    reply()
    s.sendall(b"EHLO probe.example.org\r\n")
    reply()
    rtts = []
    for _ in range(probes):
        t = time.perf_counter()
        s.sendall(b"NOOP\r\n")
        reply()
        rtts.append((time.perf_counter() - t) * 1000)
        time.sleep(0.01)
    s.close()
    conn.send(rtts)


async def main():
    _, _, pss0 = tree_mem({root})
    sessions, errors, stop = [], [], asyncio.Event()
    t0 = time.time()
    for start in range(0, n, 200):  # in batches: a burst of 10,000 SYNs overflows any listen backlog
        batch = await asyncio.gather(*(open_session(i) for i in range(start, min(n, start + 200))),
                                     return_exceptions=True)
        for s in batch:
            if isinstance(s, BaseException):
                errors.append(repr(s))
            else:
                sessions.append(s)
    opened = time.time() - t0
    tasks = [asyncio.create_task(slow(r, w, stop, errors)) for r, w in sessions]
    await asyncio.sleep(interval + 2)
    _, _, pss1 = tree_mem({root})
    parent, child = multiprocessing.Pipe()
    p = multiprocessing.Process(target=probe, args=(child,))
    p.start()
    while not parent.poll():
        await asyncio.sleep(0.1)
    rtts = parent.recv()
    p.join()
    stop.set()
    for t in tasks:
        t.cancel()
    for _, w2 in sessions:
        w2.close()
    rtts.sort()
    emit("scale_sessions", [("server", server), ("sessions", len(sessions)), ("failed", n - len(sessions) + len(errors)),
                            ("open_s", f"{opened:.1f}"), ("noop_p50_ms", f"{rtts[len(rtts) // 2]:.3f}"),
                            ("noop_p99_ms", f"{rtts[int(len(rtts) * 0.99)]:.3f}"), ("pss_kb", pss1),
                            ("kb_per_session", f"{(pss1 - pss0) / max(1, len(sessions)):.2f}")])
    if errors:
        print(f"errors ({len(errors)}): {errors[:3]}", file=sys.stderr)


asyncio.run(main())
