"""Fault rules in mailsrv (issue 13, item 1): each rule kind observed from a real client (smtplib,
poplib, raw sockets), the first / every / probability+seed forms, greylisting against mailsrv's own
relay, a connection dropped after RCPT twice, and SIGHUP reloads (a bad file keeps the old rules)."""
import os
import poplib
import signal
import smtplib
import socket
import time
import unittest

from world import GM, QQ, CourseWorld, Smtp, World, maildir_files, wait_for

SENDER = "usr1@mail.sustech.edu.cn"
MSG = b"Subject: fault test\r\n\r\nhello\r\n"


def start_gm(w, world, rules, extra_args=()):
    w.write("faults/gm.toml", rules)  # a relative path: from the working directory (the world's folder)
    return w.start("mailsrv", ["-n", GM, "--zone", world.zone, "--faults", "faults/gm.toml", *extra_args], listening=2)


def smtp_code(fn):
    """The code of the SMTP error `fn` raises, or 250 when it succeeds."""
    try:
        fn()
        return 250
    except smtplib.SMTPRecipientsRefused as e:
        return list(e.recipients.values())[0][0]
    except smtplib.SMTPResponseException as e:
        return e.smtp_code


def fault_lines(proc, name):
    return [l for l in proc.log().splitlines() if "event=fault " in l and f"rule={name} " in l + " "]


class FaultRulesTest(unittest.TestCase):
    def test_replies_at_ehlo_mail_rcpt_data_end_of_data_and_auth(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            gm = start_gm(w, world, """
rule = [
  { name = "helo", when = "smtp EHLO", match = { helo = "bad.example" }, do = "reply 554 5.7.1 Bad name" },
  { name = "mail", when = "smtp MAIL", match = { sender = "*@refused.example" }, do = "reply 550 5.7.1 Not you" },
  { name = "rcpt", when = "smtp RCPT", match = { sender = "rcpt@x.org" }, do = "reply 450 4.2.1 Try later" },
  { name = "data", when = "smtp DATA", match = { sender = "data@x.org" }, do = "reply 452 4.3.1 No room now" },
  { name = "full", when = "smtp end-of-data", match = { sender = "eod@x.org", recipient = "usr@*" }, do = "reply 552 5.2.2 Mailbox full" },
  { name = "auth", when = "smtp AUTH", do = "reply 454 4.7.0 Not now" },
]
""")
            port = world.ports[GM][0]
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                self.assertEqual(s.ehlo("bad.example")[0], 554)
                self.assertEqual(s.ehlo("good.example")[0], 250)
                self.assertEqual(smtp_code(lambda: s.sendmail("a@refused.example", ["usr@gmail.com"], MSG)), 550)
                s.rset()
                self.assertEqual(smtp_code(lambda: s.sendmail("rcpt@x.org", ["usr@gmail.com"], MSG)), 450)
                s.rset()
                self.assertEqual(smtp_code(lambda: s.sendmail("data@x.org", ["usr@gmail.com"], MSG)), 452)
                s.rset()
                self.assertEqual(smtp_code(lambda: s.sendmail("eod@x.org", ["usr@gmail.com"], MSG)), 552)
            c = Smtp(port)
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.cmd("EHLO c")[0], 250)
            self.assertEqual(c.cmd("AUTH PLAIN AHVzckBnbWFpbC5jb20AcGFzcw=="), (454, ["4.7.0 Not now"]))
            c.close()
            data = w.path(f"var/{GM}")
            self.assertEqual(maildir_files(data, "usr@gmail.com"), [], "a refused end-of-data stores nothing")
            self.assertEqual(maildir_files(data, "usr@gmail.com", "tmp"), [], "the staged file is discarded")
            world.send("ok@x.org", ["usr@gmail.com"], MSG, via=GM)  # no rule matches: delivered
            self.assertEqual(len(maildir_files(data, "usr@gmail.com")), 1)
            for name in ("helo", "mail", "rcpt", "data", "full", "auth"):
                self.assertEqual(len(fault_lines(gm, name)), 1, name)
            full = fault_lines(gm, "full")[0]
            self.assertIn('when="smtp end-of-data"', full)
            self.assertIn("sender=eod@x.org", full)
            self.assertIn("recipient=usr@gmail.com", full)
            self.assertIn("client=127.0.0.1", full)
            self.assertNotIn("AHVzck", gm.log(), "the AUTH secret never reaches the log")

    def test_connect_drop_then_greeting_reply_then_normal(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            gm = start_gm(w, world, """
rule = [
  { name = "cut", when = "smtp connect", do = "drop", first = 1 },
  { name = "busy", when = "smtp greeting", do = "reply 554 5.3.2 Not accepting mail", first = 1 },
]
""")
            port = world.ports[GM][0]
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                self.assertEqual(s.recv(100), b"", "dropped: closed without a word")
            c = Smtp(port)
            self.assertEqual(c.reply(), (554, ["5.3.2 Not accepting mail"]))
            self.assertTrue(c.closed())
            c.close()
            c = Smtp(port)
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.cmd("QUIT")[0], 221)
            c.close()
            self.assertEqual(len(fault_lines(gm, "cut")), 1)
            self.assertEqual(len(fault_lines(gm, "busy")), 1)

    def test_drop_at_end_of_data_stores_nothing_and_the_client_sends_again(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            gm = start_gm(w, world, 'rule = [ { name = "lost", when = "smtp end-of-data", do = "drop", first = 1 } ]')
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                world.send(SENDER, ["usr@gmail.com"], MSG, via=GM)
            data = w.path(f"var/{GM}")
            self.assertEqual(maildir_files(data, "usr@gmail.com"), [])
            self.assertEqual(maildir_files(data, "usr@gmail.com", "tmp"), [], "the staged file is discarded")
            world.send(SENDER, ["usr@gmail.com"], MSG, via=GM)
            self.assertEqual(len(maildir_files(data, "usr@gmail.com")), 1)
            self.assertEqual(len(fault_lines(gm, "lost")), 1)
            results = [l.split("result=")[1].split()[0] for l in gm.log().splitlines() if "event=message " in l]
            self.assertEqual(results, ["dropped", "stored"])

    def test_drop_of_a_pipelined_command_still_sends_the_replies_before_it(self):
        # RFC 2920: QUIT may follow the final "." in the same packet. The message is stored and its 250
        # decided before the QUIT is read: a drop at QUIT must not swallow that 250 (the client would
        # take the message as not delivered and send it again: a duplicate).
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            gm = start_gm(w, world, 'rule = [ { name = "cut", when = "smtp QUIT", do = "drop" } ]')
            c = Smtp(world.ports[GM][0])
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.cmd("EHLO c")[0], 250)
            self.assertEqual(c.cmd(f"MAIL FROM:<{SENDER}>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<usr@gmail.com>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(MSG + b".\r\nQUIT\r\n")
            try:
                code = c.reply()[0]
            except (EOFError, ConnectionError) as e:
                code = str(e)
            c.close()
            data = w.path(f"var/{GM}")
            wait_for(lambda: len(fault_lines(gm, "cut")) == 1, 5)
            self.assertEqual(len(maildir_files(data, "usr@gmail.com")), 1)
            self.assertEqual(code, 250, "the stored message's 250 reaches the client before the drop")

    def test_delay_and_slow(self):
        size, rate = 50000, 20000
        body = b"Subject: big\r\n\r\n" + (b"x" * 98 + b"\r\n") * (size // 100)
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            gm = start_gm(w, world, """
rule = [
  { name = "wait", when = "smtp MAIL", match = { sender = "late@x.org" }, do = "delay 800" },
  { name = "slowin", when = "smtp DATA", match = { sender = "slow@x.org" }, do = "slow 20000" },
  { name = "slowout", when = "pop3 RETR", do = "slow 20000" },
]
""")
            with smtplib.SMTP("127.0.0.1", world.ports[GM][0], timeout=20) as s:
                s.ehlo("c")
                t = time.monotonic()
                self.assertEqual(s.mail("late@x.org")[0], 250)
                self.assertGreaterEqual(time.monotonic() - t, 0.8, "MAIL answered after the delay")
                s.rset()
                t = time.monotonic()
                s.sendmail("quick@x.org", ["usr@gmail.com"], body)
                fast = time.monotonic() - t
                t = time.monotonic()
                s.sendmail("slow@x.org", ["usr@gmail.com"], body)
                slow = time.monotonic() - t
            # A slow receiver: the text (about 50 kB) cannot be read faster than 20000 octets/s.
            self.assertGreaterEqual(slow, (size - rate / 10) / rate * 0.95, f"slow DATA took {slow:.2f}s")
            self.assertLess(fast, 1.5, "without the rule DATA is fast")
            p = world.pop("usr@gmail.com", "pass", GM)
            t = time.monotonic()
            lines = p.retr(1)[1]
            took = time.monotonic() - t
            p.quit()
            self.assertGreater(sum(len(l) + 2 for l in lines), size)
            self.assertGreaterEqual(took, (size - rate / 10) / rate * 0.95, f"slow RETR took {took:.2f}s")
            for name in ("wait", "slowin", "slowout"):
                self.assertEqual(len(fault_lines(gm, name)), 1, name)

    def test_pop3_user_pass_and_retr_replies(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            gm = start_gm(w, world, """
rule = [
  { name = "nouser", when = "pop3 USER", match = { user = "blocked*" }, do = "reply -ERR no such luck" },
  { name = "nopass", when = "pop3 PASS", match = { user = "usr@gmail.com" }, do = "reply -ERR [AUTH] not now", first = 1 },
  { name = "noretr", when = "pop3 RETR", do = "reply -ERR [SYS/TEMP] try later", first = 1 },
]
""")
            world.send(SENDER, ["usr@gmail.com"], MSG, via=GM)
            p = poplib.POP3("127.0.0.1", world.ports[GM][1], timeout=10)
            with self.assertRaisesRegex(poplib.error_proto, "no such luck"):
                p.user("blocked")
            p.user("usr@gmail.com")
            with self.assertRaisesRegex(poplib.error_proto, r"\[AUTH\] not now"):
                p.pass_("pass")
            p.user("usr@gmail.com")
            p.pass_("pass")
            with self.assertRaisesRegex(poplib.error_proto, r"\[SYS/TEMP\] try later"):
                p.retr(1)
            self.assertIn(b"hello", p.retr(1)[1])
            p.quit()
            for name in ("nouser", "nopass", "noretr"):
                self.assertEqual(len(fault_lines(gm, name)), 1, name)
            self.assertIn("user=usr@gmail.com", fault_lines(gm, "noretr")[0])

    def noop_codes(self, port, n):
        c = Smtp(port)
        c.reply()
        codes = [c.cmd("NOOP")[0] for _ in range(n)]
        c.cmd("QUIT")
        c.close()
        return codes

    def test_every_and_probability_with_seed_repeat_across_starts(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            port = world.ports[GM][0]
            gm = start_gm(w, world, 'rule = [ { name = "third", when = "smtp NOOP", do = "reply 450 4.0.0 Busy", every = 3 } ]')
            self.assertEqual(self.noop_codes(port, 7), [250, 250, 450, 250, 250, 450, 250])
            self.assertEqual(len(fault_lines(gm, "third")), 2)
            w.stop(gm)
            runs = []
            for seed in (7, 7, 8):
                gm = start_gm(w, world, f'rule = [ {{ name = "coin", when = "smtp NOOP", do = "reply 451 4.0.0 Heads", '
                                        f'probability = 0.5, seed = {seed} }} ]')
                runs.append(self.noop_codes(port, 24))
                self.assertEqual(len(fault_lines(gm, "coin")), runs[-1].count(451))
                w.stop(gm)
            self.assertEqual(runs[0], runs[1], "the same seed gives the same sequence in a fresh start")
            self.assertTrue(0 < runs[0].count(451) < 24, runs[0])
            self.assertNotEqual(runs[0], runs[2], "another seed, another sequence")

    def test_greylisting_against_our_own_relay_delivers_exactly_once(self):
        with World() as w:
            w.write("faults/gm.toml", """
[[rule]]
name = "greylist"
when = "smtp RCPT"
do = "reply 451 4.7.1 Greylisted, try again later"
first = 1
per = ["client", "sender", "recipient"]
""")
            world = CourseWorld(w, resolver="zone", queue="[queue]\nretry_first = 1\nretry_max = 2\n"
                                                          '[mailsrv."gmail.com"]\nfaults = "faults/gm.toml"\n')
            gm = world.start(GM)
            qq = world.start(QQ)
            self.assertIn("event=faults_loaded file=faults/gm.toml rules=1", gm.log())
            world.send(SENDER, ["usr@gmail.com"], MSG, via=QQ)
            wait_for(lambda: len(maildir_files(w.path(f"var/{GM}"), "usr@gmail.com")) == 1, 15, "delivery after the retry")
            time.sleep(2.5)  # another retry would come within this
            self.assertEqual(len(maildir_files(w.path(f"var/{GM}"), "usr@gmail.com")), 1, "delivered exactly once")
            self.assertEqual(len(world.messages("usr@gmail.com", "pass", GM)), 1)
            self.assertEqual(len(fault_lines(gm, "greylist")), 1)
            self.assertIn("sender=usr1@mail.sustech.edu.cn", fault_lines(gm, "greylist")[0])
            self.assertRegex(qq.log(), r"451 4\.7\.1 Greylisted")
            wait_for(lambda: world.queue_files(QQ) == [], 5, "the relay's queue to empty")

    def test_drop_after_rcpt_twice_then_accept(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            gm = start_gm(w, world, 'rule = [ { name = "cut", when = "smtp RCPT", do = "drop", first = 2 } ]')
            attempts = 0
            for _ in range(5):
                attempts += 1
                try:
                    world.send(SENDER, ["usr@gmail.com"], MSG, via=GM)
                    break
                except smtplib.SMTPServerDisconnected:
                    continue
            self.assertEqual(attempts, 3)
            self.assertEqual(len(maildir_files(w.path(f"var/{GM}"), "usr@gmail.com")), 1)
            self.assertEqual(len(fault_lines(gm, "cut")), 2)

    def test_sighup_reload_bad_file_keeps_old_rules_good_file_changes_behaviour(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            port = world.ports[GM][0]
            gm = start_gm(w, world, 'rule = [ { name = "old", when = "smtp NOOP", do = "reply 450 4.0.0 Old" } ]')
            gm.wait_for("event=faults_loaded file=faults/gm.toml rules=1")
            self.assertEqual(self.noop_codes(port, 1), [450])
            w.write("faults/gm.toml", 'rule = [ { when = "smtp NOOP", do = "explode" } ]\n')
            gm.popen.send_signal(signal.SIGHUP)
            gm.wait_for("event=faults_rejected")
            rejected = [l for l in gm.log().splitlines() if "faults_" in l and "faults_loaded" not in l]
            self.assertEqual(len(rejected), 1, rejected)
            self.assertIn("file=faults/gm.toml", rejected[0])
            self.assertIn('error="faults/gm.toml:1: rule[0].do:', rejected[0])
            self.assertEqual(self.noop_codes(port, 1), [450], "the old rules stay")
            w.write("faults/gm.toml", 'rule = [ { name = "new", when = "smtp NOOP", do = "reply 451 4.0.0 New", first = 1 },'
                                      ' { name = "two", when = "smtp RSET", do = "drop" } ]\n')
            gm.popen.send_signal(signal.SIGHUP)
            gm.wait_for("event=faults_loaded file=faults/gm.toml rules=2")
            self.assertEqual(self.noop_codes(port, 2), [451, 250])
            self.assertEqual(len(fault_lines(gm, "new")), 1)
            self.assertTrue(gm.alive())
            self.assertEqual(w.stop(gm), 0)

    def test_a_bad_file_at_start_is_one_line_and_exit_2(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            w.write("faults/dns.toml", 'rule = [ { when = "dns query", do = "servfail" } ]\n')
            r = w.run("mailsrv", ["-n", GM, "--zone", world.zone, "--faults", "faults/dns.toml"])
            self.assertEqual(r.returncode, 2)
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
            self.assertIn('"dns query" is not for this server', r.stderr)
            w.write("faults/bad.toml", 'rule = [ { when = "smtp RCPT", do = "reply 250 fine" } ]\n')
            r = w.run("mailsrv", ["-n", GM, "--zone", world.zone, "--faults", "faults/bad.toml"])
            self.assertEqual(r.returncode, 2)
            self.assertRegex(r.stderr, r"^mailsrv: faults/bad\.toml:1: rule\[0\]\.do: reply code 400\.\.599 expected")
            r = w.run("mailsrv", ["-n", GM, "--zone", world.zone, "--faults", "faults/missing.toml"])
            self.assertEqual(r.returncode, 2)
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
