"""World control (issue 13, item 2): scripts/run-world keeps the world running when one program stops
and says which and how; `scripts/world ctl` lists, stops, starts, pauses and faults one program at a
time through the world's control socket, and answers without installing or building anything."""
import os
import poplib
import queue
import re
import shlex
import shutil
import signal
import smtplib
import subprocess
import threading
import time
import unittest

from world import BUILD, GM, QQ, SOURCE, CourseWorld, World, wait_for

MSG = "Subject: hello\r\n\r\nworld control\r\n"


class RunningWorld:
    """scripts/run-world on the course's world (fdns + exmail.qq.com + gmail.com) with free ports."""

    def __init__(self, test, w, cw=None):
        self.test, self.w = test, w
        self.cw = cw or CourseWorld(w, resolver="zone")  # writes config and zone; run-world starts them all
        self.p = subprocess.Popen([os.path.join(SOURCE, "scripts", "run-world"), "-c", self.cw.cfg, "-z", self.cw.zone,
                                   "-b", BUILD], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.pids = set()  # every program PID `status` showed: a failed test still stops them
        self.lines, self.cond = [], threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        test.addCleanup(self._cleanup)
        self.wait_for("event=listening", 7)  # the view: HTTP; fdns: UDP and TCP; each mailsrv: SMTP and POP3
        self.wait_for("run-world: control socket")

    def _cleanup(self):
        if self.p.poll() is None:
            self.p.terminate()  # run-world stops its programs by PID and removes its run folder
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait()
        for pid in self.pids:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        self.reader.join(5)  # ends once no program holds the output pipe
        if not self.reader.is_alive():
            self.p.stdout.close()

    def _read(self):
        for line in iter(self.p.stdout.readline, ""):
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    def output(self):
        with self.cond:
            return "".join(self.lines)

    def wait_for(self, text, count=1, timeout=15):
        with self.cond:
            if not self.cond.wait_for(lambda: sum(text in l for l in self.lines) >= count, timeout):
                self.test.fail(f"no {count} x {text!r} from run-world within {timeout} s:\n" + "".join(self.lines))

    def ctl(self, *args, code=0):
        """`scripts/world ctl -c CONFIG ARGS`, asserted to exit with `code`: its output."""
        r = subprocess.run([os.path.join(SOURCE, "scripts", "world"), "ctl", "-c", self.cw.cfg, *args],
                           capture_output=True, text=True, timeout=40)
        self.test.assertEqual(r.returncode, code, f"ctl {args}: {r.stdout}{r.stderr}\nworld:\n{self.output()}")
        return r.stdout + r.stderr

    def status(self):
        """{name: {key: value}} from `ctl status`."""
        out = {}
        for line in self.ctl("status").splitlines():
            name, *pairs = shlex.split(line)
            out[name] = dict(p.split("=", 1) for p in pairs)
            if out[name]["pid"] != "-":
                self.pids.add(int(out[name]["pid"]))
        return out

    def interrupt(self):
        """Ctrl-C (SIGINT to the process group): run-world's exit status within 3 s."""
        os.killpg(self.p.pid, signal.SIGINT)
        self.p.wait(3)
        return self.p.returncode


def gone(pid):
    """The process no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class WorldCtlTest(unittest.TestCase):
    def test_kill_9_of_one_server_leaves_the_world_running_and_is_said(self):
        with World() as w:
            rw = RunningWorld(self, w)
            pids = {name: int(s["pid"]) for name, s in rw.status().items()}
            self.assertEqual(set(pids), {"view", "fdns", QQ, GM})
            os.kill(pids[GM], signal.SIGKILL)
            rw.wait_for(f"run-world: {GM} killed by signal 9 (SIGKILL)\n")
            self.assertNotIn("stopping the others", rw.output())
            # exmail.qq.com still serves: local mail is stored and read back
            rw.cw.send("usr1@mail.sustech.edu.cn", ["usr2@mail.sustech.edu.cn"], MSG)
            self.assertEqual(len(rw.cw.messages("usr2@mail.sustech.edu.cn", "pass2", QQ)), 1)
            st = rw.status()
            self.assertEqual(st[GM]["state"], "stopped")
            self.assertEqual(st[GM]["exit"], "killed by signal 9 (SIGKILL)")
            self.assertEqual((st[QQ]["state"], st["fdns"]["state"]), ("running", "running"))
            self.assertIsNone(rw.p.poll(), "run-world must keep running")
            # Ctrl-C still stops everything, by PID
            self.assertEqual(rw.interrupt(), 0, rw.output())
            for name in ("view", "fdns", QQ):
                wait_for(lambda: gone(pids[name]), 2, f"{name} (pid {pids[name]}) to be gone")
            self.assertFalse(os.path.exists(w.path("var/world.ctl")), "the control socket is left behind")

    def test_sighup_to_run_world_stops_every_program(self):
        # The terminal closing: the programs would take their own SIGHUP as a fault-rule reload.
        with World() as w:
            rw = RunningWorld(self, w)
            pids = [int(s["pid"]) for s in rw.status().values()]
            rw.p.send_signal(signal.SIGHUP)
            self.assertEqual(rw.p.wait(5), 0, rw.output())
            for pid in pids:
                wait_for(lambda: gone(pid), 2, f"pid {pid} to be gone")

    def test_status_lists_every_program_with_pid_ports_and_queue(self):
        with World() as w:
            rw = RunningWorld(self, w)
            t0 = time.monotonic()
            st = rw.status()
            self.assertLess(time.monotonic() - t0, 1.0, "ctl status must answer at once (no setup, no build)")
            self.assertEqual(list(st), ["view", "fdns", QQ, GM])  # the view first: the servers send it events
            for name, s in st.items():
                self.assertEqual(s["state"], "running")
                with open(f"/proc/{s['pid']}/cmdline", "rb") as f:
                    self.assertIn({"view": b"mailview", "fdns": b"fdns"}.get(name, name.encode()), f.read())
            self.assertEqual(st["view"]["ports"], f"http:{rw.cw.view_port}")
            self.assertIn("view takes no fault rules", rw.ctl("pause", "view", code=2))
            self.assertEqual(st["fdns"]["ports"], f"dns:{rw.cw.dns}")
            self.assertEqual(st[GM]["ports"], f"smtp:{rw.cw.ports[GM][0]},pop3:{rw.cw.ports[GM][1]}")
            self.assertEqual((st[GM]["addr"], st[GM]["queue"]), ("127.0.0.1", "0"))
            self.assertIn(f"{QQ} state=running", rw.ctl("status", QQ))
            self.assertIn("no program nosuch.example", rw.ctl("status", "nosuch.example", code=2))
            self.assertIn("usage:", rw.ctl("frobnicate", code=2))
            r = subprocess.run([os.path.join(SOURCE, "scripts", "world"), "ctl", "-s", w.path("none.ctl"), "status"],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("no world running", r.stderr)
            self.assertEqual(rw.interrupt(), 0)

    def test_a_socket_left_by_a_killed_world_is_replaced(self):
        with World() as w:
            rw = RunningWorld(self, w)
            pids = [int(s["pid"]) for s in rw.status().values()]
            os.kill(rw.p.pid, signal.SIGKILL)  # the supervisor only: its socket file stays
            rw.p.wait(5)
            for pid in pids:
                os.kill(pid, signal.SIGTERM)
            for pid in pids:
                wait_for(lambda: gone(pid), 5, f"pid {pid} to stop")
            # The killed supervisor could not remove its run folder (named in the programs' faults lines).
            for rundir in set(re.findall(r"file=(\S*/mw-world\.[^/\s]+)/", rw.output())):
                shutil.rmtree(rundir, ignore_errors=True)
            self.assertTrue(os.path.exists(w.path("var/world.ctl")))
            again = RunningWorld(self, w, cw=rw.cw)
            self.assertEqual(again.status()[GM]["state"], "running")
            self.assertEqual(again.interrupt(), 0)

    def test_mail_queued_while_a_server_is_stopped_is_delivered_after_start(self):
        with World() as w:
            rw = RunningWorld(self, w)
            old = rw.status()[GM]["pid"]
            self.assertRegex(rw.ctl("stop", GM), rf"^{GM} stopped exit=\"exited with status 0\"\n$")
            rw.wait_for(f"run-world: {GM} exited with status 0 (ctl stop)")
            self.assertTrue(gone(old))
            self.assertIn(f"{GM} already stopped", rw.ctl("stop", GM))
            rw.cw.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com"], MSG)
            rw.wait_for("result=deferred")  # the relay tried gmail.com, which is down
            self.assertGreaterEqual(int(rw.status()[QQ]["queue"]), 1)
            self.assertRegex(rw.ctl("start", GM), rf"^{GM} started pid=\d+\n$")
            self.assertNotEqual(rw.status()[GM]["pid"], old)
            wait_for(lambda: rw.cw.messages("usr@gmail.com", "pass", GM), 30, "the queued mail to arrive after start")
            wait_for(lambda: rw.status()[QQ]["queue"] == "0", 10, "the queue to empty")
            self.assertRegex(rw.ctl("restart", GM), rf"{GM} stopped .*\n{GM} started pid=\d+\n$")
            self.assertEqual(rw.interrupt(), 0)

    def test_pause_answers_421_and_err_then_resume_serves_again(self):
        with World() as w:
            rw = RunningWorld(self, w)
            self.assertRegex(rw.ctl("pause", GM), rf"^{GM} paused faults_loaded rules=2\n$")
            self.assertEqual(rw.status()[GM]["state"], "paused")
            with self.assertRaises(smtplib.SMTPConnectError) as cm:
                smtplib.SMTP("127.0.0.1", rw.cw.ports[GM][0], timeout=10)
            self.assertEqual(cm.exception.smtp_code, 421)
            with self.assertRaises(poplib.error_proto) as cm:
                poplib.POP3("127.0.0.1", rw.cw.ports[GM][1], timeout=10)
            self.assertTrue(str(cm.exception).startswith("b'-ERR"), cm.exception)
            rw.wait_for("event=fault rule=pause-smtp")
            # the other server is not paused
            rw.cw.send("usr1@mail.sustech.edu.cn", ["usr2@mail.sustech.edu.cn"], MSG)
            self.assertRegex(rw.ctl("resume", GM), rf"^{GM} resumed faults_loaded rules=0\n$")
            with smtplib.SMTP("127.0.0.1", rw.cw.ports[GM][0], timeout=10) as s:
                self.assertEqual(s.noop()[0], 250)
            self.assertEqual(rw.cw.messages("usr@gmail.com", "pass", GM), [])
            self.assertEqual(rw.interrupt(), 0)

    def test_a_paused_fdns_answers_servfail(self):
        with World() as w:
            rw = RunningWorld(self, w)

            def dig():
                return subprocess.run(["dig", "@127.0.0.1", "-p", str(rw.cw.dns), "+tries=1", "+time=5", "gmail.com", "MX"],
                                      capture_output=True, text=True, timeout=15).stdout

            self.assertIn("status: NOERROR", dig())
            self.assertRegex(rw.ctl("pause", "fdns"), r"^fdns paused faults_loaded rules=1\n$")
            self.assertIn("status: SERVFAIL", dig())
            rw.ctl("resume", "fdns")
            self.assertIn("status: NOERROR", dig())
            self.assertEqual(rw.interrupt(), 0)

    def test_fault_on_fdns_installs_rejects_and_clears(self):
        with World() as w:
            rw = RunningWorld(self, w)

            def status():
                out = subprocess.run(["dig", "@127.0.0.1", "-p", str(rw.cw.dns), "+tries=1", "+time=5", "gmail.com", "MX"],
                                     capture_output=True, text=True, timeout=15).stdout
                return out.split("status: ")[1].split(",")[0]

            good = w.write("nx.toml", 'rule = [ { name = "gone", when = "dns query", match = { name = "gmail.com" }, '
                                      'do = "nxdomain" } ]\n')
            bad = w.write("bad.toml", '[[rule]]\nwhen = "dns query"\ndo = "explode"\n')
            self.assertRegex(rw.ctl("fault", "fdns", good), r"^fdns faults installed faults_loaded rules=1\n$")
            self.assertEqual(status(), "NXDOMAIN")
            rw.wait_for("event=fault rule=gone")
            out = rw.ctl("fault", "fdns", bad, code=1)
            self.assertRegex(out, rf"^failed: fdns .*event=faults_rejected .*{bad}:3: ")  # the user's file and line
            self.assertEqual(status(), "NXDOMAIN", "a rejected file keeps the old rules")
            self.assertRegex(rw.ctl("fault", "fdns", "clear"), r"^fdns faults cleared faults_loaded rules=0\n$")
            self.assertEqual(status(), "NOERROR")
            self.assertEqual(rw.interrupt(), 0)

    def test_fault_installs_a_rule_file_and_a_rejected_one_keeps_the_old_rules(self):
        with World() as w:
            rw = RunningWorld(self, w)
            good = w.write("reject.toml", '[[rule]]\nname = "no-usr"\nwhen = "smtp RCPT"\ndo = "reply 550 5.7.1 Not today"\n')
            bad = w.write("bad.toml", '[[rule]]\nwhen = "smtp RCPT"\ndo = "explode"\n')
            self.assertRegex(rw.ctl("fault", GM, good), rf"^{GM} faults installed faults_loaded rules=1\n$")

            def rcpt():
                with smtplib.SMTP("127.0.0.1", rw.cw.ports[GM][0], timeout=10) as s:
                    s.ehlo("test")
                    s.mail("someone@example.org")
                    return s.rcpt("usr@gmail.com")[0]

            self.assertEqual(rcpt(), 550)
            rw.wait_for("event=fault rule=no-usr")
            out = rw.ctl("fault", GM, bad, code=1)
            self.assertRegex(out, rf"^failed: gmail\.com .*event=faults_rejected .*{bad}:3: ")  # the user's file and line
            self.assertEqual(rcpt(), 550, "a rejected file keeps the old rules")
            self.assertIn("failed:", rw.ctl("fault", GM, w.write("syntax.toml", "[[rule]\n"), code=1))
            self.assertRegex(rw.ctl("fault", GM, "clear"), rf"^{GM} faults cleared faults_loaded rules=0\n$")
            self.assertEqual(rcpt(), 250)
            self.assertEqual(rw.interrupt(), 0)


if __name__ == "__main__":
    unittest.main()


class SupervisorLogTest(unittest.TestCase):
    """The supervisor reads its programs' log lines by their event field, not by substrings: any SMTP
    client can put `event=listening` or `event=faults_loaded` into a logged value (a sender address)."""

    def setUp(self):
        import importlib.util
        spec = importlib.util.spec_from_file_location("supervisor", os.path.join(SOURCE, "scripts", "supervisor.py"))
        self.sup = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.sup)

    def read(self, *lines):
        import io
        import types
        prog = types.SimpleNamespace(name="gmail.com", cond=threading.Condition(), listening=0, data=None,
                                     fault_events=[])
        fake = types.SimpleNamespace(write=lambda b: None)
        self.sup.Supervisor.read_log(fake, prog, io.BytesIO("".join(l + "\n" for l in lines).encode()))
        return prog

    def test_a_value_that_looks_like_an_event_is_not_one(self):
        prog = self.read(
            'ts=x prog=mailsrv lvl=info svc=smtp sid=1 peer=127.0.0.1 event=message from=<event=listening@x.org> '
            'to=usr@gmail.com result=stored',
            'ts=x prog=mailsrv lvl=info svc=smtp sid=2 peer=127.0.0.1 event=fault rule=1 when="smtp MAIL" do=drop '
            'sender=event=faults_loaded@x.org',
            'ts=x prog=mailsrv lvl=info svc=smtp sid=3 peer=127.0.0.1 event=fault rule=1 when="smtp MAIL" do=drop '
            'sender="event=started data=/tmp/evil"')
        self.assertEqual((prog.listening, prog.fault_events, prog.data), (0, [], None))

    def test_real_events_are_read(self):
        prog = self.read('ts=x prog=mailsrv lvl=info svc=smtp event=listening proto=smtp addr=127.0.0.1:1',
                         'ts=x prog=mailsrv lvl=info event=started name=gmail.com data=/var/gm ephemeral=no',
                         'ts=x prog=mailsrv lvl=info event=faults_loaded file=f rules=1')
        self.assertEqual((prog.listening, prog.data, len(prog.fault_events)), (1, "/var/gm", 1))

    def test_a_rule_list_that_is_not_a_list_of_tables_is_a_reason_not_a_crash(self):
        for text in ('{"rule": {"when": "smtp MAIL", "do": "drop"}}', '{"rule": ["drop"]}'):
            with self.assertRaises(ValueError, msg=text):
                self.sup.compose_faults(text, True, [])
