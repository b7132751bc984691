"""The store under adversity, end to end: a full disk (a small tmpfs as a server's --data) on the SMTP
side and for a bounce, kill -9 of the sending server in a loop while it relays, and the lock that keeps
two mailsrv off one data folder. Every test cleans up what it mounted and started."""
import errno
import os
import random
import re
import signal
import smtplib
import subprocess
import threading
import time
import unittest

from world import GM, QQ, CourseWorld, World, wait_for

MSG = "From: usr1@mail.sustech.edu.cn\r\nTo: {to}\r\nSubject: {s}\r\n\r\nHello from SUSTech.\r\n"


class Tmpfs:
    """A tmpfs of `size` mounted at the world's `rel` folder; on exit the world's programs are stopped
    (they hold files in it) and it is unmounted."""

    def __init__(self, w, rel, size="2m"):
        self.w = w
        self.dir = w.path(rel)
        self.size = size
        self.mounted = False

    def __enter__(self):
        os.makedirs(self.dir, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs", self.dir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            why = r.stderr.strip()
            if re.search(r"permission denied|not permitted|must be superuser|only root", why, re.I):
                raise unittest.SkipTest(f"mounting a tmpfs is refused here: {why}")
            raise AssertionError(f"mount -t tmpfs failed: {why}")
        self.mounted = True
        return self

    def __exit__(self, *exc):
        self.w.stop_all()
        if self.mounted:
            r = subprocess.run(["umount", self.dir], capture_output=True, text=True)
            if r.returncode != 0:
                subprocess.run(["umount", "-l", self.dir], capture_output=True)
        return False

    def fill(self):
        """Writes a filler file until the tmpfs has no byte left."""
        fd = os.open(os.path.join(self.dir, "filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            chunk = b"\0" * 65536
            while True:
                os.write(fd, chunk)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
        finally:
            os.close(fd)
        st = os.statvfs(self.dir)
        assert st.f_bavail == 0, f"{st.f_bavail} blocks still free"

    def free(self):
        os.unlink(os.path.join(self.dir, "filler"))


def files_under(top):
    """Every file below `top` (relative paths), except the server's own TLS files and lock."""
    out = []
    for root, _, names in os.walk(top):
        for n in names:
            rel = os.path.relpath(os.path.join(root, n), top)
            if not rel.startswith("tls" + os.sep) and rel not in ("mailsrv.lock", "filler"):
                out.append(rel)
    return sorted(out)


def read_envelope(w, server):
    q = w.path(f"var/{server}/queue")
    for f in os.listdir(q):
        if f.endswith(".json"):
            with open(os.path.join(q, f)) as env:
                return env.read()
    return ""


class DiskFullTest(unittest.TestCase):
    def test_a_message_that_cannot_be_stored_gets_451_and_the_retry_is_stored(self):
        with World() as w:
            world = CourseWorld(w)
            data = w.path(f"var/{QQ}")
            with Tmpfs(w, f"var/{QQ}") as disk:
                world.start(QQ)
                disk.fill()
                body = "Subject: full disk\r\n\r\n" + ("x" * 99 + "\r\n") * 200
                with smtplib.SMTP("127.0.0.1", world.ports[QQ][0], timeout=10) as s:
                    # A local and a remote recipient: the mailbox copy and the queue copy both fail.
                    with self.assertRaises(smtplib.SMTPDataError) as e:
                        s.sendmail("usr1@mail.sustech.edu.cn", ["usr2@mail.sustech.edu.cn", "usr@gmail.com"], body)
                    self.assertIn(e.exception.smtp_code, (451, 452))
                    self.assertEqual(s.noop()[0], 250)  # the session goes on
                    self.assertEqual(files_under(data), [], "nothing half-written may stay")
                    disk.free()
                    self.assertEqual(s.sendmail("usr1@mail.sustech.edu.cn", ["usr2@mail.sustech.edu.cn"], body), {})
                got = world.messages("usr2@mail.sustech.edu.cn", "pass2", QQ)
                self.assertEqual(len(got), 1)
                self.assertEqual(got[0]["Subject"], "full disk")
                self.assertEqual(got[0].get_payload(), ("x" * 99 + "\r\n") * 199 + "x" * 99)

    def test_a_message_larger_than_the_space_left_gets_4xx_a_smaller_one_250(self):
        with World() as w:
            world = CourseWorld(w)
            data = w.path(f"var/{QQ}")
            with Tmpfs(w, f"var/{QQ}", size="1m"):
                world.start(QQ)
                big = "Subject: big\r\n\r\n" + ("y" * 998 + "\r\n") * 1500  # 1.5 MB
                with smtplib.SMTP("127.0.0.1", world.ports[QQ][0], timeout=10) as s:
                    with self.assertRaises(smtplib.SMTPDataError) as e:
                        s.sendmail("usr1@mail.sustech.edu.cn", ["usr2@mail.sustech.edu.cn"], big)
                    self.assertIn(e.exception.smtp_code, (451, 452))
                    self.assertEqual(files_under(data), [])
                    self.assertEqual(s.sendmail("usr1@mail.sustech.edu.cn", ["usr2@mail.sustech.edu.cn"], "Subject: small\r\n\r\nok\r\n"), {})
                self.assertEqual([m["Subject"] for m in world.messages("usr2@mail.sustech.edu.cn", "pass2", QQ)], ["small"])

    def test_a_bounce_stays_queued_while_the_disk_is_full(self):
        with World() as w:
            world = CourseWorld(w)
            with Tmpfs(w, f"var/{QQ}") as disk:
                qq = world.start(QQ)  # gmail.com is down
                self.assertEqual(world.send("usr1@mail.sustech.edu.cn", ["nobody@gmail.com"],
                                            MSG.format(to="nobody@gmail.com", s="to nobody")), {})
                qq.wait_for("result=deferred")
                # At least one attempt saved (retries come every 1-2 s: a loaded machine may see the second first).
                wait_for(lambda: re.search(r'"attempts": [1-9]', read_envelope(w, QQ)), what="the deferred attempt saved")
                queued = world.queue_files(QQ)
                self.assertEqual(len(queued), 2)
                disk.fill()
                world.start(GM)  # answers 550 for the unknown user: a bounce is due, and cannot be stored
                qq.wait_for("event=bounce_failed", count=2, timeout=10)  # and is tried again
                line = next(l for l in qq.lines if "event=bounce_failed" in l)
                self.assertIn("No space left on device", line)
                self.assertEqual(world.queue_files(QQ), queued)
                self.assertEqual(world.messages("usr1@mail.sustech.edu.cn", "pass1", QQ), [])
                # A crash while the disk is still full: the entry survives and is settled again.
                self.assertEqual(world.stop(QQ, signal.SIGKILL), -9)
                qq = world.start(QQ)
                qq.wait_for("event=queue_loaded entries=1")
                qq.wait_for("event=bounce_failed", timeout=10)
                self.assertEqual(world.queue_files(QQ), queued)
                disk.free()
                got = wait_for(lambda: world.messages("usr1@mail.sustech.edu.cn", "pass1", QQ), timeout=10,
                               what="the bounce after space returned")
                self.assertEqual(len(got), 1)
                self.assertEqual(got[0].get_content_type(), "multipart/report")
                text = got[0].get_payload()[0].get_payload()
                self.assertIn("<nobody@gmail.com>", text)
                self.assertIn("550", text)
                wait_for(lambda: world.queue_files(QQ) == [], timeout=5, what="the entry leaving the queue")

    def test_an_entry_with_every_recipient_done_is_settled_at_start(self):
        # What a crash after saving the outcome but before the bounce leaves: no pending recipient.
        with World() as w:
            world = CourseWorld(w)
            q = w.path(f"var/{QQ}/queue")
            os.makedirs(q)
            with open(os.path.join(q, "E1.eml"), "w") as f:
                f.write("Received: by exmail.qq.com\nSubject: settled at start\n\nx\n")
            with open(os.path.join(q, "E1.json"), "w") as f:  # an envelope as written before this change
                f.write('{"version": 1, "id": "E1", "sender": "usr1@mail.sustech.edu.cn", "helo": "h", '
                        '"received": %d, "recipients": [{"address": "gone@gmail.com", "state": "failed", '
                        '"attempts": 1, "next_try": 0, "last_reply": "550 5.1.1 no such user"}, '
                        '{"address": "usr@gmail.com", "state": "delivered", "attempts": 1, "next_try": 0, '
                        '"last_reply": "250 ok"}]}' % int(time.time()))
            world.start(QQ)
            got = wait_for(lambda: world.messages("usr1@mail.sustech.edu.cn", "pass1", QQ), timeout=5, what="the bounce")
            text = got[0].get_payload()[0].get_payload()
            self.assertIn("<gone@gmail.com>", text)
            self.assertNotIn("usr@gmail.com>", text)
            wait_for(lambda: world.queue_files(QQ) == [], timeout=5, what="an empty queue")


class KillLoopTest(unittest.TestCase):
    def test_kill_9_during_relay_in_a_loop_loses_nothing_acknowledged(self):
        rng = random.Random(20261122)
        n = 60
        with World() as w:
            world = CourseWorld(w)
            world.start(GM)
            world.start(QQ)
            acked = set()
            refused = 0
            lock = threading.Lock()
            done = threading.Event()

            def sender():
                nonlocal refused
                for i in range(n):
                    subject = f"loop-{i}"
                    for attempt in range(1000):  # until this message is acknowledged
                        msg = MSG.format(to="usr@gmail.com", s=subject).replace("\r\n\r\n", f"\r\nX-Try: {attempt}\r\n\r\n", 1)
                        try:
                            world.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com"], msg)
                            with lock:
                                acked.add(subject)
                            break
                        except (OSError, smtplib.SMTPException):
                            with lock:
                                refused += 1
                            time.sleep(0.05)
                    time.sleep(0.03)  # a steady stream: relays are in flight whenever the kill comes
                done.set()

            t = threading.Thread(target=sender, daemon=True)
            t.start()
            kills = 0
            while not done.is_set() or kills < 5:  # at random moments, and at least five times
                time.sleep(rng.uniform(0.1, 0.6))
                self.assertEqual(world.stop(QQ, signal.SIGKILL), -9)
                kills += 1
                world.start(QQ)
            t.join(20)
            self.assertTrue(done.is_set(), "the sender did not finish")
            self.assertEqual(len(acked), n)

            def arrived():
                got = [(m["Subject"], m["X-Try"]) for m in world.messages("usr@gmail.com", "pass", GM)]
                return got if acked <= {s for s, _ in got} and world.queue_files(QQ) == [] else None

            got = wait_for(arrived, timeout=15, what="every acknowledged message at gmail.com")
            lost = sorted(s for s in acked if s not in {s for s, _ in got})
            # A copy too many is either the relay's (the same try twice: killed between gmail.com's 250
            # and the queue's update) or the client's (a try stored whose 250 never arrived, sent again).
            relay_dups = len(got) - len(set(got))
            client_dups = len(set(got)) - len({s for s, _ in got})
            print(f"\nkill -9 loop: {n} messages acknowledged, {kills} kills, {refused} sends refused or broken "
                  f"and tried again, {len(got)} arrived: {relay_dups} duplicates by the relay, {client_dups} by "
                  f"client retries ({sorted(s for s in acked if sum(1 for x, _ in got if x == s) > 1)})")
            self.assertEqual(lost, [])


class DataLockTest(unittest.TestCase):
    def second_start(self, w, world):
        try:
            return w.run("mailsrv", ["-n", GM, "--zone", world.zone, "-s", str(w.free_port()),
                                     "-p", str(w.free_port())], timeout=5)
        except subprocess.TimeoutExpired:
            self.fail("a second mailsrv ran on the same --data")

    def test_a_second_mailsrv_on_the_same_data_is_refused_and_kill_9_frees_it(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            first = world.start(GM)
            second = self.second_start(w, world)
            self.assertEqual(second.returncode, 2, second.stderr)
            self.assertEqual(second.stderr.strip().splitlines(),
                             [f"mailsrv: {w.path('var/' + GM)}: in use by another mailsrv (pid {first.pid})"])
            self.assertTrue(first.alive())
            self.assertEqual(world.stop(GM, signal.SIGKILL), -9)
            again = world.start(GM)  # the kernel dropped the lock with the process
            world.send("usr@gmail.com", ["usr@gmail.com"], "Subject: after\r\n\r\nx\r\n", via=GM)
            self.assertEqual(world.messages("usr@gmail.com", "pass", GM)[0]["Subject"], "after")
            self.assertIn(f"(pid {again.pid})", self.second_start(w, world).stderr)


if __name__ == "__main__":
    unittest.main()
