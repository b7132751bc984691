"""Real peers for a world of hosts, from the files of tests/peers/ (docs/interop.md): one place that
copies them, issues a lab-CA certificate and runs a Postfix instance in a host's namespace. Used by
tests/e2e/test_hosts.py and bench/relay_hosts_bench.py.

    pf = Postfix(net, "postfix", "/tmp/x/postfix", peers_dir)   # net: a hostnet.HostNet that is up
    pf.start(ca_dir, overrides=["myhostname = out.example.org"])  # returns the master's PID
    pf.stop()
"""
import os
import shutil
import subprocess
import time


def instantiate(src_dir, dest_dir, values):
    """Copies a tests/peers/ folder, replacing each placeholder of `values` ({"@DIR@": ...})."""
    os.makedirs(dest_dir, exist_ok=True)
    for name in os.listdir(src_dir):
        with open(os.path.join(src_dir, name)) as f:
            text = f.read()
        for key, value in values.items():
            text = text.replace(key, value)
        with open(os.path.join(dest_dir, name), "w") as f:
            f.write(text)


def lab_certificate(ca_dir, host, out_dir, serial_dir):
    """`out_dir`/HOST.key and HOST.pem for DNS:HOST, issued by the lab CA in `ca_dir` (the openssl
    commands of docs/interop.md); `serial_dir` keeps the CA's serial file."""
    key, csr, pem = (os.path.join(out_dir, host + x) for x in (".key", ".csr", ".pem"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-subj",
                    f"/CN={host}", "-addext", f"subjectAltName=DNS:{host}", "-out", csr],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(ca_dir, "ca.pem"), "-CAkey",
                    os.path.join(ca_dir, "ca.key"), "-CAcreateserial", "-CAserial",
                    os.path.join(serial_dir, "ca.srl"), "-days", "30", "-copy_extensions", "copy", "-out", pem],
                   check=True, capture_output=True)


def gone(pid):
    """Whether the process has ended (a zombie nobody reaps counts: PID 1 may not be an init)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return True


class Postfix:
    """tests/peers/postfix in `folder` (etc/, spool/, data/, mail/, postfix.log), run in `host`'s namespace."""

    def __init__(self, net, host, folder, peers_dir):
        self.net, self.host, self.dir = net, host, folder
        self.etc = os.path.join(folder, "etc")
        self.peers = os.path.join(peers_dir, "postfix")
        self.pid = None
        self.tried = False

    def start(self, ca_dir, overrides=(), timeout=10):
        """Sets the instance up (the steps of docs/interop.md) and starts it; returns the master's PID.
        Raises RuntimeError with Postfix's log when it does not start."""
        instantiate(self.peers, self.etc, {"@DIR@": self.dir})
        for sub, owner, group in [("spool", None, None), ("data", "postfix", "postfix"), ("mail", "nobody", "nogroup")]:
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
            if owner:
                shutil.chown(os.path.join(self.dir, sub), owner, group)
        shutil.copy(os.path.join(ca_dir, "ca.pem"), self.etc)
        lab_certificate(ca_dir, "mx.example.net", self.etc, self.dir)  # the name main.cf's files carry
        if overrides:
            subprocess.run(["postconf", "-c", self.etc, "-e", *overrides], check=True, capture_output=True)
        self.tried = True
        r = subprocess.run(self.net.argv(self.host, ["postfix", "-c", self.etc, "start"]),
                           capture_output=True, text=True)
        pidfile = os.path.join(self.dir, "spool", "pid", "master.pid")
        deadline = time.monotonic() + timeout
        while r.returncode == 0 and time.monotonic() < deadline:
            if os.path.exists(pidfile):
                with open(pidfile) as f:
                    text = f.read().split()
                if text:
                    self.pid = int(text[0])
                    return self.pid
            time.sleep(0.1)
        raise RuntimeError(f"postfix in {self.host} did not start: {r.stdout}{r.stderr}{self.log()}")

    def stop(self, timeout=10):
        """`postfix stop` and a wait for the master; what is left dies with the namespace (HostNet.down)."""
        if not self.tried:
            return
        self.tried = False
        subprocess.run(self.net.argv(self.host, ["postfix", "-c", self.etc, "stop"]), capture_output=True)
        deadline = time.monotonic() + timeout
        while self.pid and not gone(self.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.pid = None

    def log(self):
        try:
            with open(os.path.join(self.dir, "postfix.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""
