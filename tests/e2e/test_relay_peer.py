"""The relay against a scripted peer (issue 12, defects 4, 5 and 6b): a fake SMTP server on 127.0.0.1,
found by MX like any other, whose STARTTLS fails its handshake, whose EHLO announces a small SIZE, and
which writes down every MAIL FROM line it gets (BODY=8BITMIME)."""
import re
import socketserver
import smtplib
import threading
import unittest

from world import QQ, CourseWorld, World, wait_for

USR1 = ("usr1@mail.sustech.edu.cn", "pass1")
PEER = "mx.peer.example"


class FakePeer:
    """An SMTP server in a thread: the EHLO keywords it is given, STARTTLS (with `broken_tls`) answered
    220 and then garbage instead of a handshake, and every message it takes in the clear."""

    def __init__(self, keywords=(), broken_tls=False):
        self.keywords = list(keywords) + (["STARTTLS"] if broken_tls else [])
        self.lock = threading.Lock()
        self.mail_lines = []  # every MAIL FROM line, as sent
        self.envelopes = []   # (MAIL FROM line, recipient) of every RCPT taken
        self.messages = []    # the content of every message taken
        self.starttls = 0     # STARTTLS commands answered
        peer = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 10

            def handle(self):
                try:
                    peer.session(self.rfile, self.wfile)
                except OSError:
                    pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def count(self, what):
        with self.lock:
            return len(getattr(self, what)) if what != "starttls" else self.starttls

    def session(self, rfile, wfile):
        def say(text):
            wfile.write(text.encode() + b"\r\n")
            wfile.flush()

        say(f"220 {PEER} ESMTP fake")
        mail = None
        while True:
            line = rfile.readline()
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode("latin-1")
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                lines = [f"{PEER} Hello"] + self.keywords
                for k in lines[:-1]:
                    say("250-" + k)
                say("250 " + lines[-1])
            elif verb == "STARTTLS":
                with self.lock:
                    self.starttls += 1
                say("220 2.0.0 Ready to start TLS")
                wfile.write(b"this is no TLS record\r\n")  # the client's handshake fails on it
                wfile.flush()
                return
            elif verb == "MAIL":
                mail = cmd
                with self.lock:
                    self.mail_lines.append(cmd)
                say("250 2.1.0 Ok")
            elif verb == "RCPT":
                with self.lock:
                    self.envelopes.append((mail, cmd[cmd.find("<") + 1:cmd.rfind(">")]))
                say("250 2.1.5 Ok")
            elif verb == "DATA":
                say("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while not data.endswith(b"\r\n.\r\n") and data != b".\r\n":
                    chunk = rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                with self.lock:
                    self.messages.append(data)
                say("250 2.0.0 Ok: queued")
            elif verb in ("RSET", "NOOP", "HELO"):
                say("250 2.0.0 Ok")
            elif verb == "QUIT":
                say("221 2.0.0 Bye")
                return
            else:
                say("502 5.5.2 Error: command not recognized")


class PeerWorld:
    """exmail.qq.com (with its own --zone) relaying to peer.example, whose MX is the fake peer."""

    def __init__(self, w, peer, extra=""):
        self.world = CourseWorld(w, resolver="zone", queue="[queue]\nretry_first = 1\nretry_max = 2\n" + extra)
        with open(self.world.zone) as f:
            zone = f.read()
        # The course zone plus one MX and its P record (no A record: 127.0.0.1).
        zone = zone.replace("[MX]\n", '[MX]\n"peer.example." = "mx.peer.example."\n')
        zone = zone.replace("[P]\n", f'[P]\n"mx.peer.example." = {peer.port}\n')
        w.write("fdns/fdns.toml", zone)
        self.qq = self.world.start(QQ)


class RelayPeerTest(unittest.TestCase):
    def setUp(self):
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.close()

    def peer(self, **kw):
        p = FakePeer(**kw)
        self.peers.append(p)
        return p

    def test_may_falls_back_to_plaintext_after_a_failed_handshake(self):
        peer = self.peer(broken_tls=True)
        with World() as w:
            pw = PeerWorld(w, peer)
            pw.world.send(USR1[0], ["rcpt@peer.example"], "Subject: fallback\r\n\r\nin the clear\r\n")
            wait_for(lambda: peer.count("messages") == 1, timeout=20, what="the message in plaintext")
            self.assertEqual(peer.count("starttls"), 1)  # the first attempt tried TLS, the retry did not
            pw.qq.wait_for("event=tls_fallback")
            log = pw.qq.log()
            self.assertRegex(log, r"event=recipient id=\S+ to=rcpt@peer.example result=deferred "
                                  r"reply=\"4\.7\.5 STARTTLS with mx\.peer\.example failed")
            self.assertIn(f"event=tls_fallback host={PEER}", log)
            self.assertRegex(log, r"event=connected domain=peer\.example host=mx\.peer\.example .*tls=none")
            # The relay logs the delivery once it has read the peer's 250, which may come after the
            # peer counted the message (seen under ASan with ctest -j 4).
            wait_for(lambda: re.search(r"event=recipient id=\S+ to=rcpt@peer.example host=\S+ result=sent", pw.qq.log()),
                     what="event=recipient ... result=sent")
            self.assertIn(b"Subject: fallback", peer.messages[0])
            wait_for(lambda: not pw.world.queue_files(QQ), what="an empty queue")

    def test_verify_never_falls_back(self):
        peer = self.peer(broken_tls=True)
        with World() as w:
            pw = PeerWorld(w, peer, '[tls]\nrelay = "verify"\n')
            pw.world.send(USR1[0], ["rcpt@peer.example"], "Subject: stays\r\n\r\nnever in the clear\r\n")
            wait_for(lambda: peer.count("starttls") >= 3, timeout=20, what="three attempts with STARTTLS")
            self.assertEqual(peer.count("mail_lines"), 0)
            self.assertEqual(len(pw.world.queue_files(QQ)), 2)  # .eml and .json: still queued
            self.assertNotIn("event=tls_fallback", pw.qq.log())
            self.assertIn("4.7.5 STARTTLS with mx.peer.example failed", pw.qq.log())

    def test_a_message_above_the_announced_size_bounces_as_our_own_refusal(self):
        peer = self.peer(keywords=["SIZE 1000"])
        with World() as w:
            pw = PeerWorld(w, peer)
            body = "x" * 70 + "\r\n"
            pw.world.send(USR1[0], ["rcpt@peer.example"], "Subject: big\r\n\r\n" + body * 70)
            wait_for(lambda: pw.world.messages(*USR1, QQ), timeout=20, what="the bounce")
            p = pw.world.pop(*USR1, QQ)
            text = b"\n".join(p.retr(1)[1]).decode()  # as stored: no header refolded by a parser
            p.quit()
            self.assertRegex(text, r"<rcpt@peer\.example>: 5\.3\.4 message size \d+ exceeds the size limit 1000 "
                                   r"announced by host mx\.peer\.example\[127\.0\.0\.1\]:\d+\n")
            self.assertNotIn("said:", text)
            self.assertNotIn("in reply to", text)
            self.assertNotIn("Remote-MTA", text)
            self.assertIn("Status: 5.3.4\n", text)
            self.assertIn("Diagnostic-Code: x-mailworld; 5.3.4 message size", text)
            self.assertEqual(peer.count("mail_lines"), 0)  # nothing was sent

    def test_body_8bitmime_when_the_content_is_8bit_and_the_peer_offers_it(self):
        for offered in (True, False):
            with self.subTest(offered=offered):
                peer = self.peer(keywords=["8BITMIME"] if offered else [])
                with World() as w:
                    pw = PeerWorld(w, peer)
                    eight = "Subject: caf\u00e9\r\n\r\nd\u00e9j\u00e0 vu\r\n".encode()
                    with smtplib.SMTP("127.0.0.1", pw.world.ports[QQ][0], timeout=10) as s:
                        s.sendmail(USR1[0], ["declared@peer.example"], eight, mail_options=["BODY=8BITMIME"])
                        s.sendmail(USR1[0], ["undeclared@peer.example"], eight)
                        s.sendmail(USR1[0], ["seven@peer.example"], b"Subject: plain\r\n\r\nascii\r\n")
                    wait_for(lambda: peer.count("messages") == 3, timeout=20, what="three messages")
                    mail = {rcpt: line for line, rcpt in peer.envelopes}
                    body = " BODY=8BITMIME" if offered else ""  # not offered: sent as is, as Postfix does
                    self.assertEqual(mail, {"declared@peer.example": f"MAIL FROM:<{USR1[0]}>{body}",
                                            "undeclared@peer.example": f"MAIL FROM:<{USR1[0]}>{body}",
                                            "seven@peer.example": f"MAIL FROM:<{USR1[0]}>"})
                    bodies = [m for m in peer.messages if "d\u00e9j\u00e0 vu".encode() in m]
                    self.assertEqual(len(bodies), 2)  # the 8-bit octets arrive as they were
                    log = pw.qq.log()
                    self.assertEqual(log.count("event=eight_bit_unannounced"), 1, log)


if __name__ == "__main__":
    unittest.main()
