"""Accounts from a users file (`[accounts."NAME"] file = "userinfo.txt"`, the KU Leuven assignment's
format): mailsrv takes mail for them and lets them log in, the agent logs in as one, and a bad line
stops both programs with one line naming the file and the line."""
import email
import poplib
import smtplib
import unittest

from world import World, world_config

USERS = ("# login password, one per line\r\n"
         "alice   pw1\r\n"
         "\r\n"
         "bob@other.org\tpw2\n"
         "  carol pw3  \n")


class UserinfoTest(unittest.TestCase):
    def config(self, w, users, accounts_extra='file = "userinfo.txt"\ndomain = "example.com"\n'):
        self.smtp, self.pop = w.free_port(), w.free_port()
        w.write("userinfo.txt", users)
        text = world_config({"srv": (self.smtp, self.pop)}, {"srv": {"admin@example.com": "adm"}}) + accounts_extra
        return w.write("config/config.toml", text)  # relative paths in it are relative to the current directory

    def test_a_world_whose_accounts_come_from_userinfo_txt(self):
        with World() as w:
            self.config(w, USERS)
            srv = w.start("mailsrv", ["-n", "srv", "--data", "data"], listening=2)
            with smtplib.SMTP("127.0.0.1", self.smtp, timeout=10) as s:
                refused = s.sendmail("t@example.org", ["alice@example.com", "bob@other.org", "carol@example.com",
                                                       "admin@example.com"],
                                     "Subject: from the grader\r\n\r\nhello\r\n")
                self.assertEqual(refused, {})
                with self.assertRaises(smtplib.SMTPRecipientsRefused):  # only the file's logins became accounts
                    s.sendmail("t@example.org", ["dave@example.com"], "Subject: x\r\n\r\nx\r\n")
            for user, password in (("alice@example.com", "pw1"), ("bob@other.org", "pw2"), ("admin@example.com", "adm")):
                p = poplib.POP3("127.0.0.1", self.pop, timeout=10)
                p.user(user)
                p.pass_(password)
                self.assertEqual(p.stat()[0], 1, user)
                msg = email.message_from_bytes(b"\r\n".join(p.retr(1)[1]))
                self.assertEqual(msg["Subject"], "from the grader")
                p.quit()
            p = poplib.POP3("127.0.0.1", self.pop, timeout=10)
            p.user("alice@example.com")
            with self.assertRaises(poplib.error_proto):
                p.pass_("pw2")
            p.close()
            # The agent reads the same config (and so the same file) and logs in as a bare login's address.
            r = w.run("agent", ["-e", "carol@example.com", "-p", "pw3", "-s", f"127.0.0.1:{self.smtp}",
                                "-P", f"127.0.0.1:{self.pop}", "--tls", "off", "stat"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^1 messages \(\d+ bytes\)\n$")
            self.assertEqual(w.stop(srv), 0)

    def test_a_bad_line_stops_mailsrv_and_the_agent_with_the_file_and_the_line(self):
        with World() as w:
            self.config(w, "alice pw1\n# dave forgot his password:\ndave\ncarol pw3\n")
            r = w.run("mailsrv", ["-n", "srv", "--data", "data"], timeout=10)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual(r.stderr, "mailsrv: userinfo.txt:3: a login without a password (expected: LOGIN PASSWORD)\n")
            r = w.run("agent", ["-e", "alice@example.com", "-p", "pw1", "-s", f"127.0.0.1:{self.smtp}",
                                "-P", f"127.0.0.1:{self.pop}", "stat"])
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual(r.stderr, "agent: userinfo.txt:3: a login without a password (expected: LOGIN PASSWORD)\n")

    def test_an_account_both_inline_and_in_the_file_is_an_error_naming_both(self):
        with World() as w:
            self.config(w, "alice pw1\nadmin pw\n")
            r = w.run("mailsrv", ["-n", "srv", "--data", "data"], timeout=10)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual(r.stderr, "mailsrv: userinfo.txt:2: admin@example.com: duplicate account, also at "
                                       "config/config.toml:4: accounts.srv.\"admin@example.com\" (domains compare "
                                       "case-insensitively, local parts exactly)\n")


if __name__ == "__main__":
    unittest.main()
