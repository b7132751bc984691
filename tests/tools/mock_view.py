"""A stand-in for apps/mailview: serves apps/mailview/static and canned JSON in the shapes of the API
(docs/view.md), so the page and the browser driver can be tried without a world.

    python3 tests/tools/mock_view.py [--port 8026]     # then open http://127.0.0.1:8026/

In a test: `with MockView() as m: m.url` (a free port, stopped at exit). `m.fail = {"/api/world"}` makes
those paths answer 500, to see the page report it. The data is the issue's scenario: usr1 at
exmail.qq.com sends a mail with an attachment to usr@gmail.com and nobody@gmail.com; gmail.com bounces the
second; usr retrieves the mail with POP3.
"""
import copy
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC = os.path.join(HERE, "..", "..", "apps", "mailview", "static")
QQ, GM = "exmail.qq.com", "gmail.com"
MSGID = "<20261201100000.1234@mail.sustech.edu.cn>"
BOUNCE_ID = "<bounce.20261201100001.77@gmail.com>"
FILE = "1764583200.M123456P42.gmail"
AGENT = "agent 127.0.0.1"


def ts(sec, ms=0):
    return f"2026-12-01T10:00:{sec:02d}.{ms:03d}Z"


WORLD = {
    "servers": [
        {"name": "fdns", "kind": "fdns", "domains": [], "address": "127.0.0.1", "ports": {"dns": 5353},
         "tls": False, "up": True, "queue": 0},
        {"name": QQ, "kind": "mailsrv", "domains": ["mail.sustech.edu.cn"], "address": "127.0.0.1",
         "ports": {"smtp": 2525, "pop3": 1100, "submission": 5870, "smtps": 4650, "pop3s": 9950},
         "tls": True, "up": True, "queue": 1},
        {"name": GM, "kind": "mailsrv", "domains": ["gmail.com"], "address": "127.0.0.1",
         "ports": {"smtp": 2526, "pop3": 1101}, "tls": False, "up": False, "queue": 0},
    ],
    "events": {"received": 123, "dropped": 0},
}

MAILBOXES = [
    {"server": QQ, "account": "usr1@mail.sustech.edu.cn", "messages": 1, "octets": 1890},
    {"server": QQ, "account": "usr2@mail.sustech.edu.cn", "messages": 0, "octets": 0},
    {"server": GM, "account": "usr@gmail.com", "messages": 1, "octets": 2345},
]

MAILBOX = {"server": GM, "account": "usr@gmail.com", "messages": [
    {"file": FILE, "n": 1, "size": 2345, "from": "usr1@mail.sustech.edu.cn", "to": "usr@gmail.com, nobody@gmail.com",
     "subject": "Lab report <draft> & notes", "date": "Tue, 01 Dec 2026 10:00:00 +0000", "msgid": MSGID, "seen": True}]}

MESSAGE = {
    "file": FILE, "msgid": MSGID,
    "headers": [["From", "usr1@mail.sustech.edu.cn"], ["To", "usr@gmail.com, nobody@gmail.com"],
                ["Subject", "Lab report <draft> & notes"], ["Message-ID", MSGID],
                ["Content-Type", 'multipart/mixed; boundary="b1"']],
    "mime": {"type": "multipart/mixed", "filename": "", "size": 2200, "part": "", "children": [
        {"type": "text/plain", "filename": "", "size": 60, "part": "1", "children": []},
        {"type": "application/pdf", "filename": "report.pdf", "size": 1500, "part": "2", "children": []}]},
    "text": "Hello,\n<b>not bold</b>: the report is attached.\n",
    "attachments": [{"part": "2", "filename": "report.pdf", "type": "application/pdf", "size": 1500}],
}

RAW = "From: usr1@mail.sustech.edu.cn\r\nTo: usr@gmail.com\r\nSubject: Lab report\r\n\r\nHello\r\n"


def session(server, sid, proto, side, local, peer, frm, to, start, events, msgids=(MSGID,)):
    return {"server": server, "sid": sid, "proto": proto, "side": side, "local": local, "peer": peer,
            "from_party": frm, "to_party": to, "started": ts(start), "ended": ts(start + 1),
            "msgids": list(msgids), "lines": len(events),
            "events": [{"ts": ts(start, 10 * i), "dir": d, "line": l} for i, (d, l) in enumerate(events)]}


SESSIONS = [
    session(QQ, "1", "smtp", "server", "127.0.0.1:2525", "127.0.0.1:40000", AGENT, QQ, 0, [
        ("s", "220 exmail.qq.com ESMTP mailsrv"), ("c", "EHLO mail.sustech.edu.cn"),
        ("s", "250-exmail.qq.com"), ("s", "250-STARTTLS"), ("s", "250 AUTH PLAIN LOGIN"),
        ("c", "AUTH PLAIN ****"), ("s", "235 2.7.0 Authentication successful"),
        ("c", "MAIL FROM:<usr1@mail.sustech.edu.cn>"), ("s", "250 2.1.0 Ok"),
        ("c", "RCPT TO:<usr@gmail.com>"), ("s", "250 2.1.5 Ok"), ("c", "RCPT TO:<nobody@gmail.com>"),
        ("s", "250 2.1.5 Ok"), ("c", "DATA"), ("s", "354 End data with <CR><LF>.<CR><LF>"),
        ("c", "<message 2345 octets>"), ("note", f"message id=Q1 msgid={MSGID} result=stored"),
        ("s", "250 2.0.0 Ok: queued as Q1 " + "x" * 120), ("c", "QUIT"), ("s", "221 2.0.0 Bye")]),
    session(QQ, "r2", "relay", "client", "127.0.0.1:40002", "127.0.0.1:2526", QQ, GM, 2, [
        ("note", "DNS MX gmail.com? 10 gmail-smtp-in.l.google.com"), ("note", "DNS P gmail-smtp-in.l.google.com? 2526"),
        ("s", "220 gmail.com ESMTP mailsrv"), ("c", "EHLO exmail.qq.com"), ("s", "250 gmail.com"),
        ("c", "MAIL FROM:<usr1@mail.sustech.edu.cn>"), ("s", "250 2.1.0 Ok"),
        ("c", "RCPT TO:<usr@gmail.com>"), ("s", "250 2.1.5 Ok"),
        ("c", "RCPT TO:<nobody@gmail.com>"), ("s", "550 5.1.1 <nobody@gmail.com>: no such user"),
        ("c", "DATA"), ("s", "354 go ahead"), ("c", "<message 2345 octets>"), ("s", "250 2.0.0 Ok"),
        ("c", "QUIT"), ("s", "221 Bye")]),
    session(GM, "5", "pop3", "server", "127.0.0.1:1101", "127.0.0.1:40003", AGENT, GM, 5, [
        ("s", "+OK POP3 ready"), ("c", "USER usr@gmail.com"), ("s", "+OK"), ("c", "PASS ****"),
        ("s", "+OK 1 messages"), ("c", "RETR 1"), ("s", "+OK 2345 octets"), ("s", "<message 2345 octets>"),
        ("note", f"retr user=usr@gmail.com n=1 file={FILE}"), ("c", "QUIT"), ("s", "+OK bye")]),
]

JOURNEY = {"msgid": MSGID, "steps": [
    {"ts": ts(0), "kind": "submission", "from": AGENT, "to": QQ, "server": QQ, "sid": "1",
     "summary": "usr1@mail.sustech.edu.cn -> usr@gmail.com, nobody@gmail.com: stored as Q1"},
    {"ts": ts(1), "kind": "dns", "from": QQ, "to": "fdns", "server": QQ, "sid": "r2",  # the relay attempt's lookups
     "summary": "MX gmail.com -> 10 gmail-smtp-in.l.google.com:2526"},
    {"ts": ts(2), "kind": "relay", "from": QQ, "to": GM, "server": QQ, "sid": "r2", "peer_sid": "9",
     "summary": "usr@gmail.com delivered, nobody@gmail.com bounced (550)"},
    {"ts": ts(3), "kind": "delivery", "from": GM, "to": GM, "server": GM, "sid": "9",
     "summary": f"usr@gmail.com: {FILE}"},
    {"ts": ts(4), "kind": "bounce", "from": QQ, "to": QQ, "server": QQ, "sid": "",
     "summary": f"bounce {BOUNCE_ID} to usr1@mail.sustech.edu.cn"},
    {"ts": ts(5), "kind": "pop3", "from": AGENT, "to": GM, "server": GM, "sid": "5",
     "summary": "usr@gmail.com RETR 1"},
]}

# as mailview says it: whether /api/sessions/SERVER/SID has the step's session
for _st in JOURNEY["steps"]:
    _st["session"] = any(x["server"] == _st["server"] and x["sid"] == _st["sid"] for x in SESSIONS)

JOURNEYS = [{"msgid": MSGID, "subject": "Lab report <draft> & notes", "from": "usr1@mail.sustech.edu.cn",
             "to": "usr@gmail.com, nobody@gmail.com", "first": ts(0), "last": ts(5), "steps": 6}]

QUEUE = [{"server": QQ, "id": "Q7", "from": "usr1@mail.sustech.edu.cn", "recipients": [
    {"address": "someone@unreachable.example", "state": "deferred", "attempts": 2,
     "next_retry": "2026-12-01T10:05:00Z", "last": "connect: connection refused"}]}]

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class MockView:
    def __init__(self, port=0):
        self.fail = set()       # paths that answer 500
        self.extra = {}         # path -> (content type, bytes): pages a test adds
        self.seq = 1
        self.world = copy.deepcopy(WORLD)   # change it, then notify(): the page must show the change
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                path = urllib.parse.urlsplit(self.path).path
                if path in mock.fail:
                    return self.send(500, b"mock failure", "text/plain")
                if path == "/api/stream":
                    return self.stream()
                body = mock.route(path)
                if body is None:
                    return self.send(404, b"not found", "text/plain")
                ctype, data = body
                self.send(200, data, ctype)

            def send(self, code, data, ctype):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def stream(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                seq = 0
                try:
                    while not mock.stopping.is_set():
                        if seq != mock.seq:
                            seq = mock.seq
                            self.wfile.write(f'event: change\ndata: {{"seq":{seq},"kind":"session"}}\n\n'.encode())
                        else:
                            self.wfile.write(b": keep-alive\n\n")
                        self.wfile.flush()
                        with mock.cond:
                            mock.cond.wait_for(lambda: mock.seq != seq or mock.stopping.is_set(), timeout=1)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def notify(self):
        """Something changed: /api/version and /api/stream tell the page."""
        with self.cond:
            self.seq += 1
            self.cond.notify_all()

    def route(self, path):
        """(content type, bytes) for a GET path, or None."""
        if path in self.extra:
            return self.extra[path]
        if path == "/" or path.startswith("/static/"):
            name = "index.html" if path == "/" else path[len("/static/"):]
            full = os.path.normpath(os.path.join(STATIC, name))
            # A folder's name is a prefix of its neighbours' too (static_files.hpp): compare with a separator.
            if not full.startswith(os.path.normpath(STATIC) + os.sep) or not os.path.isfile(full):
                return None
            with open(full, "rb") as f:
                return TYPES.get(os.path.splitext(full)[1], "application/octet-stream"), f.read()
        parts = [urllib.parse.unquote(p) for p in path.split("/")[2:]] if path.startswith("/api/") else None
        if not parts:
            return None
        data = self.api(parts)
        if isinstance(data, str):
            return "text/plain; charset=utf-8", data.encode()
        return None if data is None else ("application/json", json.dumps(data).encode())

    def api(self, p):
        head = p[0]
        if head == "world":
            return self.world
        if head == "version":
            return {"seq": self.seq}
        if head == "mailboxes":
            if len(p) == 1:
                return MAILBOXES
            if p[1:] == [GM, "usr@gmail.com"]:
                return MAILBOX
            if len(p) == 3:
                return {"server": p[1], "account": p[2], "messages": []}
        if head == "messages" and p[1:4] == [GM, "usr@gmail.com", FILE]:
            if len(p) == 4:
                return MESSAGE
            if p[4:] == ["raw"]:
                return RAW
            if p[4:] == ["part", "2"]:
                return "%PDF-1.4 mock"
        if head == "queue":
            return QUEUE
        if head == "sessions":
            if len(p) == 1:
                return [{k: v for k, v in s.items() if k != "events"} for s in reversed(SESSIONS)]
            for s in SESSIONS:
                if p[1:] == [s["server"], s["sid"]]:
                    return s
        if head == "journeys":
            return JOURNEYS
        if head == "journey" and len(p) == 2 and p[1] == MSGID:
            return JOURNEY
        return None

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        with self.cond:
            self.stopping.set()
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        return False


if __name__ == "__main__":
    port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 8026
    with MockView(port) as m:
        print(f"mock view on {m.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
