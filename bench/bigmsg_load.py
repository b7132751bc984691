#!/usr/bin/python3
"""One big message through one path, for bench/scale_bigmsg.sh (issue 15, item 4).

bigmsg_load.py gen OCTETS FILE       a message of about OCTETS octets (LF line ends): a short text part and
                                     one base64 attachment of random bytes, as a mailer writes it
bigmsg_load.py smtp --server S --path P --port N --sender F --rcpt R --file FILE --maildir DIR --pids P1,P2
                                     [--ceiling MBPS]: the message over one SMTP session; the time runs from the
                                     first octet of DATA until its file is in DIR/new (delivered, durable)
bigmsg_load.py retr --server S --port N --user U --octets N --pids P1 [--ceiling MBPS]: LIST, then RETR of
                                     the message whose size is nearest N; the time runs from RETR to the final "."
Memory: the server tree's peak resident set is reset (/proc/PID/clear_refs 5) once the session is open, and
VmHWM of every process of the tree sampled every 5 ms until the transfer is done; growth = the sum over
processes of (peak - resident at the start), a process that appeared meanwhile counted whole.
Prints one line of key=value and, with BENCH_TSV_DIR, a row of kind scale_bigmsg (bench/tsv.py)."""
import argparse
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu import tree  # noqa: E402
from tsv import emit  # noqa: E402


def status(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Peak:
    """Peak RSS growth of a process tree while a transfer runs."""

    def __init__(self, roots):
        self.roots, self.start, self.peak, self.stop = roots, {}, {}, False
        for p in tree(roots)[0]:
            try:
                with open(f"/proc/{p}/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                pass
            self.start[p] = status(p, "VmRSS") or 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self):
        for p in tree(self.roots)[0]:
            hwm = status(p, "VmHWM")
            if hwm is not None:
                self.peak[p] = max(self.peak.get(p, 0), hwm)

    def run(self):
        while not self.stop:
            self.sample()
            time.sleep(0.005)

    def growth_kb(self):
        self.stop = True
        self.thread.join()
        self.sample()
        return sum(max(0, hwm - self.start.get(p, 0)) for p, hwm in self.peak.items())


def gen(octets, path):
    rnd = random.Random(octets)
    head = ("From: sender@mail.sustech.edu.cn\nTo: mbench@gmail.com\nSubject: big message\n"
            "Date: Tue, 01 Dec 2026 00:00:00 +0000\nMessage-ID: <big.%d@mail.sustech.edu.cn>\nMIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=\"=_b\"\n\n--=_b\nContent-Type: text/plain; charset=utf-8\n\n"
            "See the attachment.\n\n--=_b\nContent-Type: application/octet-stream; name=\"data.bin\"\n"
            "Content-Disposition: attachment; filename=\"data.bin\"\nContent-Transfer-Encoding: base64\n\n" % octets)
    tail = "\n--=_b--\n"
    import base64
    n = max(1, (octets - len(head) - len(tail)) * 57 // 77)
    data = base64.encodebytes(rnd.randbytes(n)).decode()  # 76 columns, LF
    with open(path, "w") as f:
        f.write(head + data + tail)


class Lines:
    def __init__(self, sock):
        self.sock, self.f = sock, sock.makefile("rb")

    def reply(self):  # an SMTP reply (the last line) or a POP3 status line
        while True:
            line = self.f.readline()
            if not line:
                raise SystemExit("connection closed")
            if len(line) < 4 or line[3:4] != b"-":
                return line.decode().rstrip()


def row(a, octets, secs, growth, extra=()):
    mbps = octets / secs / 1e6
    fields = [("server", a.server), ("path", a.path), ("size_mb", round(octets / 1e6, 3)), ("octets", octets),
              ("seconds", f"{secs:.4f}"), ("mb_per_s", f"{mbps:.1f}"),
              ("of_loopback", f"{mbps / a.ceiling:.3f}" if a.ceiling else "nan"), ("rss_growth_kb", growth), *extra]
    emit("scale_bigmsg", fields)


def smtp(a):
    with open(a.file, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    wire = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines) + b".\r\n"
    new = os.path.join(a.maildir, "new")
    os.makedirs(new, exist_ok=True)
    before = set(os.listdir(new))
    s = socket.create_connection(("127.0.0.1", a.port), timeout=120)
    r = Lines(s)
    r.reply()
    for cmd in (b"EHLO bench", b"MAIL FROM:<%s>" % a.sender.encode(), b"RCPT TO:<%s>" % a.rcpt.encode(), b"DATA"):
        s.sendall(cmd + b"\r\n")
        rep = r.reply()
        if not rep[:1] in "23":
            raise SystemExit(f"{cmd.decode()}: {rep}")
    peak = Peak(a.pids)
    t0 = time.monotonic()
    s.sendall(wire)
    rep = r.reply()
    accepted = time.monotonic() - t0
    if not rep.startswith("250"):
        raise SystemExit(f"end of data: {rep}")
    deadline = time.monotonic() + 120
    while True:
        got = set(os.listdir(new)) - before
        if got:
            break
        if time.monotonic() > deadline:
            raise SystemExit("not delivered within 120 s")
        time.sleep(0.002)
    secs = time.monotonic() - t0
    growth = peak.growth_kb()
    s.sendall(b"QUIT\r\n")
    s.close()
    for g in got:  # keep the disk small: the POP3 runs use their own copies
        os.unlink(os.path.join(new, g))
    octets = len(wire) - 3
    row(a, octets, secs, growth, [("accept_s", f"{accepted:.4f}")])


def retr(a):
    s = socket.create_connection(("127.0.0.1", a.port), timeout=120)
    r = Lines(s)
    r.reply()
    for cmd in (b"USER " + a.user.encode(), b"PASS pw"):
        s.sendall(cmd + b"\r\n")
        if not r.reply().startswith("+OK"):
            raise SystemExit(f"{cmd.decode()} refused")
    s.sendall(b"LIST\r\n")
    r.reply()
    sizes = []
    while (line := r.f.readline().decode().rstrip()) != ".":
        n, size = line.split()
        sizes.append((abs(int(size) - a.octets), int(n)))
    n = min(sizes)[1]
    peak = Peak(a.pids)
    t0 = time.monotonic()
    s.sendall(b"RETR %d\r\n" % n)
    got, tail = 0, b""
    while True:  # the status line, the message, ".": counted, not kept (the makefile buffer first)
        chunk = r.f.read1(1 << 20)
        if not chunk:
            raise SystemExit("connection closed during RETR")
        got += len(chunk)
        tail = (tail + chunk)[-5:]
        if tail == b"\r\n.\r\n":
            break
    secs = time.monotonic() - t0
    growth = peak.growth_kb()
    s.sendall(b"QUIT\r\n")
    s.close()
    row(a, got, secs, growth, [("accept_s", f"{secs:.4f}")])  # RETR has nothing to accept: its time


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), sys.argv[3])
        sys.exit(0)
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["smtp", "retr"])
    ap.add_argument("--server", required=True)
    ap.add_argument("--path", default="retr")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pids", required=True)
    ap.add_argument("--ceiling", type=float, default=0)
    ap.add_argument("--sender", default="sender@mail.sustech.edu.cn")
    ap.add_argument("--rcpt")
    ap.add_argument("--file")
    ap.add_argument("--maildir")
    ap.add_argument("--user")
    ap.add_argument("--octets", type=int)
    a = ap.parse_args()
    a.pids = {int(p) for p in a.pids.split(",") if p}
    smtp(a) if a.mode == "smtp" else retr(a)
