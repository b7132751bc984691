"""A mailsrv Maildir shared with another reader (issue 12, defect 1): while a POP3 session is open,
Dovecot, mutt or s-nail rename message files (`cur/X:2,` -> `cur/X:2,S`, `new/X` -> `cur/X:2,S`) or
remove them. RETR must still find a renamed message by its unique part (before ':'), DELE + QUIT must
really remove it, and a message the other reader removed must never be reported as deleted here.
The last test lets a real Dovecot (dovecot-pop3d) do the renaming."""
import os
import poplib
import pwd
import shutil
import subprocess
import time
import unittest

from world import Smtp, World, chown_tree, maildir_files, wait_for, world_config

USER, PASSWORD = "usr@gmail.com", "pass"
ACCOUNTS = {"gmail.com": {USER: PASSWORD}}


class MaildirCase(unittest.TestCase):
    """A mailsrv with one account, and what another Maildir reader does to its files."""

    def start(self, w):
        self.smtp, self.pop = w.free_port(), w.free_port()
        cfg = w.write("config.toml", world_config({"gmail.com": (self.smtp, self.pop)}, ACCOUNTS))
        self.data = w.path("data")
        self.maildir = os.path.join(self.data, "mail", USER)
        return w.start("mailsrv", ["-n", "gmail.com", "-c", cfg, "--data", self.data], listening=2)

    def deliver(self, subjects):
        c = Smtp(self.smtp)
        c.reply()
        c.cmd("EHLO t.example")
        for subject in subjects:
            for cmd in ("MAIL FROM:<a@example.org>", f"RCPT TO:<{USER}>", "DATA"):
                code, text = c.cmd(cmd)
                self.assertLess(code, 400, text)
            c.send(f"Subject: {subject}\r\n\r\nbody of {subject}\r\n.\r\n")
            self.assertEqual(c.reply()[0], 250)
        c.cmd("QUIT")
        c.close()

    def login(self):
        p = poplib.POP3("127.0.0.1", self.pop, timeout=10)
        p.user(USER)
        p.pass_(PASSWORD)
        return p

    def cur(self):
        """{unique part: file name} of cur/ and new/ (the part before ':' never changes)."""
        return {os.path.basename(f).split(":")[0]: f for sub in ("cur", "new") for f in maildir_files(self.data, USER, sub)}

    def other_reader_renames(self, path, to_sub, flags):
        """What Dovecot or mutt do: the same unique part, another folder and info part."""
        unique = os.path.basename(path).split(":")[0]
        to = os.path.join(self.maildir, to_sub, unique + (":2," + flags if flags is not None else ""))
        os.rename(path, to)
        return to

    def by_subject(self):
        """{subject: path} of the files in cur/ and new/."""
        out = {}
        for path in self.cur().values():
            with open(path, encoding="utf-8") as f:
                out[next(l for l in f if l.startswith("Subject: "))[9:].strip()] = path
        return out

    def subject_of(self, p, n):
        lines = p.retr(n)[1]
        return next(l.decode() for l in lines if l.startswith(b"Subject:"))


class MaildirShareTest(MaildirCase):
    def test_renamed_behind_the_session_retr_works_and_dele_removes(self):
        with World() as w:
            srv = self.start(w)
            self.deliver(["one", "two", "three"])
            p = self.login()
            self.assertEqual(len(p.list()[1]), 3)
            files = self.by_subject()  # all in cur/ with ":2," now
            self.assertTrue(all(f.endswith(":2,") for f in files.values()), files)
            # 1: read by Dovecot (cur/X:2, -> cur/X:2,S); 2: marked new in mutt (cur/X:2, -> new/X).
            self.other_reader_renames(files["one"], "cur", "S")
            moved = self.other_reader_renames(files["two"], "new", None)
            self.assertEqual(self.subject_of(p, 1), "Subject: one")
            self.assertEqual(self.subject_of(p, 2), "Subject: two")
            self.assertEqual(p.top(1, 0)[1][0], b"Return-Path: <a@example.org>")
            # 2 read again elsewhere (Dovecot: new/X -> cur/X:2,S), after mailsrv found it in new/.
            self.other_reader_renames(moved, "cur", "S")
            self.assertEqual(self.subject_of(p, 2), "Subject: two")
            p.dele(1)
            p.dele(2)
            self.assertIn(b"1 messages left)", p.quit())
            srv.wait_for("event=logout")
            self.assertRegex(srv.log(), r"event=logout user=usr@gmail.com deleted=2 renamed=2 gone=0")
            left = list(self.cur().values())
            self.assertEqual(len(left), 1, left)  # really removed, not only reported
            self.assertEqual(left[0], files["three"])
            self.assertNotIn("remove_failed", srv.log())

    def test_removed_by_the_other_reader_is_not_reported_deleted(self):
        with World() as w:
            srv = self.start(w)
            self.deliver(["one", "two"])
            p = self.login()
            os.unlink(self.by_subject()["one"])  # the other reader deleted message 1
            with self.assertRaises(poplib.error_proto) as e:
                p.retr(1)
            self.assertEqual(str(e.exception), "b'-ERR message 1 was removed by another client'")
            srv.wait_for("event=retr_failed")
            self.assertRegex(srv.log(), r"event=retr_failed user=usr@gmail.com n=1 reason=gone")
            self.assertEqual(self.subject_of(p, 2), "Subject: two")  # the session goes on
            p.dele(1)
            p.dele(2)
            self.assertEqual(p.quit(), b"+OK gmail.com POP3 server signing off (0 messages left; "
                                       b"1 deleted message had already been removed by another client)")
            srv.wait_for("event=logout")
            self.assertRegex(srv.log(), r"event=logout user=usr@gmail.com deleted=1 renamed=0 gone=1")
            self.assertEqual(self.cur(), {})


DOVECOT = "/usr/sbin/dovecot"
DOVECOT_CONF = """# Written by tests/e2e/test_maildir_share.py: POP3 only, 127.0.0.1 only, state in the test's folder.
protocols = pop3
listen = 127.0.0.1
base_dir = {run}/base
state_dir = {run}/state
instance_name = mw-e2e-{port}
log_path = {run}/dovecot.log
info_log_path = {run}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = {uid}
first_valid_gid = {gid}
{users}
mail_location = maildir:{maildir}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={run}/home
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
}}
"""


class RealDovecotTest(MaildirCase):
    """Dovecot's POP3 reads the same Maildir between mailsrv's LIST and RETR: its QUIT renames
    `cur/X:2,` to `cur/X:2,S` (it sets \\Seen on what it sent)."""

    def dovecot(self, w):
        """Starts Dovecot as a child on a free port over the account's Maildir; returns (popen, port) once it answers."""
        run, port = w.path("dovecot"), w.free_port()
        for d in ("base", "state", "home"):
            os.makedirs(os.path.join(run, d))
        if os.getuid() == 0:
            # Dovecot will not serve mail as root: the Maildir goes to an ordinary uid, as on a real host.
            uid, gid, users = 65534, 65534, ""
            chown_tree(self.maildir, uid, gid)
            os.chown(os.path.join(run, "home"), uid, gid)
            # The mail process (that uid) walks down to the Maildir through the test's folders.
            for d in (w.dir, self.data, os.path.dirname(self.maildir), run):
                os.chmod(d, 0o755)
        else:  # Dovecot's documented non-root mode: every process as this user
            uid, gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(uid).pw_name
            users = f"default_internal_user = {me}\ndefault_login_user = {me}\ndefault_internal_group = {me}"
        conf = w.write("dovecot/dovecot.conf", DOVECOT_CONF.format(
            run=run, port=port, uid=uid, gid=gid, users=users, maildir=self.maildir, password=PASSWORD))
        out = open(os.path.join(run, "stdout"), "wb")
        popen = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + 10
        while True:
            try:
                poplib.POP3("127.0.0.1", port, timeout=2).quit()
                return popen, port
            except OSError:
                if popen.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("dovecot did not start: " + self.read(run, "stdout") + self.read(run, "dovecot.log"))
                time.sleep(0.1)

    @staticmethod
    def read(run, name):
        try:
            with open(os.path.join(run, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    @staticmethod
    def stop_dovecot(popen):
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(10)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()

    def test_real_dovecot_reads_between_list_and_retr(self):
        if not os.path.exists(DOVECOT):
            print(f"\nskipped: {DOVECOT} is not installed (scripts/setup-deps --test installs dovecot-pop3d)")
            self.skipTest("dovecot is not installed")
        with World() as w:
            srv = self.start(w)
            self.deliver(["one", "two"])
            p = self.login()  # mailsrv moves new/ to cur/X:2,
            self.assertEqual(len(p.list()[1]), 2)
            dovecot, port = self.dovecot(w)
            try:
                d = poplib.POP3("127.0.0.1", port, timeout=10)
                d.user(USER)
                d.pass_(PASSWORD)
                self.assertEqual(len(d.list()[1]), 2)
                d.retr(1)
                d.retr(2)
                d.quit()
                wait_for(lambda: all(f.endswith(":2,S") for f in self.cur().values()), what="Dovecot's :2,S renames")
                self.assertEqual(self.subject_of(p, 1), "Subject: one")
                self.assertEqual(self.subject_of(p, 2), "Subject: two")
                p.dele(1)
                self.assertIn(b"1 messages left)", p.quit())
                srv.wait_for("event=logout")
                self.assertRegex(srv.log(), r"event=logout user=usr@gmail.com deleted=1 renamed=1 gone=0")
                left = list(self.cur().values())
                self.assertEqual(len(left), 1, left)
                self.assertTrue(left[0].endswith(":2,S"), left)
                # And Dovecot agrees: only message two is left.
                d = poplib.POP3("127.0.0.1", port, timeout=10)
                d.user(USER)
                d.pass_(PASSWORD)
                self.assertEqual(len(d.list()[1]), 1)
                self.assertIn(b"Subject: two", d.retr(1)[1])
                d.quit()
            finally:
                self.stop_dovecot(dovecot)  # by its PID, before World removes its folder


if __name__ == "__main__":
    unittest.main()
