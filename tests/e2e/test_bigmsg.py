"""A big attachment through the agent (issue 15, item 4): sent and retrieved byte for byte, with the
agent's peak memory bounded (it streams the attachment in and out instead of holding the message)."""
import os
import subprocess
import unittest

from world import QQ, CourseWorld, World, binary, sanitized

SIZE = 8 * 1024 * 1024


class BigMessageTest(unittest.TestCase):
    def run_measured(self, w, *args):
        wrapper = ("import os, sys\npid = os.fork()\nif pid == 0:\n    os.execv(sys.argv[1], sys.argv[1:])\n"
                   "_, status, ru = os.wait4(pid, 0)\nprint(ru.ru_maxrss, file=sys.stderr)\n"
                   "sys.exit(os.waitstatus_to_exitcode(status))\n")
        r = subprocess.run(["/usr/bin/python3", "-c", wrapper, binary("agent"), *args], cwd=w.dir,
                           capture_output=True, timeout=30)
        lines = r.stderr.decode(errors="replace").splitlines()
        self.assertEqual(r.returncode, 0, r.stdout.decode(errors="replace") + "\n".join(lines))
        return r.stdout.decode(), int(lines[-1])

    def test_an_8_mb_attachment_goes_out_and_comes_back_byte_for_byte_within_bounded_memory(self):
        with World() as w:
            world = CourseWorld(w)
            world.start(QQ)
            data = os.urandom(SIZE)
            with open(w.path("big.bin"), "wb") as f:
                f.write(data)
            user = ["-e", "usr1@mail.sustech.edu.cn", "-p", "pass1"]
            out, sent_kb = self.run_measured(w, *user, "send", "--to", "usr2@mail.sustech.edu.cn", "--subject", "big",
                                             "--body", "attached", "--attach", "big.bin")
            self.assertEqual(out, "Mail sent successfully\n")
            out, retr_kb = self.run_measured(w, "-e", "usr2@mail.sustech.edu.cn", "-p", "pass2", "retr", "1",
                                             "--save-attachments", "saved")
            self.assertIn(f"big.bin (application/octet-stream, {SIZE} bytes) saved as", out)
            with open(w.path("saved/big.bin"), "rb") as f:
                self.assertTrue(f.read() == data, "the saved attachment differs from the one sent")
            # Before streaming: about 4x (send) and 9x (retr) the attachment. Now a few MB whatever the size.
            bound_kb = 2 * SIZE // 1024 + 10 * 1024
            print(f"agent peak RSS: send {sent_kb} KiB, retr {retr_kb} KiB for a {SIZE} byte attachment")
            if not sanitized():  # ASan's quarantine (256 MB): peak RSS says nothing there
                self.assertLess(sent_kb, bound_kb, f"send peaked at {sent_kb} KiB")
                self.assertLess(retr_kb, bound_kb, f"retr peaked at {retr_kb} KiB")


if __name__ == "__main__":
    unittest.main()
