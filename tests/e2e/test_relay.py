"""The course's mail world end to end: fdns and two mailsrv (exmail.qq.com serving mail.sustech.edu.cn,
gmail.com serving gmail.com) on free ports; mail relayed between them through the pseudo-DNS, bounces,
a server that is down, restarts, attachments."""
import os
import signal
import smtplib
import subprocess
import time
import unittest

from world import GM, QQ, CourseWorld, World, wait_for

MSG = "From: usr1@mail.sustech.edu.cn\r\nTo: usr@gmail.com\r\nSubject: {s}\r\n\r\nHello from SUSTech.\r\n"


class RelayTest(unittest.TestCase):
    def test_sustech_to_gmail_arrives_within_seconds(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ), world.start(GM)
            t0 = time.monotonic()
            self.assertEqual(world.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com"], MSG.format(s="cross-domain")), {})
            got = wait_for(lambda: world.messages("usr@gmail.com", "pass", GM), what="the relayed message")
            self.assertLess(time.monotonic() - t0, 5)
            self.assertEqual(got[0]["Subject"], "cross-domain")
            self.assertEqual(got[0]["From"], "usr1@mail.sustech.edu.cn")
            self.assertEqual(got[0]["Return-Path"], "<usr1@mail.sustech.edu.cn>")
            self.assertEqual(len(got[0].get_all("Received")), 2)  # one per server
            wait_for(lambda: world.queue_files(QQ) == [], what="an empty queue")
            p = world.pop("usr@gmail.com", "pass", GM)
            resp, lines, octets = p.list()
            self.assertEqual(len(lines), 1)
            p.quit()

    def test_same_domain_then_pop_commands(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ)
            world.send("usr1@mail.sustech.edu.cn", ["usr2@mail.sustech.edu.cn"], MSG.format(s="same domain"))
            p = world.pop("usr2@mail.sustech.edu.cn", "pass2", QQ)
            self.assertIn(b"Subject: same domain", b"\n".join(p.retr(1)[1]))
            p.dele(1)
            self.assertEqual(p.stat()[0], 0)
            p.rset()
            self.assertEqual(p.stat()[0], 1)
            self.assertTrue(p.noop().startswith(b"+OK"))
            p.quit()
            self.assertEqual(world.queue_files(QQ), [])  # nothing went to the relay queue

    def test_unknown_remote_recipient_bounces_to_the_sender(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ), world.start(GM)
            self.assertEqual(world.send("usr1@mail.sustech.edu.cn", ["error@gmail.com"], MSG.format(s="to nobody")), {})
            bounces = wait_for(lambda: world.messages("usr1@mail.sustech.edu.cn", "pass1", QQ), what="the bounce")
            b = bounces[0]
            self.assertEqual(b["From"], f"Mail Delivery System <MAILER-DAEMON@{QQ}>")
            self.assertEqual(b["Return-Path"], "<>")
            self.assertEqual(b.get_content_type(), "multipart/report")
            self.assertEqual(b.get_param("report-type"), "delivery-status")
            parts = b.get_payload()
            self.assertEqual([p.get_content_type() for p in parts],
                             ["text/plain", "message/delivery-status", "text/rfc822-headers"])
            human = parts[0].get_payload()
            self.assertIn("<error@gmail.com>", human)
            self.assertIn("550 5.1.1", human)
            status = parts[1].get_payload()
            fields = {}
            for block in status:
                fields.update(dict(block.items()))
            self.assertEqual(fields["Final-Recipient"], "rfc822; error@gmail.com")
            self.assertEqual(fields["Action"], "failed")
            self.assertEqual(fields["Status"], "5.1.1")
            self.assertIn("Subject: to nobody", parts[2].get_payload())
            self.assertEqual(world.messages("usr@gmail.com", "pass", GM), [])

    def test_unknown_local_sender_is_refused_and_nothing_is_sent(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ), world.start(GM)
            with self.assertRaises(smtplib.SMTPSenderRefused) as e:
                world.send("error@mail.sustech.edu.cn", ["usr@gmail.com", "usr2@mail.sustech.edu.cn"], MSG.format(s="x"))
            self.assertEqual(e.exception.smtp_code, 550)
            time.sleep(1)
            self.assertEqual(world.messages("usr@gmail.com", "pass", GM), [])
            self.assertEqual(world.messages("usr2@mail.sustech.edu.cn", "pass2", QQ), [])
            self.assertEqual(world.queue_files(QQ), [])

    def test_a_server_that_is_down_gets_the_mail_later_exactly_once(self):
        with World() as w:
            world = CourseWorld(w)
            qq = world.start(QQ)  # gmail.com is down
            world.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com"], MSG.format(s="patience"))
            wait_for(lambda: "result=deferred" in qq.log(), what="a deferred attempt")
            self.assertEqual(len(world.queue_files(QQ)), 2)
            # The sending server restarts meanwhile: the queue survives.
            self.assertEqual(world.stop(QQ), 0)
            qq = world.start(QQ)
            qq.wait_for("event=queue_loaded entries=1", timeout=5)
            world.start(GM)
            got = wait_for(lambda: world.messages("usr@gmail.com", "pass", GM), timeout=15, what="the late delivery")
            self.assertEqual(got[0]["Subject"], "patience")
            wait_for(lambda: world.queue_files(QQ) == [], what="an empty queue")
            time.sleep(2.5)  # longer than retry_max: a second copy would have come by now
            self.assertEqual(len(world.messages("usr@gmail.com", "pass", GM)), 1)

    def test_three_recipients_two_domains_one_unknown(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ), world.start(GM)
            world.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com", "usr2@mail.sustech.edu.cn", "ghost@gmail.com"],
                       MSG.format(s="three"))
            self.assertEqual(wait_for(lambda: world.messages("usr@gmail.com", "pass", GM))[0]["Subject"], "three")
            self.assertEqual(world.messages("usr2@mail.sustech.edu.cn", "pass2", QQ)[0]["Subject"], "three")
            bounce = wait_for(lambda: world.messages("usr1@mail.sustech.edu.cn", "pass1", QQ), what="the bounce")
            self.assertEqual(len(bounce), 1)
            text = bounce[0].get_payload()[0].get_payload()
            self.assertIn("<ghost@gmail.com>", text)
            self.assertNotIn("usr@gmail.com", text)

    def test_an_attachment_crosses_the_relay_byte_identical(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")  # and the in-process resolver works the same
            world.start(QQ), world.start(GM)
            payload = os.urandom(300_000)
            att = w.path("photo.jpg")
            with open(att, "wb") as f:
                f.write(payload)
            r = subprocess.run(["swaks", "--server", f"127.0.0.1:{world.ports[QQ][0]}", "--from", "usr1@mail.sustech.edu.cn",
                                "--to", "usr@gmail.com", "--header", "Subject: photo", "--attach", f"@{att}"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout)
            got = wait_for(lambda: world.messages("usr@gmail.com", "pass", GM), what="the attachment")
            parts = [p for p in got[0].walk() if p.get_filename()]
            self.assertEqual(parts[0].get_payload(decode=True), payload)

    def test_unresolvable_domain_bounces_and_a_bounce_is_never_bounced(self):
        with World() as w:
            world = CourseWorld(w)
            qq = world.start(QQ)
            world.send("usr1@mail.sustech.edu.cn", ["someone@nowhere.example"], MSG.format(s="nowhere"))
            b = wait_for(lambda: world.messages("usr1@mail.sustech.edu.cn", "pass1", QQ), what="the bounce")
            self.assertIn("5.1.2", b[0].get_payload()[0].get_payload())
            # A message from the null sender that fails is dropped with a log line.
            with smtplib.SMTP("127.0.0.1", world.ports[QQ][0]) as s:
                s.ehlo("x")
                s.mail("<>")
                s.rcpt("usr2@mail.sustech.edu.cn")
                s.data(b"Subject: from null\r\n\r\nx\r\n")
            self.assertEqual(len(world.messages("usr2@mail.sustech.edu.cn", "pass2", QQ)), 1)

    def test_kill_9_loses_nothing_from_the_queue(self):
        with World() as w:
            world = CourseWorld(w)
            qq = world.start(QQ)  # gmail.com down: everything waits in the queue
            for i in range(10):
                world.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com"], MSG.format(s=f"k{i}"))
            self.assertEqual(world.stop(QQ, signal.SIGKILL), -9)
            world.start(QQ)
            world.start(GM)
            got = wait_for(lambda: (m := world.messages("usr@gmail.com", "pass", GM)) and len(m) >= 10 and m,
                           timeout=20, what="ten messages")
            self.assertEqual(sorted(m["Subject"] for m in got), sorted(f"k{i}" for i in range(10)))


if __name__ == "__main__":
    unittest.main()
