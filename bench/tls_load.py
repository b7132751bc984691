#!/usr/bin/python3
"""tls_load.py NAME PORT NPROC SECONDS CAFILE USER PASSWORD RCPT ROOTPIDS
NPROC client processes, each looping for SECONDS: connect, EHLO, STARTTLS (certificate verified against
CAFILE), EHLO, AUTH PLAIN, one 1 KB message to RCPT, QUIT. Prints sessions/s and the server tree's CPU
per session (roots: comma-separated PIDs)."""
import multiprocessing as mp
import os
import smtplib
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu import tree_cpu  # noqa: E402

name, port, nproc, secs, cafile, user, password, rcpt, pids = sys.argv[1:10]
port, nproc, secs = int(port), int(nproc), float(secs)
roots = {int(p) for p in pids.split(",")}
BODY = "Subject: tls bench\r\n\r\n" + ("x" * 76 + "\r\n") * 12


def worker(start, q):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # the certificate chain is still verified
    n = errs = 0
    while time.time() < start:
        time.sleep(0.001)
    end = start + secs
    while time.time() < end:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                s.starttls(context=ctx)
                s.login(user, password)
                s.sendmail(user, [rcpt], BODY)
            n += 1
        except Exception:  # noqa: BLE001 -- counted
            errs += 1
    q.put((n, errs))


q = mp.Queue()
start = time.time() + 0.5
procs = [mp.Process(target=worker, args=(start, q)) for _ in range(nproc)]
for p in procs:
    p.start()
while time.time() < start:
    time.sleep(0.001)
c0 = tree_cpu(roots)
res = [q.get() for _ in procs]
cpu = tree_cpu(roots) - c0
for p in procs:
    p.join()
n = sum(r[0] for r in res)
print(f"test=tls server={name} clients={nproc} sessions_per_s={n / secs:.0f} errors={sum(r[1] for r in res)} "
      f"cpu_ms_per_session={1000 * cpu / max(1, n):.3f}")
