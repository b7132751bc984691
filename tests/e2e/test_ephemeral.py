"""Fresh worlds (issue 13, item 3): `mailsrv --ephemeral` keeps its state in a new temporary folder
removed at exit, so every start begins empty (the course's grader counts on it); `scripts/run-world
--ephemeral` starts every server so. Durable by default stays as it was."""
import os
import re
import signal
import subprocess
import threading
import unittest

from world import BUILD, GM, QQ, SOURCE, CourseWorld, World, binary, wait_for

MSG = b"Subject: once\r\n\r\nkept only while the server runs\r\n"


def data_dir(proc):
    return re.search(r"event=started name=\S+ data=(\S+) ephemeral=yes", proc.log()).group(1)


class EphemeralTest(unittest.TestCase):
    def test_each_start_begins_empty_and_nothing_is_left_at_exit(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            args = ["-n", GM, "--zone", world.zone, "--ephemeral"]
            gm = w.start("mailsrv", args, listening=2)
            data = data_dir(gm)
            self.assertTrue(data.startswith("/"), data)
            self.assertTrue(os.path.isdir(data))
            world.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com"], MSG, via=GM)
            p = world.pop("usr@gmail.com", "pass", GM)
            self.assertEqual(p.stat()[0], 1)
            p.quit()
            self.assertEqual(w.stop(gm), 0)
            self.assertFalse(os.path.exists(data), "the ephemeral folder is removed at exit")
            self.assertFalse(os.path.exists(w.path(f"var/{GM}")), "nothing written to the durable folder")
            gm = w.start("mailsrv", args, listening=2)
            self.assertNotEqual(data_dir(gm), data)
            p = world.pop("usr@gmail.com", "pass", GM)
            self.assertEqual(p.stat()[0], 0, "a new start begins empty")
            p.quit()
            self.assertEqual(w.stop(gm, signal.SIGINT), 0)

    def test_durable_by_default_and_data_excludes_ephemeral(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            gm = w.start("mailsrv", ["-n", GM, "--zone", world.zone], listening=2)
            self.assertIn("ephemeral=no", gm.log())
            world.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com"], MSG, via=GM)
            self.assertEqual(w.stop(gm), 0)
            gm = w.start("mailsrv", ["-n", GM, "--zone", world.zone], listening=2)
            p = world.pop("usr@gmail.com", "pass", GM)
            self.assertEqual(p.stat()[0], 1, "durable: the message is still there")
            p.quit()
            w.stop(gm)
            r = w.run("mailsrv", ["-n", GM, "--zone", world.zone, "--ephemeral", "--data", w.path("d")])
            self.assertEqual(r.returncode, 2)
            self.assertEqual(r.stderr, "mailsrv: --data and --ephemeral exclude each other\n")
            r = subprocess.run([binary("mailsrv"), "-n", GM, "--zone", world.zone, "--ephemeral"], cwd=w.dir,
                               capture_output=True, text=True, timeout=10,
                               env={**os.environ, "TMPDIR": w.path("no-such-folder")})
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertRegex(r.stderr, r"^mailsrv: --ephemeral: no temporary folder \(\$TMPDIR\): .*\n$")

    def test_a_start_up_error_leaves_no_folder(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            busy = w.start("mailsrv", ["-n", GM, "--zone", world.zone, "--ephemeral"], listening=2)
            tmp = os.environ.get("TMPDIR", "/tmp")
            before = {n for n in os.listdir(tmp) if n.startswith(f"mailsrv-{GM}-")}
            r = w.run("mailsrv", ["-n", GM, "--zone", world.zone, "--ephemeral"])  # its ports are taken
            self.assertEqual(r.returncode, 2, r.stderr)
            after = {n for n in os.listdir(tmp) if n.startswith(f"mailsrv-{GM}-")}
            self.assertEqual(after, before)
            w.stop(busy)

    def test_run_world_ephemeral_starts_every_server_so(self):
        with World() as w:
            world = CourseWorld(w, resolver="none")
            p = subprocess.Popen([os.path.join(SOURCE, "scripts", "run-world"), "--ephemeral", "-c", world.cfg,
                                  "-z", world.zone, "-b", BUILD], cwd=w.dir, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True)
            lines = []
            reader = threading.Thread(target=lambda: lines.extend(p.stderr), daemon=True)
            reader.start()
            try:
                wait_for(lambda: sum("ephemeral=yes" in l for l in lines) == 2, 15, "two ephemeral servers")
                dirs = re.findall(r"event=started name=\S+ data=(\S+) ephemeral=yes", "".join(lines))
                self.assertTrue(all(os.path.isdir(d) for d in dirs), dirs)
            finally:
                os.killpg(p.pid, signal.SIGINT)
                p.wait(10)
                reader.join(5)
            self.assertEqual(p.returncode, 0, "".join(lines))
            self.assertEqual([d for d in dirs if os.path.exists(d)], [], "".join(lines))


if __name__ == "__main__":
    unittest.main()
