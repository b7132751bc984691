"""TLS and authentication end to end: the lab CA, STARTTLS/STLS and implicit TLS with real clients
(swaks, openssl s_client, smtplib, poplib, the agent), AUTH PLAIN/LOGIN, the plaintext-injection
trap, wrong passwords, submission_requires_auth, hashed passwords, verified relaying."""
import base64
import email
import os
import poplib
import smtplib
import socket
import ssl
import subprocess
import unittest

from world import GM, QQ, CourseWorld, World, wait_for

USR1 = ("usr1@mail.sustech.edu.cn", "pass1")


def ca_context(w):
    return ssl.create_default_context(cafile=w.path("var/ca/ca.pem"))


class TlsTest(unittest.TestCase):
    def test_swaks_starttls_with_auth_plain_and_login(self):
        with World() as w:
            world = CourseWorld(w)
            qq = world.start(QQ)
            for mech in ("PLAIN", "LOGIN"):
                with self.subTest(mech):
                    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{world.ports[QQ][0]}", "--from", USR1[0],
                                        "--to", "usr2@mail.sustech.edu.cn", "--tls", "--auth", mech, "--auth-user", USR1[0],
                                        "--auth-password", USR1[1], "--header", f"Subject: {mech}"],
                                       capture_output=True, text=True, timeout=30)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    self.assertIn("235 2.7.0 Authentication successful", r.stdout)
                    self.assertIn("250 2.0.0 Ok: queued as", r.stdout)
            self.assertEqual(sorted(m["Subject"] for m in world.messages("usr2@mail.sustech.edu.cn", "pass2", QQ)),
                             ["LOGIN", "PLAIN"])
            self.assertIn("event=ready ca=", qq.log())
            self.assertIn("ca_sha256=", qq.log())

    def test_openssl_s_client_verifies_the_chain(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ)
            for proto, port, host in (("smtp", world.ports[QQ][0], "smtp.exmail.qq.com"),
                                      ("pop3", world.ports[QQ][1], "pop.exmail.qq.com")):
                with self.subTest(proto):
                    r = subprocess.run(["openssl", "s_client", "-starttls", proto, "-connect", f"127.0.0.1:{port}",
                                        "-CAfile", w.path("var/ca/ca.pem"), "-verify_hostname", host, "-verify_return_error"],
                                       input="", capture_output=True, text=True, timeout=30)
                    self.assertIn("Verify return code: 0 (ok)", r.stdout, r.stderr)
                    self.assertIn("Verification: OK", r.stdout + r.stderr)

    def test_smtplib_starttls_login_and_poplib_stls(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ)
            with smtplib.SMTP("127.0.0.1", world.ports[QQ][0]) as s:
                s.ehlo()
                self.assertTrue(s.has_extn("starttls"))
                self.assertFalse(s.has_extn("auth"))  # not in the clear
                s.starttls(context=ca_context(w))
                s.ehlo()
                self.assertIn("plain", s.esmtp_features["auth"].lower())
                s.sendmail(USR1[0], ["usr2@mail.sustech.edu.cn"], "Subject: tls only\r\n\r\nhi\r\n")
                s.login(*USR1)
                s.sendmail(USR1[0], ["usr2@mail.sustech.edu.cn"], "Subject: over tls\r\n\r\nhi\r\n")
            p = poplib.POP3("127.0.0.1", world.ports[QQ][1])
            self.assertIn("STLS", p.capa())
            p.stls(context=ca_context(w))
            p.user("usr2@mail.sustech.edu.cn")
            p.pass_("pass2")
            got = {}
            for i in (1, 2):
                m = email.message_from_bytes(b"\r\n".join(p.retr(i)[1]))
                got[m["Subject"]] = " ".join(m["Received"].split())
            p.quit()
            # RFC 3848: ESMTPS over TLS, ESMTPSA when also authenticated.
            self.assertIn("(mailworld) with ESMTPS id", got["tls only"])
            self.assertIn("(mailworld) with ESMTPSA id", got["over tls"])

    def test_wrong_password_and_no_credentials_in_the_log(self):
        with World() as w:
            world = CourseWorld(w)
            world.resolver.append("-v")
            qq = world.start(QQ)
            with smtplib.SMTP("127.0.0.1", world.ports[QQ][0]) as s:
                s.starttls(context=ca_context(w))
                with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
                    s.login(USR1[0], "not-the-password")
                self.assertEqual(e.exception.smtp_code, 535)
                s.login(*USR1)
            log = qq.log()
            self.assertIn("event=login user=usr1@mail.sustech.edu.cn result=ok", log)
            self.assertIn("result=bad", log)
            for secret in ("not-the-password", "pass1", base64.b64encode(b"\0usr1@mail.sustech.edu.cn\0pass1").decode(),
                           base64.b64encode(b"pass1").decode()):
                self.assertNotIn(secret, log)
            self.assertIn("line=\"AUTH PLAIN ***\"", log)

    def test_plaintext_sent_with_starttls_is_not_executed(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ)
            for proto in ("smtp", "pop3"):
                with self.subTest(proto):
                    port = world.ports[QQ][0 if proto == "smtp" else 1]
                    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                    f = sock.makefile("rb", buffering=0)

                    def line():
                        b = b""
                        while not b.endswith(b"\r\n"):
                            b += sock.recv(1)
                        return b

                    line()
                    if proto == "smtp":
                        sock.sendall(b"EHLO x\r\n")
                        while not line().startswith(b"250 "):
                            pass
                        sock.sendall(b"STARTTLS\r\nHELP\r\n")  # HELP injected in the clear, same packet
                    else:
                        sock.sendall(b"STLS\r\nCAPA\r\n")
                    self.assertIn(line()[:4], (b"220 ", b"+OK "))
                    tls = ca_context(w).wrap_socket(sock, server_hostname="127.0.0.1")
                    tls.sendall(b"NOOP\r\n")
                    first = tls.recv(4096)
                    if proto == "smtp":
                        self.assertTrue(first.startswith(b"250 2.0.0 Ok"), first)  # not 214 from the injected HELP
                    else:
                        self.assertTrue(first.startswith(b"-ERR command not valid"), first)  # not CAPA's list
                    tls.close()
                    f.close()

    def test_submission_requires_auth_and_the_agent_across_domains(self):
        with World() as w:
            world = CourseWorld(w, queue="[queue]\nretry_first = 1\n[policy]\nsubmission_requires_auth = true\n"
                                         "[tls]\nrelay = \"verify\"\n")
            world.start(QQ), world.start(GM)
            with smtplib.SMTP("127.0.0.1", world.ports[QQ][0]) as s:
                with self.assertRaises(smtplib.SMTPSenderRefused) as e:
                    s.sendmail(USR1[0], ["usr@gmail.com"], "Subject: x\r\n\r\nx\r\n")
                self.assertEqual(e.exception.smtp_code, 530)
            r = w.run("agent", ["-e", USR1[0], "-p", USR1[1], "send", "--to", "usr@gmail.com", "--subject", "x", "--body", "y"])
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("530 5.7.0", r.stderr)
            r = w.run("agent", ["-e", USR1[0], "-p", USR1[1], "--auth", "-v", "send", "--to", "usr@gmail.com", "--subject",
                                "authenticated", "--body", "over STARTTLS"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("SMTP session: TLS", r.stderr)
            self.assertIn(", authenticated", r.stderr)
            got = wait_for(lambda: world.messages("usr@gmail.com", "pass", GM), what="the relayed message")
            self.assertEqual(got[0]["Subject"], "authenticated")
            # The relay used a verified STARTTLS: [tls] relay = verify would have kept it in the queue otherwise.
            self.assertRegex(world.procs[QQ].log(), r"event=connected .*tls=\"TLSv1\.[23] \S+ verified\"")
            # Another server delivering to a local account needs no AUTH.
            with smtplib.SMTP("127.0.0.1", world.ports[GM][0]) as s:
                self.assertEqual(s.sendmail("someone@example.org", ["usr@gmail.com"], "Subject: in\r\n\r\nx\r\n"), {})
            r = w.run("agent", ["-e", USR1[0], "-p", "wrong", "--auth", "send", "--to", "usr@gmail.com", "--subject", "x",
                                "--body", "y"])
            self.assertIn("authentication as usr1@mail.sustech.edu.cn failed: 535 5.7.8", r.stderr)
            pop = w.run("agent", ["-e", "usr@gmail.com", "-p", "pass"], input="pop\nstat\nquit\nexit\n")
            self.assertIn("[connection: TLSv1.", pop.stdout)
            self.assertIn("(certificate verified)", pop.stdout)

    def test_implicit_tls_ports_and_hashed_passwords(self):
        with World() as w:
            hashed = subprocess.run([os.path.join(os.environ.get("MW_BUILD", "../../build"), "apps/mailsrv"),
                                     "--hash-password"], input="s3cret\n", capture_output=True, text=True, timeout=10)
            self.assertEqual(hashed.returncode, 0)
            self.assertTrue(hashed.stdout.startswith("{SHA512-CRYPT}$6$"))
            smtps, pop3s = w.free_port(), w.free_port()
            extra = (f'[queue]\nretry_first = 1\n[mailsrv."{GM}"]\nsmtps = {smtps}\npop3s = {pop3s}\n')
            world = CourseWorld(w, queue=extra)
            cfg = open(world.cfg).read().replace('"usr@gmail.com" = "pass"', f'"usr@gmail.com" = "{hashed.stdout.strip()}"')
            with open(world.cfg, "w") as f:
                f.write(cfg)
            gm = world.start(GM)
            gm.wait_for("proto=smtps")
            gm.wait_for("proto=pop3s")
            with smtplib.SMTP_SSL("127.0.0.1", smtps, context=ca_context(w)) as s:
                s.login("usr@gmail.com", "s3cret")
                s.sendmail("usr@gmail.com", ["usr@gmail.com"], "Subject: implicit\r\n\r\nx\r\n")
            p = poplib.POP3_SSL("127.0.0.1", pop3s, context=ca_context(w))
            p.user("usr@gmail.com")
            with self.assertRaises(poplib.error_proto):
                p.pass_("pass")  # the old plaintext password no longer works
            p = poplib.POP3_SSL("127.0.0.1", pop3s, context=ca_context(w))
            p.user("usr@gmail.com")
            p.pass_("s3cret")
            self.assertEqual(p.stat()[0], 1)
            p.quit()
            r = w.run("agent", ["-e", "usr@gmail.com", "-p", "s3cret", "-P", f"pop.gmail.com:{pop3s}", "--tls", "implicit", "stat"])
            self.assertEqual((r.returncode, r.stdout), (0, "1 messages (" + r.stdout.split("(")[1]), r.stderr)
            r = w.run("agent", ["-e", "usr@gmail.com", "-p", "s3cret", "-P", f"127.0.0.1:{pop3s}", "--tls", "implicit",
                                "--cafile", "/etc/ssl/certs/ca-certificates.crt", "stat"])
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("could not be verified", r.stderr)


if __name__ == "__main__":
    unittest.main()
