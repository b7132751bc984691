"""A world of hosts with real peers (issue 12): fdns (then NSD), two mailsrv providers and a Postfix
domain, each in its own network namespace at its own address of 198.18.0.0/24 on the standard ports,
the world of config/hosts.toml and fdns/hosts.toml, the peers configured from tests/peers/ as
docs/interop.md tells users to. Nobody is told where anybody is: Postfix finds mailworld by MX through
the resolver in its namespace's resolv.conf, and mailworld finds Postfix the same way.

Skipped, with the reason printed, only where network namespaces cannot be made."""
import email
import email.policy
import glob
import os
import poplib
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import unittest

from world import BUILD, SOURCE, World, chown_tree, wait_for

sys.path.insert(0, os.path.join(SOURCE, "scripts"))
from hostnet import HostNet, can_make_namespaces, remove_stale  # noqa: E402
from peers import Postfix, instantiate  # noqa: E402

CONFIG = os.path.join(SOURCE, "config", "hosts.toml")
ZONE = os.path.join(SOURCE, "fdns", "hosts.toml")
PEERS = os.path.join(SOURCE, "tests", "peers")
DNS_IP, QQ_IP, GMAIL_IP, POSTFIX_IP = "198.18.0.2", "198.18.0.10", "198.18.0.11", "198.18.0.20"
ATTACHMENT = bytes(range(256)) * 40 + b"\x00\r\n.\r\nend"   # every byte value, a lone dot line, no final newline


def generated(out):
    subprocess.run([os.path.join(SOURCE, "scripts", "peer-configs"), "-c", "config/hosts.toml", "-z",
                    "fdns/hosts.toml", "-o", out],
                   check=True, capture_output=True, cwd=SOURCE)
    files = {}
    for path in glob.glob(os.path.join(out, "*", "*")):
        with open(path) as f:
            files[os.path.relpath(path, out)] = f.read()
    return files


def setUpModule():
    """A run killed by a timeout (no clean-up) leaves its namespaces: remove those of earlier test runs
    (prefixes mwt and mwr are this file's only)."""
    if can_make_namespaces() is None:
        remove_stale(("mwt", "mwr"))


class PeerConfigsTest(unittest.TestCase):
    def test_checked_in_peer_configs_are_the_generated_ones(self):
        with World() as w:
            fresh = generated(w.path("peers"))
        self.assertEqual(sorted(fresh), ["dovecot/dovecot.conf", "dovecot/users", "nsd/nsd.conf", "nsd/world.zone",
                                         "postfix/main.cf", "postfix/master.cf"])
        for rel, text in fresh.items():
            with open(os.path.join(PEERS, rel)) as f:
                self.assertEqual(f.read(), text, f"tests/peers/{rel} is stale: run scripts/peer-configs")

    def test_zone_for_nsd_holds_fdns_records(self):
        with open(os.path.join(PEERS, "nsd", "world.zone")) as f:
            zone = f.read()
        for line in ["gmail.com. IN MX 10 gmail-smtp-in.l.google.com.", "example.net. IN MX 10 mx.example.net.",
                     f"gmail-smtp-in.l.google.com. IN A {GMAIL_IP}", f"mx.example.net. IN A {POSTFIX_IP}"]:
            self.assertIn(line, zone)


def wait_port(ip, port, timeout=15):
    def up():
        try:
            socket.create_connection((ip, port), 0.5).close()
            return True
        except OSError:
            return False
    wait_for(up, timeout, f"{ip}:{port} listening")


def attachment_of(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for part in msg.iter_attachments():
        return part.get_content()
    return None


class HostsWorld:
    """The world of config/hosts.toml plus a Postfix host, in namespaces; `dns` is "fdns" or "nsd"."""

    def __init__(self, test, w, dns):
        self.t, self.w, self.dns = test, w, dns
        os.chmod(w.dir, 0o755)  # Postfix's and virtual(8)'s users walk into it
        self.net = HostNet(prefix=f"mwt{os.getpid() % 10000}")
        for host, ip in [("fdns", DNS_IP), ("exmail.qq.com", QQ_IP), ("gmail.com", GMAIL_IP), ("postfix", POSTFIX_IP)]:
            self.net.add(host, ip, DNS_IP)
        self.pf = w.path("postfix")
        self.postfix = Postfix(self.net, "postfix", self.pf, PEERS)

    def __enter__(self):
        self.net.up()
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self):
        wrap = lambda host: self.net.argv(host, [])  # noqa: E731
        if self.dns == "fdns":
            self.dns_proc = self.w.start("fdns", ["-z", ZONE, "-c", CONFIG], listening=2, wrap=wrap("fdns"))
        else:
            nsd = self.w.path("nsd")
            instantiate(os.path.join(PEERS, "nsd"), nsd, {"@DIR@": nsd})
            self.dns_proc = self.w.start("nsd", ["-d", "-c", os.path.join(nsd, "nsd.conf")], listening=0,
                                         wrap=wrap("fdns"), program=shutil.which("nsd") or "/usr/sbin/nsd")
            wait_for(lambda: self.dig("MX", "gmail.com") == ["10 gmail-smtp-in.l.google.com."], 15, "NSD answering")
        self.t.assertEqual(self.dig("A", "mx.example.net"), [POSTFIX_IP])
        self.qq = self.w.start("mailsrv", ["-n", "exmail.qq.com", "-c", CONFIG], listening=4, wrap=wrap("exmail.qq.com"))
        self.gmail = self.w.start("mailsrv", ["-n", "gmail.com", "-c", CONFIG], listening=4, wrap=wrap("gmail.com"))
        # Its certificate from the lab CA the first mailsrv made, as docs/interop.md says.
        self.postfix.start(self.w.path("var/ca"))
        wait_port(POSTFIX_IP, 25)

    def __exit__(self, *exc):
        try:
            self.postfix.stop()
            self.w.stop_all()
        finally:
            self.net.down()
        self.t.assertEqual(self.net.leftovers(), [], "namespaces, links or resolv.conf left behind")
        return False

    def dig(self, qtype, name):
        r = subprocess.run(["dig", f"@{DNS_IP}", "+short", "+time=1", "+tries=1", qtype, name],
                           capture_output=True, text=True)
        return r.stdout.split("\n")[:-1] if r.returncode == 0 else None

    def postfix_log(self):
        return self.postfix.log()

    def agent(self, email_, password, *args):
        r = self.w.run("agent", ["-c", CONFIG, "-e", email_, "-p", password, *args])
        self.t.assertEqual(r.returncode, 0, f"agent {args}: {r.stdout}{r.stderr}")
        return r.stdout

    def mailbox(self, email_, password):
        """Every message of a mailworld mailbox, raw, through POP3 by the agent (names through fdns)."""
        out = []
        listing = self.agent(email_, password, "list").split("\n")
        for line in listing:
            if line.strip() and line.split()[0].isdigit():
                r = self.w.run("agent", ["-c", CONFIG, "-e", email_, "-p", password, "retr", line.split()[0], "--raw"])
                out.append(r.stdout.encode())
        return out

    def pop3(self, ip, port):
        """A POP3 session with mailsrv over STLS (the lab CA), logged in as usr@gmail.com."""
        ctx = ssl.create_default_context(cafile=self.w.path("var/ca/ca.pem"))
        ctx.check_hostname = False  # poplib checks the address it was given; the chain is still verified
        p = poplib.POP3(ip, port, timeout=10)
        p.stls(ctx)
        p.user("usr@gmail.com")
        p.pass_("pass")
        return p

    def postfix_maildir(self, user):
        out = []
        for path in sorted(glob.glob(os.path.join(self.pf, "mail", user, "Maildir", "new", "*"))):
            with open(path, "rb") as f:
                out.append(f.read())
        return out


def received(raw):
    return [str(h) for h in email.message_from_bytes(raw, policy=email.policy.default).get_all("Received", [])]


class LoopbackAliasesTest(unittest.TestCase):
    """Placement (a): config/aliases.toml and fdns/aliases.toml under scripts/run-world, as root."""

    @unittest.skipIf(os.geteuid() != 0, "ports 25, 53 and 110 need root")
    def test_each_server_on_its_own_loopback_address_and_the_standard_ports(self):
        zone = os.path.join(SOURCE, "fdns", "aliases.toml")
        with World() as w:
            # The shipped file, with the state in this test's folder (run-world runs from the repository).
            with open(os.path.join(SOURCE, "config", "aliases.toml")) as f:
                config = w.write("aliases.toml", f.read() + f'\n[paths]\nvar = "{w.path("var")}"\n'
                                 f'[view]\nlisten = "127.0.0.1:{w.free_port()}"\n')
            p = subprocess.Popen([os.path.join(SOURCE, "scripts", "run-world"), "-c", config, "-z", zone, "-b", BUILD],
                                 cwd=w.dir, stderr=subprocess.PIPE, text=True, start_new_session=True)
            lines = []
            threading.Thread(target=lambda: lines.extend(p.stderr), daemon=True).start()
            try:
                wait_for(lambda: sum("event=listening" in l for l in lines) >= 11, 15,
                         "the view + 2 fdns + 8 mailsrv listeners")
                r = w.run("agent", ["-c", config, "-e", "usr1@mail.sustech.edu.cn", "-p", "pass1", "send", "--to",
                                    "usr@gmail.com", "--subject", "aliases", "--body", "hi"])
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                wait_for(lambda: any("[gmail.com]" in l and "event=message" in l and "local=1" in l for l in lines),
                         15, "delivery at gmail.com")
                log = "".join(lines)
                self.assertRegex(log, r"\[exmail\.qq\.com\] [^\n]*event=connected domain=gmail\.com "
                                      r"host=gmail-smtp-in\.l\.google\.com addr=127\.0\.0\.11:25")
                # The relay connects from exmail.qq.com's own address, as a host of its own would.
                self.assertRegex(log, r"\[gmail\.com\] [^\n]*peer=127\.0\.0\.10:\d+ event=message")
                r = w.run("agent", ["-c", config, "-e", "usr@gmail.com", "-p", "pass", "list"])
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertEqual(len(r.stdout.split("\n")) - 1, 1, r.stdout)
            finally:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            self.assertEqual(p.returncode, 0, "".join(lines))


class RunHostsTest(unittest.TestCase):
    def test_refuses_in_one_line_where_namespaces_cannot_be_made(self):
        # As a user without the right to make namespaces (nobody); as root only when root cannot either.
        def as_nobody():
            os.setgid(65534)
            os.setuid(65534)
        with World() as w:
            os.chmod(w.dir, 0o755)
            # Copies nobody can read wherever the repository is (a checkout in a 0700 home folder).
            for rel in ("scripts/run-hosts", "scripts/hostnet.py", "scripts/supervisor.py", "config/hosts.toml",
                        "fdns/hosts.toml"):
                os.makedirs(w.path(os.path.dirname(rel)), exist_ok=True)
                shutil.copy(os.path.join(SOURCE, rel), w.path(rel))
            r = subprocess.run([w.path("scripts/run-hosts"), "-c", "config/hosts.toml", "-z", "fdns/hosts.toml"],
                               capture_output=True, text=True, cwd=w.dir, timeout=30,
                               preexec_fn=as_nobody if os.geteuid() == 0 else None)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(r.stderr.strip().split("\n")), 1, r.stderr)
        self.assertRegex(r.stderr, r"^run-hosts: .*(root|namespace).*; use scripts/world")

    @unittest.skipIf(can_make_namespaces() is not None, f"network namespaces cannot be made here: {can_make_namespaces()}")
    def test_runs_the_world_of_hosts_and_removes_everything_on_ctrl_c(self):
        prefix = f"mwr{os.getpid() % 10000}"
        with World() as w:
            os.chmod(w.dir, 0o755)
            p = subprocess.Popen([os.path.join(SOURCE, "scripts", "run-hosts"), "-c", CONFIG, "-z", ZONE, "-b",
                                  BUILD,
                                  "--prefix", prefix, "--host", "postfix=198.18.0.20"],
                                 cwd=w.dir, stderr=subprocess.PIPE, text=True)
            try:
                # Only once the bridge is up does 198.18.0.0/24 lead to the hosts (not to a default route).
                seen = []
                reader = threading.Thread(target=lambda: seen.extend(p.stderr), daemon=True)
                reader.start()
                wait_for(lambda: any(l.startswith("run-hosts: up;") for l in seen), 30, "run-hosts: up")
                r = w.run("agent", ["-c", CONFIG, "-e", "usr1@mail.sustech.edu.cn", "-p", "pass1", "send", "--to",
                                    "usr@gmail.com", "--subject", "run-hosts", "--body", "hi"])
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                wait_for(lambda: glob.glob(w.path("var/gmail.com/mail/usr@gmail.com/new/*")), 15, "delivery")
                r = subprocess.run(["ip", "netns", "exec", f"{prefix}-postfix", "dig", "+short", "MX", "gmail.com"],
                                   capture_output=True, text=True)
                self.assertEqual(r.stdout, "10 gmail-smtp-in.l.google.com.\n")  # resolv.conf names fdns
                # One host stopped and started again through the world's control socket; the world runs on.
                ctl = [os.path.join(SOURCE, "scripts", "world"), "ctl", "-s", w.path("var/world.ctl")]
                for cmd, said in (("stop", "gmail.com stopped"), ("start", "gmail.com started pid=")):
                    r = subprocess.run(ctl + [cmd, "gmail.com"], capture_output=True, text=True, timeout=30)
                    self.assertIn(said, r.stdout, r.stdout + r.stderr + "".join(seen))
                r = subprocess.run(ctl + ["status"], capture_output=True, text=True, timeout=10)
                self.assertRegex(r.stdout, r"gmail\.com state=running pid=\d+ addr=198\.18\.0\.\d+ ports=smtp:25,", r.stderr)
                self.assertIsNone(p.poll(), "".join(seen))
                p.send_signal(signal.SIGINT)
                p.wait(15)
                reader.join(5)
                err = "".join(seen)
            finally:
                if p.poll() is None:  # a failed check: the script still cleans up on SIGINT
                    p.send_signal(signal.SIGINT)
                    try:
                        p.wait(15)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("run-hosts: stopped; namespaces and links removed", err)
        net = HostNet(prefix)
        for host, ip in [("fdns", DNS_IP), ("exmail.qq.com", QQ_IP), ("gmail.com", GMAIL_IP), ("postfix", POSTFIX_IP)]:
            net.add(host, ip, DNS_IP)
        self.assertEqual(net.leftovers(), [])


@unittest.skipIf(can_make_namespaces() is not None, f"network namespaces cannot be made here: {can_make_namespaces()}")
class HostsWorldTest(unittest.TestCase):
    def run_world(self, dns):
        with World() as w, HostsWorld(self, w, dns) as h:
            att = w.path("data.bin")
            with open(att, "wb") as f:
                f.write(ATTACHMENT)
            # mailworld -> mailworld and mailworld -> Postfix, one message, with an attachment.
            h.agent("usr1@mail.sustech.edu.cn", "pass1", "send", "--to", "usr@gmail.com", "--to",
                    "alice@example.net", "--subject", f"hosts {dns}", "--body", "across hosts", "--attach", att)
            # Postfix -> mailworld: submitted to Postfix from this machine (198.18.0.1, in its mynetworks).
            with smtplib.SMTP(POSTFIX_IP, 25, local_hostname="client.example.net", timeout=10) as s:
                msg = email.message.EmailMessage()
                msg["From"], msg["To"], msg["Subject"] = "alice@example.net", "usr@gmail.com", f"from postfix {dns}"
                msg.set_content("from the Postfix host")
                msg.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream", filename="data.bin")
                s.send_message(msg, to_addrs=["usr@gmail.com", "usr1@mail.sustech.edu.cn"])
                # Bounces: Postfix refuses an unknown user of mailworld's, mailworld one of Postfix's.
                s.sendmail("alice@example.net", ["nobody@gmail.com"], b"Subject: to nobody\r\n\r\nlost\r\n")
            h.agent("usr1@mail.sustech.edu.cn", "pass1", "send", "--to", "nobody@example.net", "--to",
                    "nobody@gmail.com", "--subject", "to nobodies", "--body", "lost")

            # gmail.com holds usr1's message and alice's, each attachment byte-identical, over ESMTPS.
            wait_for(lambda: len(h.mailbox("usr@gmail.com", "pass")) >= 2, 30, "2 messages for usr@gmail.com")
            tls_hops = []   # Received lines of hops made over STARTTLS, checked last
            box = {email.message_from_bytes(m)["Subject"]: m for m in h.mailbox("usr@gmail.com", "pass")}
            for subject, hop in [(f"hosts {dns}", QQ_IP), (f"from postfix {dns}", POSTFIX_IP)]:
                raw = box[subject]
                self.assertEqual(attachment_of(raw), ATTACHMENT, subject)
                chain = received(raw)
                self.assertGreaterEqual(len(chain), 2, chain)
                self.assertIn(f"[{hop}]", chain[0])
                self.assertIn("by gmail.com (mailworld)", chain[0])
                tls_hops.append(chain[0])
            self.assertIn("by mx.example.net (Postfix)", received(box[f"from postfix {dns}"])[1])

            # Postfix's Maildir holds usr1's message, received over TLS from mailworld's host.
            def from_usr1():
                return next((m for m in h.postfix_maildir("alice")
                             if email.message_from_bytes(m)["Subject"] == f"hosts {dns}"), None)
            wait_for(from_usr1, 30, "usr1's message in alice's Maildir")
            raw = from_usr1()
            self.assertEqual(attachment_of(raw), ATTACHMENT)
            self.assertRegex(received(raw)[0], rf"\[{QQ_IP.replace('.', '[.]')}\].*by mx\.example\.net \(Postfix\) "
                                               r"with ESMTPS")
            # mailworld verified Postfix's certificate; Postfix trusted mailworld's (the lab CA).
            h.qq.wait_for("to=alice@example.net host=mx.example.net[198.18.0.20]:25 result=sent", 1, 10)
            self.assertRegex(h.qq.log(), r"event=connected domain=example.net host=mx.example.net [^\n]*tls=\"TLSv1\.3 "
                                         r"[^\"]* verified\"")
            wait_for(lambda: "Trusted TLS connection established to gmail-smtp-in.l.google.com[198.18.0.11]:25"
                     in h.postfix_log(), 20, "Postfix's trusted TLS connection to gmail.com")
            wait_for(lambda: "Trusted TLS connection established to mxbiz1.qq.com[198.18.0.10]:25"
                     in h.postfix_log(), 20, "Postfix's trusted TLS connection to exmail.qq.com")
            wait_for(lambda: any(email.message_from_bytes(m)["Subject"] == f"from postfix {dns}"
                                 for m in h.mailbox("usr1@mail.sustech.edu.cn", "pass1")), 20, "alice's mail for usr1")

            # Bounces as RFC 3464 reports, both ways.
            def report_for(messages, rcpt):
                for m in messages:
                    msg = email.message_from_bytes(m)
                    if msg.get_content_type() == "multipart/report" and rcpt in m.decode(errors="replace"):
                        return m.decode(errors="replace")
                return None
            wait_for(lambda: report_for(h.postfix_maildir("alice"), "nobody@gmail.com"), 30,
                     "Postfix's bounce of nobody@gmail.com to alice")
            text = report_for(h.postfix_maildir("alice"), "nobody@gmail.com")
            self.assertIn("report-type=delivery-status", text)
            self.assertIn("Status: 5.1.1", text)
            self.assertIn("Remote-MTA: dns; gmail-smtp-in.l.google.com", text)
            wait_for(lambda: report_for(h.mailbox("usr1@mail.sustech.edu.cn", "pass1"), "nobody@example.net"), 30,
                     "mailworld's bounce of nobody@example.net to usr1")
            text = report_for(h.mailbox("usr1@mail.sustech.edu.cn", "pass1"), "nobody@example.net")
            self.assertIn("report-type=delivery-status", text)
            self.assertIn("Status: 5.1.1", text)
            self.assertIn("Remote-MTA: dns; mx.example.net", text)
            self.assertIn("Final-Recipient: rfc822; nobody@gmail.com", text)  # gmail.com's refusal, same report
            # Dovecot serves gmail.com's Maildirs too (a second POP3 server on that host), while mailsrv's
            # POP3 has a session open: Dovecot's RETR + QUIT renames the files (new/X -> cur/X:2,S).
            mail = w.path("var/gmail.com/mail/usr@gmail.com")
            chown_tree(mail, 65534, 65534)
            dv = w.path("dovecot")
            instantiate(os.path.join(PEERS, "dovecot"), dv, {"@DIR@": dv, "@VAR@": w.path("var")})
            for sub in ("index", "control", "home"):  # Dovecot's own files, written as nobody
                os.makedirs(os.path.join(dv, sub))
                os.chown(os.path.join(dv, sub), 65534, 65534)
            dovecot = w.start("dovecot", ["-F", "-c", os.path.join(dv, "dovecot.conf")], listening=0,
                              wrap=h.net.argv("gmail.com", []), program=shutil.which("dovecot") or "/usr/sbin/dovecot")
            wait_port(GMAIL_IP, 1110)
            ours = h.pop3(GMAIL_IP, 110)
            count = len(ours.list()[1])
            self.assertGreaterEqual(count, 2)
            theirs = poplib.POP3(GMAIL_IP, 1110, timeout=10)
            theirs.user("usr@gmail.com")
            theirs.pass_("pass")
            self.assertEqual(len(theirs.list()[1]), count)
            for i in range(1, count + 1):
                theirs.retr(i)
            theirs.quit()
            self.assertEqual(glob.glob(os.path.join(mail, "new", "*")), [])
            self.assertEqual(len(glob.glob(os.path.join(mail, "cur", "*:2,S"))), count)
            # mailsrv's session still reads every message and really deletes the one it deletes.
            for i in range(1, count + 1):
                self.assertIn(b"Subject: ", b"\n".join(ours.retr(i)[1]))
            ours.dele(1)
            ours.quit()
            self.assertEqual(len(glob.glob(os.path.join(mail, "cur", "*"))), count - 1)
            h.agent("usr1@mail.sustech.edu.cn", "pass1", "send", "--to", "usr@gmail.com", "--subject", "after dovecot",
                    "--body", "still delivered")
            wait_for(lambda: len(h.mailbox("usr@gmail.com", "pass")) == count, 20, "delivery after Dovecot")
            w.stop(dovecot)

            # fetchmail, unmodified, in a host's namespace: finds pop.gmail.com through fdns (or NSD) and
            # verifies its certificate against the lab CA.
            out = w.path("fetched.mbox")
            rc = w.write("fetchmailrc", f'poll pop.gmail.com service 995 protocol pop3 user "usr@gmail.com" '
                                        f'password "pass" ssl sslcertck sslcertfile "{w.path("var/ca/ca.pem")}" keep '
                                        f'mda "/bin/sh -c \'cat >> {out}\'"\n')
            os.chmod(rc, 0o600)
            r = subprocess.run(h.net.argv("exmail.qq.com", ["fetchmail", "-f", rc, "--nodetach", "--nosyslog", "-v",
                                                            "-i", w.path("fetchids"), "--all"]),
                               capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": w.dir})
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(out, "rb") as f:
                self.assertEqual(f.read().count(b"\nSubject: "), 2)
            for line in tls_hops:  # RFC 3848
                self.assertIn("with ESMTPS", line)

    def test_world_of_hosts_with_fdns(self):
        self.run_world("fdns")

    def test_world_of_hosts_with_nsd_serving_the_zone(self):
        self.run_world("nsd")


if __name__ == "__main__":
    unittest.main()
