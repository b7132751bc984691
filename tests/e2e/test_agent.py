"""The agent end to end against the course's world (fdns + two mailsrv): scripted commands, the
interactive loop piped and through a pseudo-terminal, attachments byte for byte, messages written by
other mailers, failures as one line."""
import email.message
import json
import os
import poplib
import pty
import select
import socket
import subprocess
import time
import unittest

from world import GM, QQ, CourseWorld, World, binary, wait_for


class AgentTest(unittest.TestCase):
    def agent(self, w, email, password, *args, input=None, check=True):
        r = w.run("agent", ["-e", email, "-p", password, *args], input=input, timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def test_send_with_cc_bcc_and_two_attachments_across_domains(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ), world.start(GM)
            photo, report = os.urandom(200_000), os.urandom(1)
            with open(w.path("photo.jpg"), "wb") as f:
                f.write(photo)
            with open(w.path("报告.pdf"), "wb") as f:
                f.write(report)
            r = self.agent(w, "usr1@mail.sustech.edu.cn", "pass1", "send", "--to", "usr@gmail.com", "--cc",
                           "usr2@mail.sustech.edu.cn", "--bcc", "usr1@mail.sustech.edu.cn", "--subject", "Grüße 你好",
                           "--body", "see attached\n.dot line", "--attach", "photo.jpg", "--attach", "报告.pdf")
            self.assertEqual(r.stdout, "Mail sent successfully\n")
            wait_for(lambda: "1 " in self.agent(w, "usr@gmail.com", "pass", "list").stdout, what="the relayed mail")
            for user, pw in (("usr@gmail.com", "pass"), ("usr2@mail.sustech.edu.cn", "pass2"), ("usr1@mail.sustech.edu.cn", "pass1")):
                out = w.path(f"saved-{user}")
                r = self.agent(w, user, pw, "retr", "1", "--save-attachments", out)
                self.assertIn("Subject: Grüße 你好", r.stdout)
                self.assertIn("Cc: usr2@mail.sustech.edu.cn", r.stdout)
                self.assertIn("see attached\n.dot line\n", r.stdout)
                self.assertIn("photo.jpg (image/jpeg, 200000 bytes)", r.stdout)
                self.assertIn("报告.pdf (application/pdf, 1 bytes)", r.stdout)
                self.assertEqual(open(os.path.join(out, "photo.jpg"), "rb").read(), photo)
                self.assertEqual(open(os.path.join(out, "报告.pdf"), "rb").read(), report)
                raw = self.agent(w, user, pw, "retr", "1", "--raw").stdout
                header = raw.split("\n\n", 1)[0]
                self.assertFalse(any(l.lower().startswith("bcc") for l in header.splitlines()), "Bcc must not be in a header")
            # Saving again: a collision gets -1.
            again = self.agent(w, "usr@gmail.com", "pass", "retr", "1", "--save-attachments", w.path("saved-usr@gmail.com"))
            self.assertIn("photo-1.jpg", again.stdout)

    def test_pop_commands_text_and_json(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ)
            for i in range(2):
                self.agent(w, "usr1@mail.sustech.edu.cn", "pass1", "send", "--to", "usr2@mail.sustech.edu.cn",
                           "--subject", f"n{i}", "--body", "x")
            u = ("usr2@mail.sustech.edu.cn", "pass2")
            stat = self.agent(w, *u, "stat").stdout
            self.assertRegex(stat, r"^2 messages \(\d+ bytes\)\n$")
            self.assertEqual(len(self.agent(w, *u, "list").stdout.splitlines()), 2)
            self.assertRegex(self.agent(w, *u, "uidl").stdout.splitlines()[0], r"^1 \S+$")
            top = self.agent(w, *u, "top", "1", "0").stdout
            self.assertIn("Subject: n0", top)
            self.assertEqual(json.loads(self.agent(w, *u, "--json", "stat").stdout)["messages"], 2)
            self.assertEqual([m["message"] for m in json.loads(self.agent(w, *u, "--json", "list").stdout)], [1, 2])
            msg = json.loads(self.agent(w, *u, "--json", "retr", "2").stdout)
            self.assertEqual(msg["subject"], "n1")
            self.assertEqual(msg["text"], "x\n")
            self.agent(w, *u, "dele", "1")
            self.assertTrue(self.agent(w, *u, "stat").stdout.startswith("1 messages"))
            bad = self.agent(w, *u, "retr", "9", check=False)
            self.assertNotEqual(bad.returncode, 0)
            self.assertEqual(bad.stderr, "-ERR no such message\n")

    def test_retr_of_a_bounce_lists_the_delivery_status_and_the_returned_headers(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ), world.start(GM)
            u = ("usr1@mail.sustech.edu.cn", "pass1")
            self.agent(w, *u, "send", "--to", "error@gmail.com", "--subject", "to nobody", "--body", "hello")
            wait_for(lambda: "1 " in self.agent(w, *u, "list").stdout, what="the bounce")
            text = self.agent(w, *u, "retr", "1").stdout
            self.assertIn("It's attached below.\n\n<error@gmail.com>: host gmail-smtp-in.l.google.com", text)
            status = text[text.index("\nDelivery status:\n"):]
            self.assertRegex(status, r"^\nDelivery status:\n"
                                     r"  Reporting MTA: \S+\n"
                                     r"  Arrival date: \w{3}, \d+ \w{3} \d{4} [\d:]{8} [+-]\d{4}\n"
                                     r"  Recipient: error@gmail\.com\n"
                                     r"    Action: failed\n"
                                     r"    Status: 5\.1\.1\n"
                                     r"    Remote MTA: gmail-smtp-in\.l\.google\.com\n"
                                     r"    Diagnostic: smtp; 550 5\.1\.1 .+\n"
                                     r"\nReturned headers:\n")
            returned = status[status.index("Returned headers:\n"):].splitlines()[1:]
            self.assertIn("  Subject: to nobody", returned)
            self.assertIn("  From: usr1@mail.sustech.edu.cn", returned)
            self.assertIn("  To: error@gmail.com", returned)
            j = json.loads(self.agent(w, *u, "--json", "retr", "1").stdout)
            self.assertIn("It's attached below.", j["text"])
            [r] = j["delivery_status"]["recipients"]
            self.assertEqual((r["recipient"], r["action"], r["status"], r["remote_mta"]),
                             ("error@gmail.com", "failed", "5.1.1", "gmail-smtp-in.l.google.com"))
            self.assertTrue(r["diagnostic"].startswith("smtp; 550 5.1.1 "), r["diagnostic"])
            self.assertIn({"name": "Subject", "value": "to nobody"}, j["returned_headers"])
            self.assertEqual(j["problems"], [])

    def test_failures_are_one_clear_line(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ)  # gmail.com's servers are down
            cases = [
                (("usr@yahoo.com", "x", "stat"), "no [agent] entry for yahoo.com"),
                (("usr@gmail.com", "pass", "stat"), "POP3 server pop.gmail.com: connect to 127.0.0.1:"),
                (("usr1@mail.sustech.edu.cn", "wrong", "stat"), "login as usr1@mail.sustech.edu.cn failed: -ERR [AUTH]"),
                (("usr1@mail.sustech.edu.cn", "pass1", "-P", "nowhere.example", "stat"), "cannot find host nowhere.example"),
                (("usr1@mail.sustech.edu.cn", "pass1", "send", "--to", "ghost@mail.sustech.edu.cn", "--subject", "s", "--body", "b"),
                 "ghost@mail.sustech.edu.cn: 550 5.1.1"),
                (("usr1@mail.sustech.edu.cn", "pass1", "send", "--to", "a@b.c", "--subject", "s", "--body", "b",
                  "--attach", "/nonexistent"), "cannot read /nonexistent"),
                (("usr1@mail.sustech.edu.cn", "pass1", "bogus"), "unknown command 'bogus'"),
            ]
            for args, text in cases:
                with self.subTest(args=args):
                    r = w.run("agent", ["-e", args[0], "-p", args[1], *args[2:]], timeout=30)
                    self.assertNotEqual(r.returncode, 0)
                    self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                    self.assertIn(text, r.stderr)
                    self.assertNotIn("Traceback", r.stderr)

    def test_the_course_session_piped(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ), world.start(GM)
            script = ("smtp\nusr1@mail.sustech.edu.cn\n\nTest\nThis is a test emailing myself.\n"
                      "smtp\nusr2@mail.sustech.edu.cn\n\nTest\nThis is a test emailing other user in the same domain.\n"
                      "smtp\nusr@gmail.com\n\nTest\nThis is a test emailing other user in the different domain.\n"
                      "bogus\nexit\n")
            r = self.agent(w, "usr1@mail.sustech.edu.cn", "pass1", input=script)
            self.assertEqual(r.stdout.count("[smtp|pop|exit]>>> To: To: Subject: Content: Mail sent successfully\n"), 3)
            self.assertIn("unknown command 'bogus'", r.stderr)
            wait_for(lambda: "1 messages" in self.agent(w, "usr@gmail.com", "pass", "stat").stdout, what="the relay")
            r = self.agent(w, "usr@gmail.com", "pass", input="pop\nstat\nlist\nretr 1\nnoop\nquit\nexit\n")
            out = r.stdout
            self.assertIn("[smtp|pop|exit]>>> +OK gmail.com POP3 server ready\n+OK send PASS\n+OK maildrop has 1 messages", out)
            self.assertRegex(out, r"\[pop\]>>> \+OK 1 \d+\n1 messages \(\d+ bytes\)\n")
            self.assertIn("Subject: Test\n\nThis is a test emailing other user in the different domain.\n", out)
            self.assertIn("[pop]>>> +OK\n[pop]>>> +OK gmail.com POP3 server signing off", out)
            # End of input leaves with status 0, also after failed commands.
            r = self.agent(w, "usr@gmail.com", "pass", input="pop\nretr 99\n")
            self.assertIn("-ERR no such message", r.stdout)

    def test_interactive_through_a_pseudo_terminal(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ)
            pid, fd = pty.fork()
            if pid == 0:
                os.chdir(w.dir)
                os.execv(os.path.join(os.environ.get("MW_BUILD", "../../build"), "apps/agent"),
                         ["agent", "-e", "usr1@mail.sustech.edu.cn", "-p", "pass1"])
            seen = b""

            def expect(text, timeout=10):
                nonlocal seen
                deadline = time.monotonic() + timeout
                while text.encode() not in seen:
                    left = deadline - time.monotonic()
                    self.assertGreater(left, 0, f"no {text!r} in {seen!r}")
                    if select.select([fd], [], [], left)[0]:
                        try:
                            seen += os.read(fd, 4096)
                        except OSError:
                            break
                found = seen.index(text.encode()) + len(text)
                seen = seen[found:]

            try:
                expect("[smtp|pop|exit]>>> ")
                for line, prompt in (("mail", "To: "), ("usr2@mail.sustech.edu.cn", "To: "), ("", "Cc: "), ("", "Bcc: "),
                                     ("", "Subject: "), ("typed in a terminal", "Attach: "), ("", "Body"),
                                     ("line one", ""), (".", "Mail sent successfully")):
                    os.write(fd, line.encode() + b"\r")
                    if prompt:
                        expect(prompt)
                expect("[smtp|pop|exit]>>> ")
                os.write(fd, b"exit\r")
                _, status = os.waitpid(pid, 0)
                self.assertEqual(os.waitstatus_to_exitcode(status), 0)
            finally:
                try:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
                os.close(fd)
            got = world.messages("usr2@mail.sustech.edu.cn", "pass2", QQ)
            self.assertEqual(got[0]["Subject"], "typed in a terminal")

    def test_messages_from_other_mailers_parse(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ)
            # Python's email package: nested multipart/alternative inside mixed, a non-ASCII file name.
            m = email.message.EmailMessage()
            m["From"], m["To"], m["Subject"] = "py@example.org", "usr1@mail.sustech.edu.cn", "Python mail — ünï"
            m.set_content("plain part\n")
            m.add_alternative("<p>html part</p>", subtype="html")
            m.add_attachment(b"\x00\x01binary", maintype="application", subtype="octet-stream", filename="数据.bin")
            world.send("py@example.org", ["usr1@mail.sustech.edu.cn"], m.as_bytes())
            # swaks --attach; and a broken message (no boundary, bad base64).
            att = w.write("note.txt", "swaks attachment\n")
            subprocess.run(["swaks", "--server", f"127.0.0.1:{world.ports[QQ][0]}", "--from", "s@example.org", "--to",
                            "usr1@mail.sustech.edu.cn", "--header", "Subject: from swaks", "--attach", f"@{att}"],
                           capture_output=True, check=True, timeout=30)
            broken = ("Subject: broken\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                      "--b\r\nContent-Type: text/plain\r\n\r\nreadable\r\n--b\r\nContent-Type: image/png; name=x.png\r\n"
                      "Content-Transfer-Encoding: base64\r\n\r\n!!!notbase64***\r\n--b--\r\n")
            world.send("b@example.org", ["usr1@mail.sustech.edu.cn"], broken)
            u = ("usr1@mail.sustech.edu.cn", "pass1")
            one = self.agent(w, *u, "retr", "1", "--save-attachments", w.path("py")).stdout
            self.assertIn("Subject: Python mail — ünï", one)
            self.assertIn("plain part", one)
            self.assertIn("数据.bin (application/octet-stream, 8 bytes)", one)
            self.assertEqual(open(w.path("py/数据.bin"), "rb").read(), b"\x00\x01binary")
            two = self.agent(w, *u, "retr", "2").stdout
            self.assertIn("Subject: from swaks", two)
            self.assertIn("note.txt", two)
            three = self.agent(w, *u, "retr", "3").stdout
            self.assertIn("readable", three)
            self.assertIn("Problem: ", three)
            self.assertIn("bad base64", three)

    # --- the agent as a test driver: wait and expect-bounce (they only read: nothing is deleted)

    def start_agent(self, w, email, password, *args):
        return subprocess.Popen([binary("agent"), "-e", email, "-p", password, *args], cwd=w.dir,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self, proc, timeout=20):
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err

    def test_wait_returns_as_soon_as_the_mail_arrives_and_times_out_with_one_line(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ)
            u = ("usr2@mail.sustech.edu.cn", "pass2")
            waiting = self.start_agent(w, *u, "wait", "--count", "2", "--timeout", "20")
            time.sleep(0.5)
            self.assertIsNone(waiting.poll(), "wait returned before any mail came")
            self.agent(w, "usr1@mail.sustech.edu.cn", "pass1", "send", "--to", u[0], "--subject", "one", "--body", "x")
            time.sleep(0.5)
            self.assertIsNone(waiting.poll(), "wait returned after 1 of 2 messages")
            self.agent(w, "usr1@mail.sustech.edu.cn", "pass1", "send", "--to", u[0], "--subject", "two", "--body", "x")
            sent = time.monotonic()
            rc, out, err = self.finish(waiting)
            self.assertLess(time.monotonic() - sent, 3, "wait must notice the mail within its poll interval")
            self.assertEqual(rc, 0, err)
            self.assertRegex(out, r"^2 messages \(\d+ bytes\)\n$")
            self.assertEqual(err, "")
            # More than are there: exit 1 after the timeout, one line saying so; nothing was deleted.
            start = time.monotonic()
            r = self.agent(w, *u, "wait", "--count", "3", "--timeout", "1", check=False)
            self.assertEqual(r.returncode, 1)
            self.assertGreaterEqual(time.monotonic() - start, 1)
            self.assertEqual(r.stderr, "agent: wait: timed out after 1 s: the mailbox holds 2 messages, not 3\n")
            self.assertEqual(r.stdout, "")
            self.assertTrue(self.agent(w, *u, "stat").stdout.startswith("2 messages"))
            self.assertEqual(json.loads(self.agent(w, *u, "--json", "wait", "--count", "1", "--timeout", "5").stdout)["messages"], 2)
            # A refused login is not worth waiting for: exit 1 at once (well before the 20 s).
            start = time.monotonic()
            r = self.agent(w, u[0], "wrong", "wait", "--count", "9", "--timeout", "20", check=False)
            self.assertEqual(r.returncode, 1)
            self.assertLess(time.monotonic() - start, 10)
            self.assertIn("agent: login as usr2@mail.sustech.edu.cn failed: -ERR", r.stderr)
            for bad in (["wait"], ["wait", "--count", "x", "--timeout", "1"], ["wait", "--count", "1", "--timeout", "0"]):
                r = self.agent(w, *u, *bad, check=False)
                self.assertEqual(r.returncode, 2, bad)
                self.assertTrue(r.stderr.startswith("agent: usage: wait --count N [--timeout S]"), r.stderr)

    def test_wait_looks_again_while_another_client_holds_the_maildrop(self):
        # -ERR [IN-USE] (RFC 2449) is temporary: a grader's own POP3 check holding the mailbox for a
        # moment must not end the wait (only a wrong name or password does).
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ)
            u = ("usr2@mail.sustech.edu.cn", "pass2")
            holder = poplib.POP3("127.0.0.1", world.ports[QQ][1], timeout=10)
            holder.user(u[0])
            holder.pass_(u[1])
            waiting = self.start_agent(w, *u, "wait", "--count", "1", "--timeout", "20")
            time.sleep(1)
            self.agent(w, "usr1@mail.sustech.edu.cn", "pass1", "send", "--to", u[0], "--subject", "one", "--body", "x")
            holder.quit()
            rc, out, err = self.finish(waiting)
            self.assertEqual((rc, err), (0, ""))
            self.assertRegex(out, r"^1 messages \(\d+ bytes\)\n$")

    def test_wait_keeps_its_timeout_against_a_server_that_never_answers(self):
        with World() as w:
            silent = socket.socket()
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)  # accepts (the kernel does), never says a word
            port = silent.getsockname()[1]
            try:
                for cmd in (["wait", "--count", "1"], ["expect-bounce", "--for", "a@b.org"]):
                    start = time.monotonic()
                    r = w.run("agent", ["-e", "u@example.org", "-p", "pw", "-s", f"127.0.0.1:{port}",
                                        "-P", f"127.0.0.1:{port}", "--tls", "off", *cmd, "--timeout", "1"], timeout=30)
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertLess(time.monotonic() - start, 4, "one look must not outlast the timeout")
                    self.assertRegex(r.stderr, r"^agent: (wait|expect-bounce): timed out after 1 s: .*\n$")
            finally:
                silent.close()

    def test_expect_bounce_finds_the_failed_recipient_and_times_out_for_one_that_did_not_bounce(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ), world.start(GM)
            u = ("usr1@mail.sustech.edu.cn", "pass1")
            # An ordinary message first: expect-bounce must look past it.
            self.agent(w, "usr2@mail.sustech.edu.cn", "pass2", "send", "--to", u[0], "--subject", "hi", "--body", "x")
            expecting = self.start_agent(w, *u, "expect-bounce", "--for", "error@GMAIL.com", "--timeout", "20")
            time.sleep(0.5)
            self.assertIsNone(expecting.poll(), "expect-bounce returned before the bounce came")
            # One message to a nonexistent remote recipient and to one that exists: one bounce, for the first.
            self.agent(w, *u, "send", "--to", "error@gmail.com", "--to", "usr@gmail.com", "--subject", "s", "--body", "b")
            rc, out, err = self.finish(expecting)
            self.assertEqual(rc, 0, err)
            self.assertRegex(out, r"^Recipient: error@gmail\.com\nAction: failed\nStatus: 5\.1\.1\n"
                                  r"Remote MTA: gmail-smtp-in\.l\.google\.com\n"
                                  r"Diagnostic: smtp; 550 5\.1\.1 .+\n$")
            start = time.monotonic()
            r = self.agent(w, *u, "expect-bounce", "--for", "usr@gmail.com", "--timeout", "1", check=False)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertGreaterEqual(time.monotonic() - start, 1)
            self.assertEqual(r.stderr, "agent: expect-bounce: timed out after 1 s: no bounce for usr@gmail.com "
                                       "among 2 messages\n")
            j = json.loads(self.agent(w, *u, "--json", "expect-bounce", "--for", "error@gmail.com").stdout)
            self.assertEqual((j["recipient"], j["action"], j["status"]), ("error@gmail.com", "failed", "5.1.1"))
            # A recipient of this world's own domain that does not exist, bounced by gmail.com's relay.
            g = ("usr@gmail.com", "pass")
            self.agent(w, *g, "send", "--to", "ghost@mail.sustech.edu.cn", "--subject", "s", "--body", "b")
            r = self.agent(w, *g, "expect-bounce", "--for", "ghost@mail.sustech.edu.cn", "--timeout", "20")
            self.assertIn("Status: 5.1.1\n", r.stdout)
            # Nothing was deleted: the ordinary message and the bounce are still there.
            self.assertTrue(self.agent(w, *u, "stat").stdout.startswith("2 messages"))
            r = self.agent(w, *u, "expect-bounce", check=False)
            self.assertEqual(r.returncode, 2)
            self.assertTrue(r.stderr.startswith("agent: usage: expect-bounce --for ADDRESS [--timeout S]"), r.stderr)


if __name__ == "__main__":
    unittest.main()
