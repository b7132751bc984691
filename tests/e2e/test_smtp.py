"""mailsrv's SMTP side end to end: Python's smtplib, swaks and raw telnet-style sockets against the
real server on a free port; the Maildir and queue files checked byte for byte."""
import email
import json
import mailbox
import os
import re
import signal
import smtplib
import socket
import subprocess
import threading
import time
import unittest

from world import Smtp, World, maildir_files, world_config

ACCOUNTS = {"gmail.com": {"usr@gmail.com": "pass", "Bob@gmail.com": "pw2"}}
RECEIVED = re.compile(r"Received: from (\S+) \(\[127\.0\.0\.1\]\)\n\tby gmail\.com \(mailworld\) with (E?SMTP) id ([0-9A-F]+)"
                      r"(\n\tfor <[^>]+>)?; \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000\n")


def read(path):
    with open(path, "rb") as f:
        return f.read()


class SmtpTest(unittest.TestCase):
    def start(self, w, extra="", args=()):
        self.port = w.free_port()
        cfg = w.write("config.toml", world_config({"gmail.com": (self.port, w.free_port())}, ACCOUNTS, extra=extra))
        self.data = w.path("data")
        return w.start("mailsrv", ["-n", "gmail.com", "-c", cfg, "--data", self.data, *args])

    def check_stored(self, path, sender, helo, body, for_addr=None, esmtp=True):
        raw = read(path)
        head = f"Return-Path: <{sender}>\n".encode()
        self.assertTrue(raw.startswith(head), raw[:200])
        m = RECEIVED.match(raw[len(head):].decode())
        self.assertIsNotNone(m, raw[:300])
        self.assertEqual(m.group(1), helo)
        self.assertEqual(m.group(2), "ESMTP" if esmtp else "SMTP")
        self.assertEqual(m.group(4), f"\n\tfor <{for_addr}>" if for_addr else None)
        self.assertEqual(raw[len(head) + m.end():], body)
        name = os.path.basename(path)
        size, wsize = map(int, re.search(r",S=(\d+),W=(\d+)$", name).groups())
        self.assertEqual(size, len(raw))
        self.assertEqual(wsize, len(raw) + raw.count(b"\n"))
        return m.group(3)

    def test_smtplib_delivers_byte_for_byte(self):
        with World() as w:
            srv = self.start(w)
            msg = "From: a@example.org\r\nSubject: hi\r\n\r\nline one\r\n.starts with a dot\r\n..two dots\r\n"
            with smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.example") as s:
                self.assertEqual(s.sendmail("a@example.org", ["usr@gmail.com"], msg), {})
            files = maildir_files(self.data, "usr@gmail.com")
            self.assertEqual(len(files), 1)
            body = b"From: a@example.org\nSubject: hi\n\nline one\n.starts with a dot\n..two dots\n"
            qid = self.check_stored(files[0], "a@example.org", "client.example", body, for_addr="usr@gmail.com")
            # The log line may reach the reader thread a moment after the reply reached smtplib.
            srv.wait_for(f"event=message id={qid} from=<a@example.org> to=usr@gmail.com local=1 queued=0")
            self.assertEqual(w.stop(srv), 0)

    def test_several_local_recipients_share_one_copy_and_remote_ones_are_queued(self):
        with World() as w:
            srv = self.start(w)
            with smtplib.SMTP("127.0.0.1", self.port, local_hostname="c.example") as s:
                s.sendmail("usr@gmail.com", ["usr@gmail.com", "Bob@GMAIL.com", "friend@yahoo.com"], "Subject: x\r\n\r\nhi\r\n")
            a = maildir_files(self.data, "usr@gmail.com")
            b = maildir_files(self.data, "Bob@gmail.com")
            self.assertEqual((len(a), len(b)), (1, 1))
            self.assertEqual(os.stat(a[0]).st_ino, os.stat(b[0]).st_ino)  # hard links: one copy
            qid = self.check_stored(a[0], "usr@gmail.com", "c.example", b"Subject: x\n\nhi\n")  # no "for": 3 recipients
            # An independent Maildir reader (Python's mailbox module) sees the same message.
            md = mailbox.Maildir(os.path.join(self.data, "mail", "Bob@gmail.com"), create=False)
            msgs = list(md)
            self.assertEqual(len(msgs), 1)
            self.assertEqual(msgs[0]["Subject"], "x")
            self.assertEqual(msgs[0]["Return-Path"], "<usr@gmail.com>")
            self.assertEqual(msgs[0].get_subdir(), "new")
            queue = os.path.join(self.data, "queue")
            self.assertEqual(sorted(f for f in os.listdir(queue) if f != "tmp"), [qid + ".eml", qid + ".json"])
            eml = read(os.path.join(queue, qid + ".eml"))
            self.assertTrue(eml.startswith(b"Received: from c.example"), eml)  # queue copies: no Return-Path
            self.assertTrue(eml.endswith(b"Subject: x\n\nhi\n"))
            env = json.loads(read(os.path.join(queue, qid + ".json")))
            # Version 1 as queued; the relay may already have tried yahoo.com (no DNS server here), and
            # an envelope holding that outcome is version 2 (docs/reference.md "State on disk").
            self.assertIn(env["version"], (1, 2))
            self.assertEqual(env["sender"], "usr@gmail.com")
            self.assertEqual([r["address"] for r in env["recipients"]], ["friend@yahoo.com"])
            self.assertEqual(env["recipients"][0]["state"], "pending")
            if env["version"] == 1:
                self.assertEqual(env["recipients"][0]["last_reply"], "")
            else:
                self.assertEqual(env["recipients"][0]["last_reply"]["enhanced"][:2], "4.")
            self.assertEqual(w.stop(srv), 0)

    def test_rules_unknown_sender_unknown_recipient_no_open_relay(self):
        with World() as w:
            srv = self.start(w)
            with smtplib.SMTP("127.0.0.1", self.port) as s:
                with self.assertRaises(smtplib.SMTPSenderRefused) as e:
                    s.sendmail("ghost@gmail.com", ["usr@gmail.com"], "x")
                self.assertEqual(e.exception.smtp_code, 550)
                self.assertIn(b"5.1.0", e.exception.smtp_error)
                s.rset()
                with self.assertRaises(smtplib.SMTPRecipientsRefused) as e:
                    s.sendmail("a@example.org", ["ghost@gmail.com"], "x")
                self.assertEqual(e.exception.recipients["ghost@gmail.com"][0], 550)
                self.assertIn(b"5.1.1", e.exception.recipients["ghost@gmail.com"][1])
                s.rset()
                with self.assertRaises(smtplib.SMTPRecipientsRefused) as e:
                    s.sendmail("a@example.org", ["x@yahoo.com"], "x")
                self.assertEqual(e.exception.recipients["x@yahoo.com"], (550, b"5.7.1 Relay access denied"))
            self.assertEqual(maildir_files(self.data, "usr@gmail.com"), [])
            self.assertEqual(w.stop(srv), 0)

    def test_telnet_session_with_a_wrong_command_in_the_middle(self):
        with World() as w:
            srv = self.start(w)
            c = Smtp(self.port)
            self.assertEqual(c.reply(), (220, ["gmail.com ESMTP mailworld"]))
            self.assertEqual(c.cmd("HELO gmail.com"), (250, ["gmail.com"]))
            self.assertEqual(c.cmd("MAIL FROM: <bob@example.org>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO: <zhanhu@cse.ust.hk>"), (550, ["5.7.1 Relay access denied"]))
            self.assertEqual(c.cmd("d"), (500, ["5.5.2 Error: command not recognized"]))
            self.assertEqual(c.cmd("rcpt to: <usr@gmail.com>")[0], 250)
            self.assertEqual(c.cmd("data"), (354, ["End data with <CR><LF>.<CR><LF>"]))
            c.send("Hi,\r\nHow are you?\r\nbare\rcr and bare\nlf\r\n.\r\n")
            code, text = c.reply()
            self.assertEqual(code, 250)
            self.assertTrue(text[0].startswith("2.0.0 Ok: queued as "))
            self.assertEqual(c.cmd("quit"), (221, ["2.0.0 Bye"]))
            self.assertTrue(c.closed())
            files = maildir_files(self.data, "usr@gmail.com")
            self.check_stored(files[0], "bob@example.org", "gmail.com", b"Hi,\nHow are you?\nbare\rcr and bare\nlf\n",
                              "usr@gmail.com", esmtp=False)
            self.assertEqual(w.stop(srv), 0)

    def test_pipelining_one_write_replies_in_order(self):
        with World() as w:
            srv = self.start(w)
            c = Smtp(self.port)
            c.reply()
            c.send("EHLO p.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<usr@gmail.com>\r\n"
                   "RCPT TO:<ghost@gmail.com>\r\nRCPT TO:<Bob@gmail.com>\r\nDATA\r\n")
            codes = [c.reply()[0] for _ in range(6)]
            self.assertEqual(codes, [250, 250, 250, 550, 250, 354])
            c.send("Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<usr@gmail.com>\r\nDATA\r\n")
            self.assertEqual([c.reply()[0] for _ in range(4)], [250, 250, 250, 354])
            c.send("second\r\n.\r\nQUIT\r\n")
            self.assertEqual([c.reply()[0] for _ in range(2)], [250, 221])
            self.assertEqual(len(maildir_files(self.data, "usr@gmail.com")), 2)
            self.assertEqual(len(maildir_files(self.data, "Bob@gmail.com")), 1)
            self.assertEqual(w.stop(srv), 0)

    def test_smuggling_variants_are_content(self):
        variants = {"LF.LF": b"\n.\n", "LF.CRLF": b"\n.\r\n", "CRLF.LF": b"\r\n.\n", "CR.CR": b"\r.\r"}
        with World() as w:
            srv = self.start(w)
            for name, seq in variants.items():
                with self.subTest(name):
                    before = len(maildir_files(self.data, "usr@gmail.com"))
                    c = Smtp(self.port)
                    c.reply()
                    for cmd in ("EHLO s.example", "MAIL FROM:<a@example.org>", "RCPT TO:<usr@gmail.com>", "DATA"):
                        c.cmd(cmd)
                    # A smuggled second message hides behind the fake end of data.
                    c.send(b"Subject: one\r\n\r\ntext" + seq + b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<Bob@gmail.com>\r\n"
                           b"DATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n")
                    code, text = c.reply()
                    self.assertEqual(code, 250, text)
                    self.assertEqual(c.cmd("QUIT")[0], 221)  # no other reply was waiting
                    files = maildir_files(self.data, "usr@gmail.com")
                    self.assertEqual(len(files), before + 1)
                    self.assertIn(b"MAIL FROM:<evil@example.org>", read(files[-1]))
            self.assertEqual(maildir_files(self.data, "Bob@gmail.com"), [])  # nothing was smuggled through
            self.assertEqual(w.stop(srv), 0)

    def test_swaks_with_an_attachment(self):
        with World() as w:
            srv = self.start(w)
            att = w.write("report.bin", "")
            payload = bytes(range(256)) * 40
            with open(att, "wb") as f:
                f.write(payload)
            r = subprocess.run(["swaks", "--server", f"127.0.0.1:{self.port}", "--from", "usr@gmail.com", "--to",
                                "Bob@gmail.com", "--helo", "swaks.example", "--header", "Subject: with attachment",
                                "--attach", f"@{att}", "--pipeline"], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("250 2.0.0 Ok: queued as", r.stdout)
            files = maildir_files(self.data, "Bob@gmail.com")
            self.assertEqual(len(files), 1)
            msg = email.message_from_bytes(read(files[0]))
            self.assertEqual(msg["Subject"], "with attachment")
            parts = [p for p in msg.walk() if p.get_filename()]
            self.assertEqual(len(parts), 1)
            self.assertEqual(parts[0].get_payload(decode=True), payload)
            self.assertEqual(w.stop(srv), 0)

    def test_verbose_logs_the_attachment_names_of_each_stored_message(self):
        # -v: the names are read back from the stored copy, the mailbox's or else the queue's.
        from email.message import EmailMessage
        with World() as w:
            srv = self.start(w, args=("-v",))
            ids = []
            for to, name in (("usr@gmail.com", "notes.txt"), ("friend@yahoo.com", "plan.pdf")):
                m = EmailMessage()
                m["Subject"] = "files"
                m.set_content("see attached\n")
                m.add_attachment(b"%PDF-1.4 x" * 50, maintype="application", subtype="octet-stream", filename=name)
                with smtplib.SMTP("127.0.0.1", self.port, local_hostname="c.example") as s:
                    self.assertEqual(s.sendmail("usr@gmail.com", [to], m.as_bytes()), {})
                srv.wait_for(f"to={to} local=")
                ids.append(re.findall(r"event=message id=(\S+) from=<usr@gmail.com> to=" + re.escape(to), srv.log())[-1])
            self.assertIn(f"event=attachments id={ids[0]} count=1 names=notes.txt", srv.log())
            self.assertIn(f"event=attachments id={ids[1]} count=1 names=plan.pdf", srv.log())
            self.assertEqual(w.stop(srv), 0)

    def test_limits_from_the_config(self):
        extra = "[limits]\nmessage_size = 2000\nrecipients = 2\ncommand_line = 100\ntext_line = 200\n"
        with World() as w:
            srv = self.start(w, extra)
            c = Smtp(self.port)
            c.reply()
            ehlo = c.cmd("EHLO l.example")
            self.assertIn("SIZE 2000", ehlo[1])
            self.assertEqual(c.cmd("NOOP " + "x" * 200), (500, ["5.5.2 Error: line too long"]))
            self.assertEqual(c.cmd("MAIL FROM:<a@example.org> SIZE=2001"), (552, ["5.3.4 Error: message too big"]))
            self.assertEqual(c.cmd("MAIL FROM:<usr@gmail.com>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<usr@gmail.com>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<Bob@gmail.com>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<x@yahoo.com>"), (452, ["4.5.3 Error: too many recipients"]))
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(("y" * 90 + "\r\n") * 30 + ".\r\n")  # 2760 octets
            self.assertEqual(c.reply(), (552, ["5.3.4 Error: message too big"]))
            self.assertEqual(c.cmd("MAIL FROM:<usr@gmail.com>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<usr@gmail.com>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send("short\r\n" + "z" * 500 + "\r\nafter\r\n.\r\n")
            self.assertEqual(c.reply(), (552, ["5.3.4 Error: message has a line longer than allowed"]))
            self.assertEqual(c.cmd("NOOP")[0], 250)  # the session goes on
            self.assertEqual(maildir_files(self.data, "usr@gmail.com"), [])
            self.assertEqual(w.stop(srv), 0)

    def test_session_cap_idle_timeout_and_shutdown(self):
        extra = "[limits]\nsessions = 2\nsmtp_idle = 1\n"
        with World() as w:
            srv = self.start(w, extra)
            a, b = Smtp(self.port), Smtp(self.port)
            a.reply(), b.reply()
            c = Smtp(self.port)
            self.assertEqual(c.reply(), (421, ["4.3.2 gmail.com Too many sessions, try again later"]))
            self.assertTrue(c.closed())
            t0 = time.monotonic()
            self.assertEqual(a.reply(), (421, ["4.4.2 gmail.com Error: timeout exceeded"]))
            self.assertLess(time.monotonic() - t0, 3)
            self.assertTrue(a.closed())
            b.close()
        with World() as w:
            srv = self.start(w)
            d = Smtp(self.port)
            d.reply()
            d.cmd("EHLO x")
            t0 = time.monotonic()
            srv.popen.send_signal(signal.SIGTERM)
            self.assertEqual(d.reply(), (421, ["4.3.2 gmail.com Service shutting down"]))
            self.assertEqual(w.stop(srv), 0)
            self.assertLess(time.monotonic() - t0, 2)

    def test_concurrent_clients_and_kill_9_loses_nothing_acknowledged(self):
        with World() as w:
            srv = self.start(w)
            acked, errors = [], []

            def client(k):
                try:
                    with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
                        for i in range(10):
                            s.sendmail("a@example.org", ["usr@gmail.com"], f"Subject: {k}-{i}\r\n\r\nbody {k} {i}\r\n")
                            acked.append((k, i))
                except Exception as e:  # noqa: BLE001 -- collected and asserted below
                    errors.append(repr(e))

            threads = [threading.Thread(target=client, args=(k,)) for k in range(30)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            self.assertEqual(len(acked), 300)
            srv.popen.kill()
            srv.popen.wait()
            subjects = set()
            for f in maildir_files(self.data, "usr@gmail.com"):
                subjects.add(email.message_from_bytes(read(f))["Subject"])
            self.assertEqual(subjects, {f"{k}-{i}" for k, i in acked})
            # A restart cleans tmp/ and serves again.
            srv2 = w.start("mailsrv", ["-n", "gmail.com", "-c", w.path("config.toml"), "--data", self.data])
            self.assertEqual(os.listdir(os.path.join(self.data, "mail", "usr@gmail.com", "tmp")), [])
            self.assertEqual(w.stop(srv2), 0)

    def test_big_message_streams_to_disk(self):
        with World() as w:
            srv = self.start(w)
            line = "x" * 998 + "\r\n"
            body = "Subject: big\r\n\r\n" + line * 20000  # 20 MB

            def peak_kib():
                with open(f"/proc/{srv.pid}/status") as f:
                    return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))

            with smtplib.SMTP("127.0.0.1", self.port) as s:
                s.sendmail("a@example.org", ["usr@gmail.com"], "Subject: small\r\n\r\nwarm-up\r\n")
                before = peak_kib()
                s.sendmail("a@example.org", ["usr@gmail.com"], body)
            grown = peak_kib() - before
            self.assertLess(grown, 4 * 1024, f"peak RSS grew by {grown} KiB for a 20 MB message: it must stream")
            big = [f for f in maildir_files(self.data, "usr@gmail.com") if b"Subject: big" in read(f)]
            self.assertEqual(len(big), 1)
            self.assertEqual(os.path.getsize(big[0]) - len(read(big[0]).split(b"Subject: big")[0]),
                             len(body) - body.count("\r\n"))
            self.assertEqual(w.stop(srv), 0)

    def test_bad_config_and_flags_are_one_line(self):
        with World() as w:
            cfg = w.write("config.toml", world_config({"gmail.com": (2525, 2110)}, ACCOUNTS) + "[limits]\nrecipients = 0\n")
            r = w.run("mailsrv", ["-n", "gmail.com", "-c", cfg])
            self.assertEqual((r.returncode, r.stderr), (2, f"mailsrv: {cfg}:7: limits.recipients: value 0 is out of range 1..100000\n"))
            good = w.write("good.toml", world_config({"gmail.com": (2525, 2110)}, ACCOUNTS))
            r = w.run("mailsrv", ["-n", "yahoo.com", "-c", good])
            self.assertEqual((r.returncode, r.stderr),
                             (2, f'mailsrv: {good}: no [server] entry "yahoo.com" (known: gmail.com)\n'))
            r = w.run("mailsrv", ["-c", good])
            self.assertEqual((r.returncode, r.stderr), (2, "mailsrv: -n NAME is required (see --help)\n"))
            r = w.run("mailsrv", ["-n", "gmail.com", "-c", good, "-s", "99999"])
            self.assertEqual(r.returncode, 2)
            self.assertEqual(len(r.stderr.splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
