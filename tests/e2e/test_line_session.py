"""Issue 11, the verb tables and the one line-session driver, against the real server: HELP lists
STARTTLS and AUTH when offered, [limits] errors closes SMTP and POP3 sessions after that many error
replies (a failed login included: the session really ends), and -v logs each command as the core masks
it and each phase change."""
import base64
import socket
import unittest

from world import Smtp, World, world_config

ACCOUNTS = {"gmail.com": {"usr@gmail.com": "pass"}}


def start(w, extra="", verbose=False):
    """A gmail.com server with `extra` config; returns (proc, smtp port, pop port)."""
    smtp, pop = w.free_port(), w.free_port()
    cfg = w.write("config.toml", world_config({"gmail.com": (smtp, pop)}, ACCOUNTS, extra=extra))
    args = ["-n", "gmail.com", "-c", cfg, "--data", w.path("data")] + (["-v"] if verbose else [])
    return w.start("mailsrv", args, listening=2), smtp, pop


def closed_within(c, seconds=3.0):
    """True when the server closes the connection within `seconds` (and sends nothing more)."""
    c.sock.settimeout(seconds)
    try:
        return c.sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True
    finally:
        c.close()


def bad_plain():
    return base64.b64encode(b"\0usr@gmail.com\0wrong").decode()


class HelpTest(unittest.TestCase):
    def test_help_lists_starttls_and_auth_when_offered(self):
        with World() as w:
            _, smtp, _ = start(w, "[tls]\nallow_plaintext_auth = true\n")
            c = Smtp(smtp)
            c.reply()
            code, lines = c.cmd("HELP")
            self.assertEqual(code, 214)
            self.assertEqual(lines, ["2.0.0 Commands: HELO EHLO MAIL RCPT DATA", "2.0.0 RSET NOOP QUIT VRFY HELP",
                                     "2.0.0 STARTTLS AUTH"])
            c.close()


class ErrorLimitTest(unittest.TestCase):
    def test_smtp_closes_after_limits_errors(self):
        with World() as w:
            _, smtp, _ = start(w, "[limits]\nerrors = 3\n")
            c = Smtp(smtp)
            c.reply()
            self.assertEqual(c.cmd("BOGUS")[0], 500)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 503)
            c.send("BOGUS\r\n")
            self.assertEqual(c.reply(), (500, ["5.5.2 Error: command not recognized"]))
            self.assertEqual(c.reply(), (421, ["4.7.0 gmail.com Error: too many errors"]))
            self.assertTrue(closed_within(c))

    def test_pop3_closes_after_limits_errors(self):
        with World() as w:
            _, _, pop = start(w, "[limits]\nerrors = 2\n")
            c = Smtp(pop)  # line-level client: POP3 lines end in CRLF too
            self.assertTrue(c.line().startswith("+OK"))
            c.send("STAT\r\n")
            self.assertEqual(c.line(), "-ERR command not valid in this state")
            c.send("BOGUS\r\n")
            self.assertEqual(c.line(), "-ERR unknown command")
            self.assertEqual(c.line(), "-ERR too many errors, closing")
            self.assertTrue(closed_within(c))

    def test_smtp_failed_auth_as_the_last_error_ends_the_session(self):
        # Before issue 11 the driver wrote the 421 and then kept reading from a closed core.
        with World() as w:
            _, smtp, _ = start(w, "[limits]\nerrors = 2\n[tls]\nallow_plaintext_auth = true\n")
            c = Smtp(smtp)
            c.reply()
            self.assertEqual(c.cmd("EHLO c")[0], 250)
            self.assertEqual(c.cmd("BOGUS")[0], 500)
            c.send("AUTH PLAIN " + bad_plain() + "\r\n")
            self.assertEqual(c.reply()[0], 535)
            self.assertEqual(c.reply(), (421, ["4.7.0 gmail.com Error: too many errors"]))
            self.assertTrue(closed_within(c))

    def test_pop3_failed_login_as_the_last_error_ends_the_session(self):
        with World() as w:
            _, _, pop = start(w, "[limits]\nerrors = 2\n")
            c = Smtp(pop)
            self.assertTrue(c.line().startswith("+OK"))
            c.send("BOGUS\r\n")
            self.assertEqual(c.line(), "-ERR unknown command")
            c.send("USER usr@gmail.com\r\nPASS wrong\r\n")
            self.assertEqual(c.line(), "+OK send PASS")
            self.assertEqual(c.line(), "-ERR [AUTH] invalid user name or password")
            self.assertEqual(c.line(), "-ERR too many errors, closing")
            self.assertTrue(closed_within(c))


class VerboseLogTest(unittest.TestCase):
    def test_commands_masked_and_phase_changes_logged(self):
        with World() as w:
            proc, smtp, pop = start(w, "[tls]\nallow_plaintext_auth = true\n", verbose=True)
            c = Smtp(smtp)
            c.reply()
            self.assertEqual(c.cmd("EHLO c")[0], 250)
            self.assertEqual(c.cmd("AUTH PLAIN " + bad_plain())[0], 535)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.org>")[0], 250)
            self.assertEqual(c.cmd("QUIT")[0], 221)
            p = Smtp(pop)
            p.line()
            p.send("USER usr@gmail.com\r\nPASS pass\r\nQUIT\r\n")
            self.assertEqual(p.line(), "+OK send PASS")
            self.assertTrue(p.line().startswith("+OK maildrop has"))
            self.assertTrue(p.line().startswith("+OK gmail.com POP3 server signing off"))
            c.close()
            p.close()
            proc.wait_for("from=update to=closed")
            log = proc.log()
            self.assertNotIn(bad_plain(), log)
            self.assertRegex(log, r"svc=smtp .*event=command line=\"AUTH PLAIN \*\*\*\"")
            for a, b in (("greeted", "ready"), ("ready", "mail"), ("mail", "closed")):
                self.assertRegex(log, rf"svc=smtp .*event=phase from={a} to={b}")
            self.assertRegex(log, r"svc=pop3 .*event=command line=\"PASS \*\*\*\"")
            for a, b in (("authorization", "transaction"), ("transaction", "update"), ("update", "closed")):
                self.assertRegex(log, rf"svc=pop3 .*event=phase from={a} to={b}")


if __name__ == "__main__":
    unittest.main()
