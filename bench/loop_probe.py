#!/usr/bin/python3
"""loop_probe.py PORT SECONDS: one SMTP session sending NOOP every 10 ms while a load runs; prints the
round-trip percentiles. Shows whether disk work stalls the event loop (it must not: fsyncs run on the
committer's threads)."""
import socket
import sys
import time

port, secs = int(sys.argv[1]), float(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
f = s.makefile("rb")
f.readline()
lat = []
end = time.monotonic() + secs
while time.monotonic() < end:
    t0 = time.perf_counter()
    s.sendall(b"NOOP\r\n")
    f.readline()
    lat.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.01)
s.sendall(b"QUIT\r\n")
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"noop_rtt_ms n={len(lat)} p50={pct(.5):.2f} p99={pct(.99):.2f} max={lat[-1]:.2f}")
