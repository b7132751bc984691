"""A generated world (issue 15, item 6): bench/world_gen.py writes a world of many servers that
scripts/run-world runs, and bench/world_traffic.py drives it with a mix of mail, a server taken down and
brought back through the world control, and accounts for every message by the servers' events. And what
the world of 100 servers showed: every mailsrv kept the whole world's accounts in memory."""
import csv
import os
import subprocess
import sys
import tempfile
import unittest

from world import BUILD, SOURCE, World, sanitized

GEN = os.path.join(SOURCE, "bench", "world_gen.py")
TRAFFIC = os.path.join(SOURCE, "bench", "world_traffic.py")


def rss_anon_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("RssAnon:"))


class WorldGenTest(unittest.TestCase):
    def test_a_generated_world_delivers_every_message_and_counts_it(self):
        with World() as w, tempfile.TemporaryDirectory(prefix="mw-rows.") as rows:
            out = w.path("world")
            r = subprocess.run([sys.executable, GEN, out, "--servers", "3", "--domains", "2", "--accounts", "30",
                                "--retry-first", "1", "--retry-max", "2"], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = subprocess.run([sys.executable, TRAFFIC, out, "--messages", "80", "--rate", "40", "--idle", "1",
                                "--timeout", "40", "-b", BUILD], capture_output=True, text=True, timeout=120,
                               env={**os.environ, "BENCH_TSV_DIR": rows})
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(os.path.join(rows, "scale_world.tsv")) as f:
                row = next(csv.DictReader(f, delimiter="\t"))
            self.assertEqual(row["servers"], "3")
            self.assertEqual(row["lost"], "0")
            self.assertEqual(row["smtp_errors"], "0")
            self.assertEqual(int(row["msgs"]), 80)
            self.assertGreater(float(row["p50_ms"]), 0)
            # the second server was stopped and started again: mail for it waited and still arrived
            self.assertIn("category=remote_down", r.stdout)
            self.assertIn("category=unknown", r.stdout)  # bounces came back and were counted
            self.assertFalse(os.path.exists(os.path.join(out, "var", "world.ctl")), "the world was stopped")

    def test_a_world_that_does_not_start_fails_at_once_and_keeps_its_log(self):
        """run-world stops the whole world when a server cannot listen (here its SMTP port is taken): the
        traffic generator waited a minute for ports nobody would open, then removed the log it named."""
        import re
        import shutil
        import socket
        import tomllib
        with World() as w:
            out = w.path("world")
            r = subprocess.run([sys.executable, GEN, out, "--servers", "2", "--domains", "1", "--accounts", "4"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(out, "config.toml"), "rb") as f:
                port = tomllib.load(f)["server"]["s002"]["smtp"]
            with socket.socket() as taken:
                taken.bind(("127.0.0.1", port))  # bound, not listening: mailsrv s002 cannot bind it
                try:
                    r = subprocess.run([sys.executable, TRAFFIC, out, "--messages", "4", "--idle", "0", "-b", BUILD],
                                       capture_output=True, text=True, timeout=40)
                except subprocess.TimeoutExpired:
                    self.fail("world_traffic.py still waited for the ports 40 s after the world had stopped")
            self.assertNotEqual(r.returncode, 0)
            m = re.search(r"log: (\S+?)\)", r.stderr)
            self.assertIsNotNone(m, r.stderr)
            self.assertTrue(os.path.exists(m.group(1)), f"the log named is gone: {r.stderr}")
            with open(m.group(1)) as f:
                self.assertIn("s002", f.read())
            shutil.rmtree(os.path.dirname(m.group(1)))

    def test_a_server_keeps_only_its_own_accounts_in_memory(self):
        """Server s001 of a 100-server world: with 500 accounts in the world (5 its own) and with 50,000 (500
        its own). Its memory grew by 27 MB with the others' accounts: the whole config stayed alive in main."""
        with World() as w:
            anon = {}
            for name, accounts in (("own", 500), ("world", 50000)):
                out = w.path(name)
                r = subprocess.run([sys.executable, GEN, out, "--servers", "100", "--domains", "1", "--accounts",
                                    str(accounts)], capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                p = w.start("mailsrv", ["-n", "s001", "-c", os.path.join(out, "config.toml")], listening=2, timeout=30)
                anon[name] = rss_anon_kb(p.popen.pid)
                w.stop(p)
            print(f"s001 RssAnon: {anon['own']} kB with 500 accounts in the world, {anon['world']} kB with 50,000")
            if sanitized():  # ASan's quarantine and shadow memory: the plain build's run checks the bound
                return
            self.assertLess(anon["world"] - anon["own"], 3000,
                            f"RssAnon with 50,000 accounts in the world: {anon['world']} kB; with 500: {anon['own']} kB")


if __name__ == "__main__":
    unittest.main()
