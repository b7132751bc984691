"""The event feed (docs/reference.md "Event feed", issue 14): fdns and every mailsrv started with
--events PATH publish what happens as log-format lines in Unix datagrams. A receiver here binds PATH,
a cross-domain mail with AUTH and an unknown recipient goes through, and the events tell its whole
journey: the submission, the DNS lookups, the relay hop, the bounce, the POP3 retrieval. Secrets never
appear. A server whose feed has no receiver works as before."""
import os
import poplib
import re
import smtplib
import socket
import threading
import unittest

from world import GM, QQ, CourseWorld, World, wait_for

# connection_cache_seconds = 1: the relay's session stays idle for a second after its message (issue 15),
# then ends with QUIT and its `close`, which the journey below waits for.
QUEUE = "[queue]\nretry_first = 1\nretry_max = 2\nconnection_cache_seconds = 1\n[tls]\nallow_plaintext_auth = true\n"
MSGID = "<feed-1@mail.sustech.edu.cn>"
MSG = (f"From: usr1@mail.sustech.edu.cn\r\nTo: usr@gmail.com, nobody@gmail.com\r\nSubject: feed\r\n"
       f"Message-ID: {MSGID}\r\n\r\nHello through the feed.\r\n")
SECRETS = ["pass1", "pass2", "pass", "AHVzcjFAbWFpbC5zdXN0ZWNoLmVkdS5jbgBwYXNzMQ=="]  # passwords, AUTH PLAIN's data

TOKEN = re.compile(r'([A-Za-z_]+)=("(?:[^"\\]|\\.)*"|\S*)')


def unquote(v):
    if not v.startswith('"'):
        return v
    return re.sub(r'\\x([0-9a-f]{2})|\\(.)', lambda m: chr(int(m.group(1), 16)) if m.group(1) else m.group(2), v[1:-1])


def parse(line):
    return {k: unquote(v) for k, v in TOKEN.findall(line)}


class Receiver:
    """Binds the datagram socket and keeps every datagram (the raw bytes too, for the secrets check)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.raw, self.events, self.stopped = [], [], False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            self.raw.append(d)
            for line in d.decode().splitlines():
                self.events.append(parse(line))

    def close(self):
        self.stopped = True
        self.thread.join()
        self.sock.close()

    def find(self, **want):
        return [e for e in list(self.events) if all(e.get(k) == v for k, v in want.items())]

    def session(self, prog, sid):
        return [e for e in list(self.events) if e.get("prog") == prog and e.get("sid") == sid]


def lines(session, kind):
    return [e["line"] for e in session if e["event"] == kind]


class EventFeedTest(unittest.TestCase):
    def test_a_journey_in_events(self):
        with World() as w:
            path = w.path("events.sock")
            rx = Receiver(path)
            try:
                world = CourseWorld(w, queue=QUEUE, events=path)
                world.start(QQ), world.start(GM)
                with smtplib.SMTP("127.0.0.1", world.ports[QQ][0], timeout=10) as s:
                    s.ehlo("agent.example")
                    s.login("usr1@mail.sustech.edu.cn", "pass1")
                    self.assertEqual(s.sendmail("usr1@mail.sustech.edu.cn", ["usr@gmail.com", "nobody@gmail.com"], MSG), {})
                # The relayed copy, read with USER/PASS; then the bounce for nobody@ at the sender's.
                wait_for(lambda: rx.find(event="delivered", to="usr1@mail.sustech.edu.cn"), what="the bounce's delivery")
                p = poplib.POP3("127.0.0.1", world.ports[GM][1], timeout=10)
                p.user("usr@gmail.com")
                p.pass_("pass")
                self.assertIn(b"Hello through the feed.", b"\n".join(p.retr(1)[1]))
                p.dele(1)
                p.quit()
                wait_for(lambda: rx.find(event="dele", prog=GM), what="the dele event")
                relay_sids = {e["sid"] for e in rx.find(event="open", prog=QQ, proto="relay")}
                wait_for(lambda: all(rx.find(event="close", prog=QQ, sid=sid) for sid in relay_sids),
                         what="the relay sessions' end (connection cache: 1 s idle)")
                self.check_journey(rx, world)
            finally:
                rx.close()

    def check_journey(self, rx, world):
        # The submission at exmail.qq.com: open, EHLO and its 250 lines, AUTH masked, DATA, the message.
        [msg] = rx.find(event="message", prog=QQ, msgid=MSGID)
        self.assertEqual(msg["result"], "stored")
        self.assertEqual(msg["to"], "usr@gmail.com,nobody@gmail.com")
        self.assertEqual(msg["queued"], "2")
        sub = rx.session(QQ, msg["sid"])
        kinds = [e["event"] for e in sub]
        self.assertEqual(kinds[0], "open")
        self.assertEqual(sub[0]["proto"], "smtp")
        self.assertEqual(sub[0]["side"], "server")
        self.assertEqual(sub[0]["local"], f"127.0.0.1:{world.ports[QQ][0]}")
        self.assertEqual(kinds[-1], "close")
        self.assertEqual(lines(sub, "s")[0].split()[0], "220")
        c = [x.lower() for x in lines(sub, "c")]  # smtplib writes its verbs in lower case
        self.assertEqual(c[0], "ehlo agent.example")
        self.assertEqual(c[1], "auth plain ***")
        self.assertIn("data", c)
        self.assertIn(f"<message {msg['size']} octets>", c)
        self.assertEqual(c[-1], "quit")
        s = lines(sub, "s")
        self.assertTrue(any(x.startswith("250-") for x in s) and any(x.startswith("235") for x in s), s)
        self.assertTrue(any(x.startswith("354") for x in s))
        self.assertTrue(any(x.startswith("250") and msg["id"] in x for x in s))
        self.assertLess(kinds.index("message"), kinds.index("close"))

        # Queued, then the relay's DNS lookups and its session to gmail.com carrying the same message.
        [queued] = rx.find(event="queued", prog=QQ, msgid=MSGID)
        self.assertEqual(queued["from"], "<usr1@mail.sustech.edu.cn>")
        qid = queued["id"]
        lookups = [e for e in rx.find(event="lookup", prog=QQ) if qid in e["id"].split(",")]
        self.assertEqual([(e["name"], e["type"]) for e in lookups][:3],
                         [("gmail.com", "MX"), ("gmail-smtp-in.l.google.com", "P"), ("gmail-smtp-in.l.google.com", "A")])
        self.assertIn("gmail-smtp-in.l.google.com", lookups[0]["answer"])
        self.assertEqual(lookups[2]["answer"], "127.0.0.1")
        self.assertEqual(lookups[0]["server"], f"127.0.0.1:{world.dns}")
        relay = [e for e in rx.find(event="open", prog=QQ, proto="relay") if qid in e["id"].split(",")]
        self.assertEqual(len(relay), 1)
        self.assertEqual(relay[0]["sid"], lookups[0]["sid"])  # the attempt's session
        self.assertEqual((relay[0]["side"], relay[0]["host"], relay[0]["domain"]),
                         ("client", "gmail-smtp-in.l.google.com", "gmail.com"))
        self.assertEqual(relay[0]["peer"], f"127.0.0.1:{world.ports[GM][0]}")
        hop = rx.session(QQ, relay[0]["sid"])
        hc = lines(hop, "c")
        self.assertTrue(hc[0].startswith("EHLO "), hc)
        self.assertIn("MAIL FROM:<usr1@mail.sustech.edu.cn>", " ".join(hc))
        self.assertTrue(any(x.startswith("<message ") for x in hc))
        self.assertEqual(hc[-1], "QUIT")
        self.assertTrue(lines(hop, "s")[0].startswith("220 "))
        self.assertEqual(hop[-1]["event"], "close")
        attempts = {e["to"]: e for e in rx.find(event="attempt", prog=QQ, id=qid)}
        self.assertEqual(attempts["usr@gmail.com"]["result"], "delivered")
        self.assertEqual(attempts["nobody@gmail.com"]["result"], "bounced")
        self.assertTrue(attempts["nobody@gmail.com"]["reply"].startswith("550"))

        # The receiving end: gmail.com's server session stored it under the same Message-ID, and its
        # peer is the relay session's local address.
        [got] = rx.find(event="message", prog=GM, msgid=MSGID)
        self.assertEqual(got["to"], "usr@gmail.com")
        self.assertTrue(got["files"])
        [gopen] = rx.find(event="open", prog=GM, sid=got["sid"])
        self.assertEqual(gopen["peer"], relay[0]["local"])

        # fdns answered those questions.
        queries = rx.find(event="query", prog="fdns", name="gmail.com", type="MX")
        self.assertTrue(queries)
        self.assertEqual(queries[0]["transport"], "udp")
        self.assertEqual(queries[0]["rcode"], "NOERROR")

        # The bounce for nobody@, delivered into usr1's Maildir at exmail.qq.com.
        [bounced] = rx.find(event="bounced", prog=QQ, id=qid)
        [delivered] = rx.find(event="delivered", prog=QQ, id=bounced["bounce_id"])
        order = [e for e in rx.events if e.get("prog") == QQ and e["event"] in ("attempt", "bounced")]
        self.assertEqual([e["event"] for e in order], ["attempt", "attempt", "bounced"])  # the reply, then its bounce
        self.assertTrue(delivered["files"])

        # The POP3 retrieval at gmail.com: USER, PASS masked, RETR of the file the message event named.
        [retr] = rx.find(event="retr", prog=GM)
        self.assertEqual((retr["user"], retr["n"], retr["file"]), ("usr@gmail.com", "1", got["files"]))
        pop = rx.session(GM, retr["sid"])
        self.assertEqual(pop[0]["proto"], "pop3")
        self.assertEqual(lines(pop, "c")[:2], ["USER ***", "PASS ***"])  # as the log masks them
        ps = lines(pop, "s")
        self.assertTrue(any(x.startswith("<message ") for x in ps), ps)
        self.assertNotIn("Hello through the feed.", " ".join(ps))  # content never
        [dele] = rx.find(event="dele", prog=GM)
        self.assertEqual(dele["file"], got["files"])

        # Secrets never leave the server.
        raw = b"".join(rx.raw).decode()
        for secret in SECRETS:
            self.assertIsNone(re.search(r"[ =\"]" + re.escape(secret) + r"[ \"\n]", raw), secret)

    def test_no_receiver_changes_nothing(self):
        with World() as w:
            world = CourseWorld(w, queue=QUEUE, events=w.path("nobody-listens.sock"))
            world.start(QQ), world.start(GM)
            self.assertEqual(world.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com"], MSG), {})
            got = wait_for(lambda: world.messages("usr@gmail.com", "pass", GM), what="the relayed message")
            self.assertEqual(got[0]["Message-ID"], MSGID)
            self.assertFalse(os.path.exists(w.path("nobody-listens.sock")))


if __name__ == "__main__":
    unittest.main()
