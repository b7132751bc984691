"""fdns's fault rules (issue 13) seen by a real client (dig) and by the mail world: each action, the
count and probability-with-seed forms, per-name and per-type matching, SIGHUP reloads (a bad file
keeps the old rules and says so in one line), and a relay that defers while gmail.com's MX fails and
delivers once the rule is gone."""
import re
import signal
import subprocess
import threading
import time
import unittest

from world import GM, QQ, CourseWorld, World, fdns_zone, wait_for

ZONE = fdns_zone(
    ttl=60,
    mx={"gmail.com.": "gmail-smtp-in.l.google.com."},
    a={"tc.example.": "127.0.0.9", "slow.example.": "127.0.0.8", "first.example.": "127.0.0.7",
       "every.example.": "127.0.0.6", "coin.example.": "127.0.0.5"})

ACTIONS = """
[[rule]]
name = "sf"
when = "dns query"
match = { name = "servfail.example" }
do = "servfail"

[[rule]]
name = "gmail-mx-nx"
when = "dns query"
match = { name = "gmail.com", type = "MX" }
do = "nxdomain"

[[rule]]
name = "ref"
when = "dns query"
match = { name = "refused.example" }
do = "refused"

[[rule]]
name = "silent"
when = "dns query"
match = { name = "drop.example" }
do = "drop"

[[rule]]
name = "tc"
when = "dns query"
match = { name = "tc.example" }
do = "truncate"

[[rule]]
name = "slow"
when = "dns query"
match = { name = "slow.example" }
do = "delay 1500"
"""


def dig(port, *args, time_s=2):
    """dig's output, exit status and how long it took."""
    t0 = time.monotonic()
    r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+norec", f"+time={time_s}", "+tries=1", *args],
                       capture_output=True, text=True, timeout=30)
    return r.stdout, r.returncode, time.monotonic() - t0


def status(out):
    m = re.search(r"status: (\w+)", out)
    return m.group(1) if m else None


def answers(out):
    return [" ".join(l.split()) for l in out.splitlines() if l.strip() and not l.startswith(";")]


def fault_lines(proc, rule):
    return [l for l in proc.log().splitlines() if f"event=fault rule={rule} " in l]


class DnsFaultsTest(unittest.TestCase):
    def start_fdns(self, w, rules, port=None):
        port = port or w.free_port(udp=True)
        zone = w.write("fdns.toml", ZONE)
        faults = w.write("faults.toml", rules)
        proc = w.start("fdns", ["-z", zone, "-l", f"127.0.0.1:{port}", "--faults", faults], listening=2)
        return proc, port, faults

    def test_each_action_as_dig_sees_it(self):
        with World() as w:
            proc, port, faults = self.start_fdns(w, ACTIONS)
            proc.wait_for(f"event=faults_loaded file={faults} rules=6")
            for tcp in ([], ["+tcp"]):
                with self.subTest(tcp=bool(tcp)):
                    self.assertEqual(status(dig(port, *tcp, "servfail.example", "A")[0]), "SERVFAIL")
                    self.assertEqual(status(dig(port, *tcp, "refused.example", "A")[0]), "REFUSED")
                    nx = dig(port, *tcp, "gmail.com", "MX")[0]
                    self.assertEqual(status(nx), "NXDOMAIN")
                    self.assertIn("ANSWER: 0,", nx)
                    # Per type: gmail.com's A is answered as the zone says.
                    self.assertEqual(answers(dig(port, *tcp, "+noall", "+answer", "gmail.com", "A")[0]),
                                     ["gmail.com. 60 IN A 127.0.0.1"])
                    out, code, took = dig(port, *tcp, "drop.example", "A", time_s=1)
                    self.assertNotEqual(code, 0)
                    self.assertIn("timed out", out)
                    self.assertGreaterEqual(took, 0.9)
            line = fault_lines(proc, "sf")[0]
            self.assertIn('when="dns query" do=servfail client=127.0.0.1 name=servfail.example type=A', line)
            self.assertEqual(len(fault_lines(proc, "gmail-mx-nx")), 2)
            self.assertEqual(len(fault_lines(proc, "silent")), 2)
            self.assertTrue(proc.alive())
            self.assertEqual(w.stop(proc), 0)

    def test_truncate_makes_dig_retry_over_tcp(self):
        with World() as w:
            proc, port, _ = self.start_fdns(w, ACTIONS)
            udp_only = dig(port, "+ignore", "tc.example", "A")[0]
            self.assertRegex(udp_only, r"flags: qr aa tc;")
            self.assertIn("ANSWER: 0,", udp_only)
            fallback = dig(port, "tc.example", "A")[0]
            self.assertIn("Truncated, retrying in TCP mode", fallback)
            self.assertEqual(answers(dig(port, "+noall", "+answer", "tc.example", "A")[0]), ["tc.example. 60 IN A 127.0.0.9"])
            # Three UDP queries were truncated; the TCP ones were answered and are not counted.
            self.assertEqual(len(fault_lines(proc, "tc")), 3)
            r = w.run("mw-resolve", ["--dns", f"127.0.0.1:{port}", "tc.example", "A"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("stats udp=1 tcp=1", r.stderr)  # the project's resolver falls back to TCP too
            self.assertEqual(w.stop(proc), 0)

    def test_delay_holds_one_answer_back_and_no_other(self):
        with World() as w:
            proc, port, _ = self.start_fdns(w, ACTIONS)
            for tcp in ([], ["+tcp"]):
                with self.subTest(tcp=bool(tcp)):
                    slow = {}
                    t = threading.Thread(target=lambda: slow.update(r=dig(port, *tcp, "slow.example", "A", time_s=5)))
                    t.start()
                    time.sleep(0.3)  # the slow query is being held
                    out, _, took = dig(port, *tcp, "gmail.com", "A")
                    self.assertEqual(status(out), "NOERROR")
                    self.assertLess(took, 1.0)
                    self.assertTrue(t.is_alive(), "the delayed answer came before the other one")
                    t.join()
                    out, code, took = slow["r"]
                    self.assertEqual(code, 0)
                    self.assertEqual(answers(dig(port, "+noall", "+answer", "gmail.com", "A")[0]),
                                     ["gmail.com. 60 IN A 127.0.0.1"])
                    self.assertIn("127.0.0.8", out)
                    self.assertGreaterEqual(took, 1.5)
            self.assertEqual(w.stop(proc), 0)

    def test_first_every_and_probability_with_a_seed(self):
        rules = """rule = [
  { name = "first2", when = "dns query", match = { name = "first.example" }, do = "servfail", first = 2 },
  { name = "every3", when = "dns query", match = { name = "every.example" }, do = "refused", every = 3 },
  { name = "coin", when = "dns query", match = { name = "coin.example" }, do = "nxdomain", probability = 0.5, seed = %d },
]
"""

        def run(seed):
            with World() as w:
                proc, port, _ = self.start_fdns(w, rules % seed)
                first = [status(dig(port, "first.example", "A")[0]) for _ in range(4)]
                every = [status(dig(port, "every.example", "A")[0]) for _ in range(6)]
                coin = "".join("x" if status(dig(port, "coin.example", "A")[0]) == "NXDOMAIN" else "."
                               for _ in range(16))
                self.assertEqual(len(fault_lines(proc, "coin")), coin.count("x"))
                self.assertEqual(w.stop(proc), 0)
                return first, every, coin

        first, every, coin = run(42)
        self.assertEqual(first, ["SERVFAIL", "SERVFAIL", "NOERROR", "NOERROR"])
        self.assertEqual(every, ["NOERROR", "NOERROR", "REFUSED", "NOERROR", "NOERROR", "REFUSED"])
        self.assertIn("x", coin)
        self.assertIn(".", coin)
        self.assertEqual(run(42)[2], coin)  # a fresh fdns, the same seed: the same sequence
        self.assertNotEqual(run(7)[2], coin)

    def test_sighup_reloads_and_a_bad_file_keeps_the_old_rules(self):
        with World() as w:
            proc, port, faults = self.start_fdns(
                w, 'rule = [{ name = "once", when = "dns query", match = { name = "gmail.com" }, do = "servfail", first = 1 }]')
            self.assertEqual(status(dig(port, "gmail.com", "MX")[0]), "SERVFAIL")
            self.assertEqual(status(dig(port, "gmail.com", "MX")[0]), "NOERROR")
            proc.popen.send_signal(signal.SIGHUP)  # the same file again: its counters start afresh
            proc.wait_for(f"event=faults_loaded file={faults} rules=1", count=2)
            self.assertEqual(status(dig(port, "gmail.com", "MX")[0]), "SERVFAIL")

            w.write("faults.toml", 'rule = [{ when = "dns query", do = "servfail" }]\n[[oops]]\n')
            proc.popen.send_signal(signal.SIGHUP)
            proc.wait_for("event=faults_rejected")
            rejected = [l for l in proc.log().splitlines() if "event=faults_rejected" in l]
            self.assertEqual(len(rejected), 1)
            self.assertIn(f'file={faults} error="{faults}:', rejected[0])
            self.assertEqual(status(dig(port, "gmail.com", "MX")[0]), "NOERROR")  # the old rule, used up

            w.write("faults.toml", 'rule = [{ name = "smtp", when = "smtp RCPT", do = "drop" }]\n')
            proc.popen.send_signal(signal.SIGHUP)
            proc.wait_for("event=faults_rejected", count=2)
            self.assertIn('\\"smtp RCPT\\" is not for this server', proc.log())

            w.write("faults.toml", 'rule = [{ name = "no", when = "dns udp", do = "refused" }]\n')
            proc.popen.send_signal(signal.SIGHUP)
            proc.wait_for(f"event=faults_loaded file={faults} rules=1", count=3)
            self.assertEqual(status(dig(port, "gmail.com", "MX")[0]), "REFUSED")
            self.assertEqual(status(dig(port, "+tcp", "gmail.com", "MX")[0]), "NOERROR")
            self.assertTrue(proc.alive())
            self.assertEqual(w.stop(proc), 0)

    def test_a_bad_file_at_start_is_one_line_and_exit_2(self):
        with World() as w:
            zone = w.write("fdns.toml", ZONE)
            for text, error in (('rule = [{ when = "dns query", do = "reply 451 no" }]\n', ":1: rule[0].do: "),
                                ('[[rule]]\nwhen = "smtp RCPT"\ndo = "drop"\n', '"smtp RCPT" is not for this server'),
                                ('[[rule]]\nwhen = "dns query"\nmatch = { sender = "x" }\ndo = "drop"\n', ":3: ")):
                with self.subTest(text=text):
                    faults = w.write("bad.toml", text)
                    r = w.run("fdns", ["-z", zone, "-l", f"127.0.0.1:{w.free_port(udp=True)}", "--faults", faults])
                    self.assertEqual(r.returncode, 2)
                    self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
                    self.assertIn(error, r.stderr)
                    self.assertTrue(r.stderr.startswith(f"fdns: {faults}"), r.stderr)

    def test_the_config_key_and_sighup_without_a_file(self):
        with World() as w:
            port = w.free_port(udp=True)
            zone = w.write("fdns.toml", ZONE)
            w.write("faults.toml", 'rule = [{ when = "dns query", do = "refused" }]\n')
            w.write("config/config.toml", f'[fdns]\nlisten = "127.0.0.1:{port}"\nfaults = "faults.toml"\n')
            proc = w.start("fdns", ["-z", zone], listening=2)
            proc.wait_for("event=faults_loaded file=faults.toml rules=1")
            self.assertEqual(status(dig(port, "gmail.com", "MX")[0]), "REFUSED")
            self.assertEqual(w.stop(proc), 0)
            # The flag wins over the key.
            w.write("other.toml", "")
            proc = w.start("fdns", ["-z", zone, "--faults", "other.toml"], listening=2)
            proc.wait_for("event=faults_loaded file=other.toml rules=0")
            self.assertEqual(status(dig(port, "gmail.com", "MX")[0]), "NOERROR")
            self.assertEqual(w.stop(proc), 0)
            # Without a file, SIGHUP is logged and changes nothing (it no longer ends fdns).
            w.write("config/config.toml", f'[fdns]\nlisten = "127.0.0.1:{port}"\n')
            proc = w.start("fdns", ["-z", zone], listening=2)
            proc.popen.send_signal(signal.SIGHUP)
            proc.wait_for("event=reload faults=none")
            self.assertEqual(status(dig(port, "gmail.com", "MX")[0]), "NOERROR")
            self.assertNotIn("faults_loaded", proc.log())
            self.assertEqual(w.stop(proc), 0)


MSG = "From: usr1@mail.sustech.edu.cn\r\nTo: usr@gmail.com\r\nSubject: {s}\r\n\r\nThrough a flaky DNS.\r\n"


class DnsFaultsWorldTest(unittest.TestCase):
    def test_servfail_and_silence_defer_the_relay_then_it_delivers_and_nxdomain_bounces(self):
        with World() as w:
            world = CourseWorld(w, resolver="fdns started below, with its fault file from config.toml")
            faults = w.write("faults.toml", 'rule = [{ name = "gmail-mx", when = "dns query", '
                                            'match = { name = "gmail.com", type = "MX" }, do = "servfail" }]\n')
            with open(world.cfg) as f:
                cfg = f.read()
            w.write("config/config.toml", cfg.replace("[fdns]\n", '[fdns]\nfaults = "faults.toml"\n', 1))
            fdns = world.procs["fdns"] = w.start("fdns", [], listening=2)
            qq = world.start(QQ)
            world.start(GM)

            world.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com"], MSG.format(s="flaky dns"))
            fdns.wait_for("event=fault rule=gmail-mx ")
            servfail = re.compile(r"event=recipient .*result=deferred.*4\.4\.3.*SERVFAIL")
            # The first attempt and a retry: deferred, never bounced.
            wait_for(lambda: len(servfail.findall(qq.log())) >= 2, what="two deferrals naming SERVFAIL")
            self.assertEqual(world.messages("usr@gmail.com", "pass", GM), [])
            self.assertEqual(world.messages("usr1@mail.sustech.edu.cn", "pass1", QQ), [])
            self.assertEqual(len(world.queue_files(QQ)), 2)

            # No answer at all (the resolver times out): deferred too.
            w.write("faults.toml", 'rule = [{ name = "mute", when = "dns query", '
                                   'match = { name = "gmail.com", type = "MX" }, do = "drop" }]\n')
            fdns.popen.send_signal(signal.SIGHUP)
            fdns.wait_for("event=faults_loaded file=faults.toml rules=1", count=2)
            wait_for(lambda: re.search(r"event=recipient .*result=deferred.*did not answer", qq.log()),
                     timeout=20, what="a deferral after the resolver's timeout")
            self.assertEqual(world.messages("usr1@mail.sustech.edu.cn", "pass1", QQ), [])

            # The rule removed: the next retry delivers, exactly once.
            w.write("faults.toml", "")
            fdns.popen.send_signal(signal.SIGHUP)
            fdns.wait_for("event=faults_loaded file=faults.toml rules=0")
            got = wait_for(lambda: world.messages("usr@gmail.com", "pass", GM), timeout=20, what="the delivery")
            self.assertEqual([m["Subject"] for m in got], ["flaky dns"])
            wait_for(lambda: world.queue_files(QQ) == [], what="an empty queue")
            self.assertEqual(world.messages("usr1@mail.sustech.edu.cn", "pass1", QQ), [])

            # NXDOMAIN is for good: the next message bounces at once.
            time.sleep(1.5)  # the MX answer the resolver cached (ttl 1) has expired
            w.write("faults.toml", 'rule = [{ name = "gone", when = "dns query", '
                                   'match = { name = "gmail.com", type = "MX" }, do = "nxdomain" }]\n')
            fdns.popen.send_signal(signal.SIGHUP)
            fdns.wait_for("event=faults_loaded file=faults.toml rules=1", count=3)
            world.send("usr1@mail.sustech.edu.cn", ["usr@gmail.com"], MSG.format(s="no such domain"))
            bounce = wait_for(lambda: world.messages("usr1@mail.sustech.edu.cn", "pass1", QQ), what="the bounce")
            self.assertIn("5.1.2", bounce[0].get_payload()[0].get_payload())
            self.assertEqual(len(world.messages("usr@gmail.com", "pass", GM)), 1)


if __name__ == "__main__":
    unittest.main()
