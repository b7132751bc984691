"""The relay's connection cache and TLS session resumption (issue 15), with fdns and both providers:
an attempt that sent its last message keeps its STARTTLS session open ([queue] connection_cache_seconds)
for the next one to the same server; a cached connection the server closed meanwhile costs nothing
(the message goes over a new one, exactly once); a new connection resumes the TLS session of the last."""
import re
import signal
import time
import unittest

from world import GM, QQ, CourseWorld, World, wait_for

MSG = "From: usr1@mail.sustech.edu.cn\r\nTo: usr@gmail.com\r\nSubject: {s}\r\n\r\nHello.\r\n"
QUEUE = "[queue]\nretry_first = 1\nretry_max = 2\n"


def start_gm(w, world):
    """gmail.com with -v: its log names each session (event=connect) and each handshake (event=tls)."""
    world.procs[GM] = w.start("mailsrv", ["-n", GM, "-v", *world.resolver], listening=2)
    return world.procs[GM]


def relay_sessions(gm):
    """The SMTP sessions that brought a message to gmail.com: the sids of its event=message lines."""
    return {re.search(r"\bsid=(\S+)", l).group(1) for l in gm.log().splitlines() if "event=message " in l}


def connected(qq):
    return [l for l in qq.log().splitlines() if "event=connected " in l]


class RelayCacheTest(unittest.TestCase):
    def send_and_wait(self, world, subject, count):
        self.assertEqual(world.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com"], MSG.format(s=subject)), {})
        return wait_for(lambda: len(world.messages("usr@gmail.com", "pass", GM)) >= count, what=subject)

    def test_two_messages_a_second_apart_go_over_one_connection(self):
        with World() as w:
            world = CourseWorld(w, queue=QUEUE)
            qq = world.start(QQ)
            gm = start_gm(w, world)
            self.send_and_wait(world, "first", 1)
            time.sleep(1)
            self.send_and_wait(world, "second", 2)
            self.assertEqual(len(relay_sessions(gm)), 1, gm.log())
            lines = connected(qq)
            self.assertEqual(len(lines), 2)
            self.assertIn("reused=0", lines[0])
            self.assertIn("reused=1", lines[1])
            self.assertIn('tls="TLSv1.3', lines[1])  # still the STARTTLS session
            self.assertEqual([m["Subject"] for m in world.messages("usr@gmail.com", "pass", GM)], ["first", "second"])

    def test_a_cached_connection_the_server_closed_costs_nothing(self):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with self.subTest(sig=sig.name), World() as w:
                world = CourseWorld(w, queue=QUEUE)
                qq = world.start(QQ)
                start_gm(w, world)
                self.send_and_wait(world, "before", 1)
                world.stop(GM, sig)  # the cached connection ends with it (421, or just closed)
                start_gm(w, world)
                self.send_and_wait(world, "after", 2)
                self.assertIn("event=cache_stale", qq.log())
                self.assertNotIn("result=deferred", qq.log())
                time.sleep(0.5)
                self.assertEqual(sorted(m["Subject"] for m in world.messages("usr@gmail.com", "pass", GM)),
                                 ["after", "before"])
                wait_for(lambda: world.queue_files(QQ) == [], what="an empty queue")

    def test_a_new_connection_resumes_the_tls_session(self):
        with World() as w:
            world = CourseWorld(w, queue=QUEUE + "connection_cache_seconds = 0\n")
            qq = world.start(QQ)
            gm = start_gm(w, world)
            self.send_and_wait(world, "first", 1)
            self.send_and_wait(world, "second", 2)
            self.assertEqual(len(relay_sessions(gm)), 2)  # no cache: a connection each
            lines = connected(qq)
            self.assertEqual(len(lines), 2)
            self.assertIn("tls_resumed=no", lines[0])
            self.assertIn("tls_resumed=yes", lines[1])
            tls = [l for l in gm.log().splitlines() if "event=tls " in l]
            self.assertEqual(len(tls), 2)
            self.assertIn("resumed=no", tls[0])
            self.assertIn("resumed=yes", tls[1])


if __name__ == "__main__":
    unittest.main()
