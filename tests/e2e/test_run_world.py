"""scripts/run-world, the README's run command without its install and build steps: starts every
program of the world with prefixed logs and stops them all on Ctrl-C (SIGINT to the process group)."""
import os
import queue
import threading
import signal
import subprocess
import time
import unittest

from world import BUILD, SOURCE, World, fdns_zone, world_config



def running_in_session(sid):
    """The processes of session `sid` that are not zombies, as "PID args" lines."""
    out = subprocess.run(["pgrep", "-a", "-s", str(sid)], capture_output=True, text=True).stdout
    alive = []
    for line in out.splitlines():
        pid = line.split()[0]
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile
        if state != "Z":
            alive.append(line)
    return alive

class RunWorldTest(unittest.TestCase):
    def start(self, w, port, servers=None, env=None):
        extra = (f'[fdns]\nlisten = "127.0.0.1:{port}"\n[view]\nlisten = "127.0.0.1:{w.free_port()}"\n'
                 f'[paths]\nvar = "{w.path("var")}"\n')
        accounts = {name: {f"usr@{name}": "pw"} for name in (servers or {})}
        cfg = w.write("config.toml", world_config(servers or {}, accounts, extra=extra) if servers else extra)
        zone = w.write("fdns.toml", fdns_zone(mx={"gmail.com.": "mx.gmail.com."}, p={"mx.gmail.com.": 2025}))
        return subprocess.Popen([os.path.join(SOURCE, "scripts", "run-world"), "-c", cfg, "-z", zone, "-b", BUILD],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                env=env)

    def test_ctrl_c_stops_every_child(self):
        with World() as w:
            port = w.free_port(udp=True)
            servers = {"a.example": (w.free_port(), w.free_port()), "b.example": (w.free_port(), w.free_port())}
            p = self.start(w, port, servers)
            self.addCleanup(lambda: p.poll() is None and os.killpg(p.pid, signal.SIGKILL))
            lines, got = [], queue.Queue()
            reader = threading.Thread(target=lambda: [got.put(l) for l in iter(p.stdout.readline, "")] + [got.put(None)],
                                      daemon=True)
            reader.start()
            deadline = time.monotonic() + 20
            # the view: HTTP; fdns: UDP and TCP; each mailsrv: SMTP and POP3
            while sum("event=listening" in l for l in lines) < 7 and time.monotonic() < deadline:
                try:
                    line = got.get(timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    break  # the asserts below say what is missing
                if line is None:
                    break
                lines.append(line)
            self.assertEqual(sum(l.startswith("[fdns] ") and "event=listening" in l for l in lines), 2, "".join(lines))
            for name, (smtp, _) in servers.items():  # one mailsrv per [server] entry, its state under [paths] var
                for proto, port_ in (("smtp", smtp), ("pop3", servers[name][1])):
                    self.assertTrue(any(l.startswith(f"[{name}] ") and f"proto={proto} addr=127.0.0.1:{port_}" in l
                                        for l in lines), "".join(lines))
                self.assertTrue(os.path.isdir(w.path(f"var/{name}/mail/usr@{name}/new")))
            out = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+short", "gmail.com", "MX"],
                                 capture_output=True, text=True, timeout=10).stdout
            self.assertEqual(out.strip(), "10 mx.gmail.com.")
            os.killpg(p.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
            p.wait(timeout=5)
            reader.join(5)
            rest = ""
            while not got.empty():
                rest += got.get() or ""
            self.assertEqual(p.returncode, 0, rest)
            self.assertIn("[fdns] ", rest)
            self.assertEqual(rest.count("event=stopped clean=yes"), 3, rest)
            # Exited programs may stay zombies for a moment, reparented to PID 1 (which reaps when it
            # gets to it, or never in a container without an init); only a live process is a failure.
            deadline = time.monotonic() + 2
            while True:
                alive = running_in_session(p.pid)
                if not alive or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual(alive, [], "processes of the world still running")

    def test_a_busy_port_stops_the_world_with_one_clear_line(self):
        with World() as w:
            port = w.free_port(udp=True)
            first = self.start(w, port)
            try:
                time.sleep(1.0)
                second = self.start(w, port)
                out, _ = second.communicate(timeout=20)
                self.assertEqual(second.returncode, 1)
                self.assertIn(f"[fdns] fdns: cannot listen on 127.0.0.1:{port} (udp): Address already in use", out)
            finally:
                os.killpg(first.pid, signal.SIGTERM)
                first.communicate(timeout=5)

    def test_running_a_whole_world_twice_exits_within_two_seconds_leaving_nothing(self):
        # Issue 10, defect 9: with servers in the world, the second run hung forever in `wait` (a log
        # prefixer blocked opening its FIFO), leaving an orphaned run-world and a /tmp/mw-world.* folder.
        with World() as w:
            port = w.free_port(udp=True)
            servers = {"a.example": (w.free_port(), w.free_port()), "b.example": (w.free_port(), w.free_port())}
            first = self.start(w, port, servers)
            self.addCleanup(lambda: first.poll() is None and os.killpg(first.pid, signal.SIGKILL))
            lines = []
            for line in first.stdout:  # until the whole first world listens
                lines.append(line)
                if sum("event=listening" in l for l in lines) == 7:  # the view, fdns (2), a and b (2 each)
                    break
            tmp = w.path("tmp")
            os.makedirs(tmp)
            for attempt in range(3):  # the race differs from run to run: try it a few times
                t0 = time.monotonic()
                second = self.start(w, port, servers, env=dict(os.environ, TMPDIR=tmp))
                try:
                    out, _ = second.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(second.pid, signal.SIGKILL)
                    self.fail("the second world did not exit")
                self.assertLess(time.monotonic() - t0, 2.0, out)
                self.assertNotEqual(second.returncode, 0)
                self.assertIn(f"cannot listen on 127.0.0.1:{port} (udp): Address already in use", out)
                self.assertRegex(out, r"run-world: (fdns|[ab]\.example) exited with status \d+; stopping the others")
                time.sleep(0.2)
                alive = subprocess.run(["pgrep", "-a", "-s", str(second.pid)], capture_output=True, text=True).stdout
                self.assertEqual(alive.strip(), "", "processes of the second world still running")
                self.assertEqual(os.listdir(tmp), [], "run-world left its folder behind")
            self.assertIsNone(first.poll(), "the first world must keep running")
            os.killpg(first.pid, signal.SIGTERM)
            first.communicate(timeout=5)


if __name__ == "__main__":
    unittest.main()
