#!/usr/bin/python3
"""Relay across hosts on their own addresses against the loopback world, and mailsrv against Postfix as
the sending MTA in the same world of hosts, in one run (docs/benchmarks.md, "Relay across hosts").

    bench/relay_hosts_bench.py [MSGS=2000] [REPS=3] [BUILD=build]

Four set-ups, started together, their runs interleaved (REPS rounds of one run each):
  loopback  mailsrv exmail.qq.com -> mailsrv gmail.com, both on 127.0.0.1 (ports from P records): the
            world of bench/relay_bench.sh;
  hosts     the same two mailsrv, each in its own network namespace, 198.18.0.10 -> 198.18.0.11:25
            (scripts/hostnet.py, the addresses of config/hosts.toml);
  mw->pf    mailsrv exmail.qq.com (198.18.0.10) -> Postfix mx.example.net (198.18.0.20), configured from
            tests/peers/postfix (docs/interop.md);
  pf->pf    Postfix out.example.org (198.18.0.21, the same files, sending only) -> the same Postfix.
Load as bench/relay_bench.sh: smtp-source, 20 sessions, a new connection per 1 KB message, into the
sending server; a run ends when the last message is in the receiving Maildir. STARTTLS on every relay
hop: mailsrv at `[tls] relay = may` (verified), both Postfix at smtp_tls_security_level = may with the
lab CA (Trusted). CPU: the sending and the receiving server's process trees.
"""
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
from hostnet import HostNet, can_make_namespaces  # noqa: E402
from peers import Postfix  # noqa: E402

MSGS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
BUILD = os.path.abspath(sys.argv[3] if len(sys.argv) > 3 else os.path.join(SOURCE, "build"))
DNS_IP, QQ_IP, GM_IP, PFB_IP, PFA_IP = "198.18.0.2", "198.18.0.10", "198.18.0.11", "198.18.0.20", "198.18.0.21"
ACCOUNTS = """[accounts."exmail.qq.com"]
"sender@mail.sustech.edu.cn" = "pw"
[accounts."gmail.com"]
"mbench@gmail.com" = "pw"
[limits]
sessions = 20000
per_peer_exempt = ["127.0.0.0/8", "198.18.0.0/24"]
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def wait_log(path, text, count, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path) and open(path, errors="replace").read().count(text) >= count:
            return
        time.sleep(0.05)
    sys.exit(f"{path}: no {count} x {text}")


class Bench:
    def __init__(self):
        self.run = tempfile.mkdtemp(prefix="mw-bench-hosts-")
        os.chmod(self.run, 0o755)
        self.procs, self.postfix = [], []
        self.net = HostNet(prefix="mwb")
        for host, ip in [("fdns", DNS_IP), ("exmail.qq.com", QQ_IP), ("gmail.com", GM_IP), ("pfb", PFB_IP),
                         ("pfa", PFA_IP)]:
            self.net.add(host, ip, DNS_IP)

    def start(self, cwd, log, argv):
        p = subprocess.Popen(["nice", "-n", "-10", *argv], cwd=cwd, stderr=open(os.path.join(cwd, log), "w"))
        self.procs.append(p)
        return p

    def loopback(self):
        d = os.path.join(self.run, "lo")
        dns, qs, gs = free_port(), free_port(), free_port()
        write(f"{d}/config.toml", f'[server]\n"exmail.qq.com" = {{ smtp = {qs}, pop = {free_port()} }}\n'
                                  f'"gmail.com" = {{ smtp = {gs}, pop = {free_port()} }}\n'
                                  f'[fdns]\nlisten = "127.0.0.1:{dns}"\n{ACCOUNTS}')
        write(f"{d}/zone.toml", f'[MX]\n"mail.sustech.edu.cn." = "mxbiz1.qq.com."\n"gmail.com." = '
                                f'"gmail-smtp-in.l.google.com."\n[P]\n"mxbiz1.qq.com." = {qs}\n'
                                f'"gmail-smtp-in.l.google.com." = {gs}\n')
        self.start(d, "fdns.log", [f"{BUILD}/apps/fdns", "-z", "zone.toml", "-c", "config.toml"])
        wait_log(f"{d}/fdns.log", "event=listening", 2)
        qq = self.start(d, "qq.log", [f"{BUILD}/apps/mailsrv", "-n", "exmail.qq.com", "-c", "config.toml"])
        gm = self.start(d, "gm.log", [f"{BUILD}/apps/mailsrv", "-n", "gmail.com", "-c", "config.toml"])
        wait_log(f"{d}/qq.log", "event=listening", 2)
        wait_log(f"{d}/gm.log", "event=listening", 2)
        return {"host": "127.0.0.1", "port": qs, "rcpt": "mbench@gmail.com", "pids": [qq.pid, gm.pid],
                "maildir": f"{d}/var/gmail.com/mail/mbench@gmail.com", "sender": "sender@mail.sustech.edu.cn"}

    def hosts(self):
        d = os.path.join(self.run, "hosts")
        cfg = (f'[fdns]\nlisten = "{DNS_IP}:53"\n[server]\n"exmail.qq.com" = {{ smtp = 25, pop = 110 }}\n'
               f'"gmail.com" = {{ smtp = 25, pop = 110 }}\n[mailsrv."exmail.qq.com"]\nlisten = "{QQ_IP}"\n'
               f'[mailsrv."gmail.com"]\nlisten = "{GM_IP}"\n{ACCOUNTS}')
        write(f"{d}/config.toml", cfg)
        shutil.copy(os.path.join(SOURCE, "fdns", "hosts.toml"), f"{d}/zone.toml")
        self.start(d, "fdns.log", self.net.argv("fdns", [f"{BUILD}/apps/fdns", "-z", "zone.toml", "-c", "config.toml"]))
        wait_log(f"{d}/fdns.log", "event=listening", 2)
        qq = self.start(d, "qq.log", self.net.argv("exmail.qq.com", [f"{BUILD}/apps/mailsrv", "-n", "exmail.qq.com",
                                                                     "-c", "config.toml"]))
        gm = self.start(d, "gm.log", self.net.argv("gmail.com", [f"{BUILD}/apps/mailsrv", "-n", "gmail.com",
                                                                 "-c", "config.toml"]))
        wait_log(f"{d}/qq.log", "event=listening", 2)
        wait_log(f"{d}/gm.log", "event=listening", 2)
        pfb = self.postfix_instance("pfb", d, [])
        pfa = self.postfix_instance("pfa", d, [f"inet_interfaces = {PFA_IP}", "myhostname = out.example.org",
                                               "mydomain = example.org", "virtual_mailbox_domains ="])
        box = f"{self.run}/pfb/mail/alice/Maildir"
        for sub in ("", "/new", "/cur", "/tmp"):
            os.makedirs(box + sub, exist_ok=True)
            os.chown(box + sub, 65534, 65534)
        common = {"sender": "sender@mail.sustech.edu.cn"}
        return [
            ("hosts", {**common, "host": QQ_IP, "port": 25, "rcpt": "mbench@gmail.com", "pids": [qq.pid, gm.pid],
                       "maildir": f"{d}/var/gmail.com/mail/mbench@gmail.com"}),
            ("mw->pf", {**common, "host": QQ_IP, "port": 25, "rcpt": "alice@example.net", "pids": [qq.pid, pfb],
                        "maildir": box}),
            ("pf->pf", {"sender": "sender@example.org", "host": PFA_IP, "port": 25, "rcpt": "alice@example.net",
                        "pids": [pfa, pfb], "maildir": box}),
        ]

    def postfix_instance(self, host, world, overrides):
        """A Postfix from tests/peers/postfix in host's namespace (scripts/peers.py); its master's PID."""
        pf = Postfix(self.net, host, os.path.join(self.run, host), os.path.join(SOURCE, "tests", "peers"))
        self.postfix.append(pf)
        return pf.start(f"{world}/var/ca", ["default_process_limit = 600", *overrides])

    def stop(self):
        for pf in self.postfix:
            pf.stop()
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        self.net.down()
        shutil.rmtree(self.run, ignore_errors=True)


def one_run(name, s):
    out = subprocess.run(["nice", "-n", "-10", sys.executable, os.path.join(HERE, "smtp_run.py"), "--name", name,
                          "--host", s["host"], "--port", str(s["port"]), "--conc", "20", "--msgs", str(MSGS),
                          "--rcpt", s["rcpt"], "--sender", s["sender"], "--maildir", s["maildir"],
                          "--pids", ",".join(map(str, s["pids"]))], capture_output=True, text=True).stdout.strip()
    print(out, flush=True)
    m = re.search(r"e2e_rate=(\S+) .*cpu_ms_per_msg=(\S+)", out)
    return (float(m.group(1)), float(m.group(2))) if m else (float("nan"), float("nan"))


def main():
    why = can_make_namespaces()
    if why:
        sys.exit(f"relay_hosts_bench: {why}")
    if not os.path.exists("/usr/sbin/smtp-source") or not shutil.which("postfix"):
        sys.exit("relay_hosts_bench: needs Debian's postfix package (smtp-source, postfix)")
    b = Bench()
    try:
        b.net.up()
        setups = [("loopback", b.loopback())] + b.hosts()
        time.sleep(2)
        results = {name: [] for name, _ in setups}
        for _ in range(REPS):
            for name, s in setups:
                results[name].append(one_run(name, s))
                time.sleep(2)
        med = {n: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)) for n, rs in results.items()}
        print(f"== medians of {REPS} runs, {MSGS} messages each, end to end, STARTTLS on every relay hop")
        for n, (rate, cpu) in med.items():
            print(f"{n:9} {rate:6.0f} msg/s  {cpu:.2f} ms CPU/msg (sender + receiver)")
        print(f"hosts/loopback: {med['hosts'][0] / med['loopback'][0]:.2f}x msg/s, "
              f"{med['hosts'][1] / med['loopback'][1]:.2f}x CPU per message")
        print(f"mailsrv->Postfix vs Postfix->Postfix: {med['mw->pf'][0] / med['pf->pf'][0]:.2f}x msg/s, "
              f"{med['pf->pf'][1] / med['mw->pf'][1]:.2f}x less CPU per message")
    finally:
        b.stop()


if __name__ == "__main__":
    main()
