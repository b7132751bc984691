#!/usr/bin/python3
"""One SMTP load run: Postfix's smtp-source against a server, timed END TO END (adapted from
the reference set-up's smtp_bench.py, docs/benchmarks.md).

smtp_run.py --name NAME [--host 127.0.0.1] --port P --conc C --msgs N --maildir DIR --pids P1,P2 [--size 1024] [--rcpt ADDR]

Clears DIR/new and DIR/cur, watches DIR/new with inotify, starts smtp-source (a new connection per message,
HELO/MAIL/RCPT/DATA/QUIT); accept = smtp-source finished (every message got its 250), e2e = the N-th file
is in DIR/new. Samples the server tree's memory every 50 ms (peak RSS and PSS sums) and its CPU.
Prints one line of key=value (and a TSV row with BENCH_TSV_DIR, bench/tsv.py)."""
import argparse
import ctypes
import os
import select
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu import tree_cpu, tree_mem  # noqa: E402
from tsv import emit  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--name", required=True)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--conc", type=int, required=True)
ap.add_argument("--msgs", type=int, required=True)
ap.add_argument("--size", type=int, default=1024)
ap.add_argument("--maildir", required=True)
ap.add_argument("--rcpt", default="mbench@localhost")
ap.add_argument("--sender", default="sender@example.org")
ap.add_argument("--pids", required=True)
ap.add_argument("--timeout", type=float, default=300)
a = ap.parse_args()
roots = {int(p) for p in a.pids.split(",") if p}

IN_CREATE, IN_MOVED_TO, IN_Q_OVERFLOW = 0x100, 0x80, 0x4000
new = os.path.join(a.maildir, "new")
# Earlier runs' messages are moved aside, not deleted: ext4 scans past inodes deleted in the last 30 s
# when it allocates new ones (recently_deleted()), which would charge one run for the cleanup of the one
# before. The caller deletes the trash at the end.
trash = os.path.join(os.path.dirname(a.maildir.rstrip("/")), ".bench-trash")
os.makedirs(trash, exist_ok=True)
owner = os.stat(a.maildir)
for sub in ("new", "cur"):
    d = os.path.join(a.maildir, sub)
    if os.path.isdir(d) and os.listdir(d):
        os.rename(d, os.path.join(trash, f"{sub}-{time.time_ns()}"))
    os.makedirs(d, exist_ok=True)
    os.chown(d, owner.st_uid, owner.st_gid)
libc = ctypes.CDLL("libc.so.6", use_errno=True)
ifd = libc.inotify_init1(os.O_NONBLOCK)
if ifd < 0 or libc.inotify_add_watch(ifd, new.encode(), IN_CREATE | IN_MOVED_TO) < 0:
    sys.exit("inotify failed")
count, overflow = 0, False


def drain():
    global count, overflow
    while True:
        try:
            buf = os.read(ifd, 1 << 16)
        except BlockingIOError:
            return
        i = 0
        while i < len(buf):
            wd, mask, cookie, ln = struct.unpack_from("iIII", buf, i)
            if mask & IN_Q_OVERFLOW:
                overflow = True
            elif mask & (IN_CREATE | IN_MOVED_TO):
                count += 1
            i += 16 + ln


cmd = ["/usr/sbin/smtp-source", "-4", "-s", str(a.conc), "-m", str(a.msgs), "-l", str(a.size),
       "-f", a.sender, "-t", a.rcpt, "-M", "client.example.org", f"{a.host}:{a.port}"]
cpu0 = tree_cpu(roots)
_, rss0, pss0 = tree_mem(roots)
peak_rss, peak_pss = rss0, pss0
t0 = time.perf_counter()
p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
t_acc = t_end = None
next_sample = t0
while True:
    now = time.perf_counter()
    if t_acc is None and p.poll() is not None:
        t_acc = now
    r, _, _ = select.select([ifd], [], [], 0.005)
    if r:
        drain()
    if now >= next_sample:
        _, rss, pss = tree_mem(roots)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        next_sample = now + 0.05
    if count >= a.msgs and t_acc is not None:
        t_end = time.perf_counter()
        break
    if now - t0 > a.timeout:
        break
cpu = tree_cpu(roots) - cpu0
out = p.communicate()[0].decode(errors="replace") if p.poll() is not None else "(still running)"
if p.returncode is None:
    p.kill()
files = len(os.listdir(new))
acc = (t_acc - t0) if t_acc else float("nan")
e2e = (t_end - t0) if t_end else float("nan")
emit("smtp", [("server", a.name), ("conc", a.conc), ("msgs", a.msgs), ("accept_rate", f"{a.msgs / acc:.0f}"),
              ("e2e_rate", f"{a.msgs / e2e:.0f}"), ("files", files), ("cpu_ms_per_msg", f"{1000 * cpu / a.msgs:.3f}"),
              ("peak_rss_kb", peak_rss), ("peak_pss_kb", peak_pss), ("base_pss_kb", pss0),
              ("smtp_source_rc", p.returncode), ("inotify_overflow", int(overflow))])
if p.returncode:
    print("smtp-source:", out.strip()[:500])
