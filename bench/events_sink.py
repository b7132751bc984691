#!/usr/bin/python3
"""A receiver for the event feed (docs/reference.md "Event feed") that reads and discards, as a cheap
stand-in for mailview in bench/events_bench.sh. Counts datagrams, lines and reported drops; prints
them as one key=value line on SIGTERM.

events_sink.py PATH"""
import os
import re
import signal
import socket
import sys

path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind(path)
count = {"datagrams": 0, "lines": 0, "dropped": 0}


def done(*_):
    print(" ".join(f"{k}={v}" for k, v in count.items()), flush=True)
    os.unlink(path)
    sys.exit(0)


signal.signal(signal.SIGTERM, done)
while True:
    d = s.recv(65536)
    count["datagrams"] += 1
    count["lines"] += d.count(b"\n")
    m = re.match(rb"[^\n]* event=dropped lines=(\d+)", d)
    if m:
        count["dropped"] += int(m.group(1))
