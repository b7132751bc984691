"""Issue 10: what an adversary found in one afternoon, each reproduction run against the real server
(long lines in DATA, spoofed sender case, secrets in -v logs, fdns trailing garbage, two servers on one
data folder...). Each test failed before its fix."""
import os
import smtplib
import socket
import time
import unittest

from world import QQ, CourseWorld, Smtp, World, maildir_files, world_config

ACCOUNTS = {"exmail.qq.com": {"usr1@mail.sustech.edu.cn": "pass1", "usr2@mail.sustech.edu.cn": "pass2"}}


def read(path):
    with open(path, "rb") as f:
        return f.read()


class LongLines(unittest.TestCase):
    """Defect 1: a line over the old 1000-octet limit right before CRLF.CRLF hung the session."""

    def start(self, w, extra=""):
        self.port = w.free_port()
        cfg = w.write("config.toml", world_config({"exmail.qq.com": (self.port, w.free_port())}, ACCOUNTS, extra=extra))
        self.data = w.path("data")
        return w.start("mailsrv", ["-n", "exmail.qq.com", "-c", cfg, "--data", self.data])

    def reproduction(self, c):
        c.reply()
        self.assertEqual(c.cmd("EHLO x")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<usr1@mail.sustech.edu.cn>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<usr2@mail.sustech.edu.cn>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send("Subject: long\r\n\r\n" + "B" * 1001 + "\r\n.\r\n")
        return c.reply()  # a hang here is a socket timeout: the test fails in 5 s, not at the idle limit

    def test_default_stores_long_lines_intact(self):
        with World() as w:
            srv = self.start(w)
            c = Smtp(self.port, timeout=5)
            code, text = self.reproduction(c)
            self.assertEqual(code, 250, text)
            self.assertEqual(c.cmd("NOOP")[0], 250)
            c.close()
            # smtplib with a 1,500-octet last line and a 300 KB line in the middle, cut across many reads.
            long_last = "x" * 1500
            huge = "." + "y" * 300000  # a leading dot: dot-stuffed by smtplib, unstuffed by us
            msg = f"Subject: big lines\r\n\r\nfirst\r\n{huge}\r\n.\r\n{long_last}"
            with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as s:
                self.assertEqual(s.sendmail("usr1@mail.sustech.edu.cn", ["usr2@mail.sustech.edu.cn"], msg), {})
            files = maildir_files(self.data, "usr2@mail.sustech.edu.cn")
            self.assertEqual(len(files), 2)
            first = read(files[0]) if b"Subject: long" in read(files[0]) else read(files[1])
            second = read(files[1]) if first == read(files[0]) else read(files[0])
            self.assertTrue(first.endswith(b"\n\n" + b"B" * 1001 + b"\n"), first[-40:])
            body = second.split(b"\n\n", 1)[1]
            self.assertEqual(body, f"first\n{huge}\n.\n{long_last}\n".encode())
            self.assertEqual(w.stop(srv), 0)

    def test_a_text_line_limit_answers_552_right_after_the_end(self):
        with World() as w:
            srv = self.start(w, "[limits]\ntext_line = 1000\n")
            c = Smtp(self.port, timeout=5)
            t0 = time.monotonic()
            self.assertEqual(self.reproduction(c), (552, ["5.3.4 Error: message has a line longer than allowed"]))
            self.assertLess(time.monotonic() - t0, 3)
            self.assertEqual(c.cmd("NOOP")[0], 250)  # the session goes on
            c.close()
            with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as s:
                with self.assertRaises(smtplib.SMTPDataError) as e:
                    s.sendmail("usr1@mail.sustech.edu.cn", ["usr2@mail.sustech.edu.cn"], "Subject: s\r\n\r\n" + "x" * 1500)
                self.assertEqual(e.exception.smtp_code, 552)
            self.assertEqual(maildir_files(self.data, "usr2@mail.sustech.edu.cn"), [])
            self.assertEqual(w.stop(srv), 0)


class ManyAttachments(unittest.TestCase):
    """Defect 7: the agent saved 30 of 40 attachments and said "nested too deeply" for the rest."""

    def test_forty_attachments_are_all_saved(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            world.start(QQ)
            names = [f"file{i:02d}.bin" for i in range(40)]
            for i, n in enumerate(names):
                with open(w.path(n), "wb") as f:
                    f.write(bytes([i]) * (i + 1))
            attach = [a for n in names for a in ("--attach", n)]
            r = w.run("agent", ["-e", "usr1@mail.sustech.edu.cn", "-p", "pass1", "--zone", world.zone, "send", "--to",
                                "usr2@mail.sustech.edu.cn", "--subject", "forty", "--body", "x", *attach])
            self.assertEqual(r.returncode, 0, r.stderr)
            out = w.path("saved")
            r = w.run("agent", ["-e", "usr2@mail.sustech.edu.cn", "-p", "pass2", "--zone", world.zone, "retr", "1",
                                "--save-attachments", out])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("nested", r.stdout + r.stderr)
            self.assertEqual(sorted(os.listdir(out)), names)
            for i, n in enumerate(names):
                self.assertEqual(read(os.path.join(out, n)), bytes([i]) * (i + 1))


class FdnsTrailingGarbage(unittest.TestCase):
    """Defect 11: a valid query followed by garbage was answered as if the garbage were not there."""

    def test_formerr_over_udp_and_tcp(self):
        with World() as w:
            port = w.free_port(udp=True)
            zone = w.write("fdns.toml", '[MX]\n"gmail.com." = "mx.gmail.com."\n')
            fdns = w.start("fdns", ["-z", zone, "-l", f"127.0.0.1:{port}"], listening=2)
            query = bytes.fromhex("abcd01000001000000000000") + b"\x05gmail\x03com\x00\x00\x0f\x00\x01"
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                for pkt, rcode in ((query, 0), (query + b"\xde\xad\xbe\xef", 1), (query + b"\x00", 1)):
                    s.sendto(pkt, ("127.0.0.1", port))
                    reply = s.recv(4096)
                    self.assertEqual(reply[:2], b"\xab\xcd")
                    self.assertEqual(reply[3] & 0x0F, rcode, reply.hex())
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                pkt = query + b"junk"
                c.sendall(len(pkt).to_bytes(2, "big") + pkt)
                reply = c.recv(4096)
                self.assertEqual(reply[2 + 3] & 0x0F, 1, reply.hex())
            self.assertEqual(w.stop(fdns), 0)


if __name__ == "__main__":
    unittest.main()
