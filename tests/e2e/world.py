"""End-to-end helper shared by every e2e test: free ports, a world's config and zone written with
them, programs started and awaited (their `event=listening` lines), stopped by PID.

    with World() as w:
        port = w.free_port(udp=True)
        zone = w.write("fdns.toml", "...")
        fdns = w.start("fdns", ["-z", zone, "-l", f"127.0.0.1:{port}"], listening=2)
        ...
        assert w.stop(fdns) == 0

Binaries come from $MW_BUILD (the CMake build folder), the sources from $MW_SOURCE.
"""
import email
import os
import re
import poplib
import select
import shutil
import smtplib
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SOURCE = os.environ.get("MW_SOURCE", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("MW_BUILD", os.path.join(SOURCE, "build"))
APPS = {"fdns": "apps/fdns", "mailsrv": "apps/mailsrv", "agent": "apps/agent", "mw-resolve": "tests/mw-resolve",
        "mailview": "apps/mailview/mailview"}


def binary(name):
    """Path of a program built by CMake."""
    path = os.path.join(BUILD, APPS.get(name, name))
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not built (MW_BUILD={BUILD})")
    return path


def sanitized():
    """True for a build with AddressSanitizer (MAIL_SANITIZE, scripts/test's second pass): its quarantine
    and shadow memory make a process's RSS say nothing about what the code holds, so memory bounds are
    checked by the plain build's run of the same tests."""
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            return "MAIL_SANITIZE:BOOL=ON" in f.read()
    except OSError:
        return False


_GIVEN_PORTS = set()


def free_port(udp=False):
    """A port that is free for TCP (and UDP too when asked) on 127.0.0.1 right now, and not handed out
    before by this process: the kernel may offer a port it just freed again, so two free_port() calls
    for one config could otherwise return the same port before either is bound."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            if port in _GIVEN_PORTS:
                continue
            if udp:
                try:
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                        u.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _GIVEN_PORTS.add(port)
            return port
    raise RuntimeError("no free port")


class Proc:
    """A started program: its Popen, and its stderr lines as they arrive (also kept in a log file)."""

    def __init__(self, name, popen, log_path):
        self.name = name
        self.popen = popen
        self.pid = popen.pid
        self.log_path = log_path
        self.lines = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        # Each chunk is read and split into lines under the lock, so log() can tell "everything the
        # program wrote is in self.lines" from an empty pipe alone (see log()).
        fd = self.popen.stderr.fileno()
        partial = b""
        with open(self.log_path, "w", encoding="utf-8", errors="replace") as log:
            while True:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    continue
                with self._cond:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    *whole, partial = (partial + chunk).split(b"\n")
                    for raw in whole:
                        line = raw.decode("utf-8", "replace")
                        log.write(line + "\n")
                        self.lines.append(line)
                    log.flush()
                    self._cond.notify_all()
            with self._cond:
                if partial:
                    line = partial.decode("utf-8", "replace")
                    log.write(line + "\n")
                    self.lines.append(line)
                self.popen.stderr.close()
                self._cond.notify_all()

    def wait_for(self, text, count=1, timeout=10.0):
        """Waits until `count` stderr lines contain `text`; raises with the log when it does not come."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while sum(text in line for line in self.lines) < count:
                left = deadline - time.monotonic()
                if left <= 0 or (self.popen.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"{self.name}: no {count} x '{text}' within {timeout}s "
                                         f"(exit={self.popen.poll()}); log:\n" + "\n".join(self.lines))
                self._cond.wait(min(left, 0.1))

    def log(self):
        """Every line the program has written so far: a line written before a reply the test has
        already read is in it (the reader may still have it in the pipe; give it up to 2 s)."""
        deadline = time.monotonic() + 2
        with self._cond:
            while self._reader.is_alive() and time.monotonic() < deadline:
                try:
                    ready, _, _ = select.select([self.popen.stderr.fileno()], [], [], 0)
                except (ValueError, OSError):
                    break  # closed: the reader is done
                if not ready:
                    break
                self._cond.wait(0.01)
            return "\n".join(self.lines)

    def alive(self):
        return self.popen.poll() is None


class World:
    """A temporary folder for one test's files and the programs it started; stops them all at exit."""

    def __init__(self, keep=False):
        self.dir = tempfile.mkdtemp(prefix="mw-e2e-")
        self.keep = keep or os.environ.get("MW_KEEP") == "1"
        self.procs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def write(self, rel, text):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        return p

    free_port = staticmethod(free_port)

    def start(self, name, args, listening=1, timeout=10.0, cwd=None, stdin=subprocess.DEVNULL, preexec_fn=None,
              wrap=(), program=None):
        """Starts a built program and waits for `listening` lines with event=listening. `preexec_fn`
        runs in the child before exec (e.g. resource.setrlimit); `wrap` goes before the program's path
        (`ip netns exec NS`); `program` runs that path instead of a built one (nsd)."""
        log_path = self.path(f"{name}-{len(self.procs)}.log")
        with open(self.path(f"{name}-{len(self.procs)}.out"), "wb") as out:
            argv = [*wrap, program or binary(name), *args]
            popen = subprocess.Popen(argv, cwd=cwd or self.dir, stdin=stdin,
                                     stdout=out, stderr=subprocess.PIPE, preexec_fn=preexec_fn)
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        if listening:
            proc.wait_for("event=listening", listening, timeout)
        return proc

    def run(self, name, args, timeout=30, input=None, cwd=None):
        """Runs a built program to its end: CompletedProcess with text stdout/stderr."""
        return subprocess.run([binary(name)] + list(args), cwd=cwd or self.dir, input=input, capture_output=True,
                              text=True, timeout=timeout)

    def stop(self, proc, sig=signal.SIGTERM, timeout=5.0):
        """Sends `sig` to the program's PID and returns its exit status (kills it if it does not exit)."""
        if proc.popen.poll() is None:
            proc.popen.send_signal(sig)
            try:
                proc.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()
                raise AssertionError(f"{proc.name} (pid {proc.pid}) did not exit within {timeout}s of {sig!r}")
        proc._reader.join(2)
        if proc.popen.returncode and proc.popen.returncode < 0 and sig != signal.SIGKILL:
            # Died of a signal of its own (an abort, a sanitizer report): show why, for CI logs.
            print(f"--- {proc.name} (pid {proc.pid}) exited with {proc.popen.returncode}; last log lines:\n" +
                  "\n".join(proc.lines[-40:]), file=sys.stderr)
        return proc.popen.returncode

    def stop_all(self):
        for p in self.procs:
            if p.popen.poll() is None:
                p.popen.kill()
                p.popen.wait()
        self.procs = []


def fdns_zone(mx=None, p=None, a=None, ttl=None):
    """Writes a zone in the fdns.toml format from dicts: mx={domain: host or [(pref, host)]}."""
    out = []
    if ttl is not None:
        out.append(f"ttl = {ttl}")
    if mx:
        out.append("[MX]")
        for dom, host in mx.items():
            if isinstance(host, str):
                out.append(f'"{dom}" = "{host}"')
            else:
                items = ", ".join(f'{{ pref = {pref}, host = "{h}" }}' for pref, h in host)
                out.append(f'"{dom}" = [ {items} ]')
    if p:
        out.append("[P]")
        out += [f'"{h}" = {port}' for h, port in p.items()]
    if a:
        out.append("[A]")
        out += [f'"{h}" = "{ip}"' for h, ip in a.items()]
    return "\n".join(out) + "\n"


def world_config(servers, accounts=None, agent=None, extra=""):
    """config.toml text: servers={name: (smtp_port, pop_port)}, accounts={name: {address: password}}."""
    out = []
    if agent:
        out.append("[agent]")
        out += [f'"{d}" = {{ smtp = "{s}", pop = "{p}" }}' for d, (s, p) in agent.items()]
    out.append("[server]")
    out += [f'"{n}" = {{ smtp = {s}, pop = {p} }}' for n, (s, p) in servers.items()]
    for name, accs in (accounts or {}).items():
        out.append(f'[accounts."{name}"]')
        out += [f'"{a}" = "{pw}"' for a, pw in accs.items()]
    return "\n".join(out) + "\n" + extra


def chown_tree(path, uid, gid):
    """Gives a folder and everything in it to uid:gid (a Maildir handed to Dovecot's mail user)."""
    for top, _, files in os.walk(path):
        for p in [top] + [os.path.join(top, f) for f in files]:
            os.chown(p, uid, gid)


def maildir_order(name):
    """The order POP3 lists Maildir messages in (lib/store/maildrop.cpp): by the seconds and microseconds
    of the name `SECS.MUSECSP...`, then by name. Plain string order is wrong when the microseconds
    change their number of digits within a second (M99999 after M100000)."""
    m = re.match(r"(\d+)\.M(\d+)", name)
    return (int(m.group(1)), int(m.group(2)), name) if m else (float("inf"), 0, name)


def maildir_files(data, address, sub="new"):
    """The paths of the messages in an account's Maildir folder, in POP3's order."""
    d = os.path.join(data, "mail", address, sub)
    return sorted((os.path.join(d, f) for f in os.listdir(d)), key=lambda p: maildir_order(os.path.basename(p))) \
        if os.path.isdir(d) else []


class Smtp:
    """A raw SMTP client for telnet-style tests: exact bytes out, reply lines in."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; pending: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def reply(self):
        """One whole (possibly multi-line) reply: (code, [texts])."""
        texts = []
        while True:
            l = self.line()
            texts.append(l[4:])
            if len(l) < 4 or l[3] != "-":
                return int(l[:3]), texts

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self):
        try:
            return self.sock.recv(1) == b""
        except OSError:
            return True

    def close(self):
        self.sock.close()


def start_view(w, config, zone=None, events=None, control=None):
    """Starts mailview (docs/view.md) on a free port, receiving events on `events` (default: events.sock in
    the test's folder); returns its Proc with .port, .url and .events."""
    events = events or w.path("events.sock")
    port = w.free_port()
    args = ["-c", config, "--events", events, "--port", str(port)] + (["-z", zone] if zone else []) + \
        (["--control", control] if control else [])
    proc = w.start("mailview", args)
    proc.port, proc.url, proc.events = port, f"http://127.0.0.1:{port}", events
    return proc


# ---- the course's world: fdns + exmail.qq.com + gmail.com ---------------------------------------------

QQ, GM = "exmail.qq.com", "gmail.com"
ACCOUNTS = {QQ: {"usr1@mail.sustech.edu.cn": "pass1", "usr2@mail.sustech.edu.cn": "pass2"}, GM: {"usr@gmail.com": "pass"}}


def wait_for(check, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = check()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class CourseWorld:
    """fdns + both servers, with the course's config and zone on free ports."""

    def __init__(self, w, resolver="dns", queue="[queue]\nretry_first = 1\nretry_max = 2\n", events=None, view=False):
        """events: a datagram socket path given to fdns and every mailsrv as --events (the event feed).
        view: start mailview (docs/view.md) first, on its own socket, and give that to the servers."""
        self.w = w
        self.events = ["--events", events] if events else []
        self.dns = w.free_port(udp=True)
        self.ports = {QQ: (w.free_port(), w.free_port()), GM: (w.free_port(), w.free_port())}
        agent = {"mail.sustech.edu.cn": ("smtp.exmail.qq.com", "pop.exmail.qq.com"), "gmail.com": ("smtp.gmail.com", "pop.gmail.com")}
        # [view] listen: the web view scripts/run-world starts on this config (a free port, like every other)
        self.view_port = w.free_port()
        extra = (f'[fdns]\nlisten = "127.0.0.1:{self.dns}"\n[view]\nlisten = "127.0.0.1:{self.view_port}"\n'
                 f'[paths]\nvar = "{w.path("var")}"\n' + queue)
        self.cfg = w.write("config/config.toml", world_config(self.ports, ACCOUNTS, agent, extra))
        self.zone = w.write("fdns/fdns.toml", fdns_zone(
            ttl=1,
            mx={"mail.sustech.edu.cn.": "mxbiz1.qq.com.", "gmail.com.": "gmail-smtp-in.l.google.com."},
            p={"smtp.exmail.qq.com.": self.ports[QQ][0], "smtp.gmail.com.": self.ports[GM][0],
               "pop.exmail.qq.com.": self.ports[QQ][1], "pop.gmail.com.": self.ports[GM][1],
               "mxbiz1.qq.com.": self.ports[QQ][0], "gmail-smtp-in.l.google.com.": self.ports[GM][0]}))
        self.resolver = ["--zone", self.zone] if resolver == "zone" else []
        self.procs = {}
        self.view = start_view(w, self.cfg, self.zone, events) if view else None
        if view:
            self.events = ["--events", self.view.events]
        if resolver == "dns":
            self.procs["fdns"] = w.start("fdns", self.events, listening=2)

    def start(self, name):
        self.procs[name] = self.w.start("mailsrv", ["-n", name, *self.resolver, *self.events], listening=2)
        return self.procs[name]

    def stop(self, name, sig=signal.SIGTERM):
        return self.w.stop(self.procs.pop(name), sig)

    def send(self, sender, rcpts, msg, via=QQ):
        with smtplib.SMTP("127.0.0.1", self.ports[via][0], timeout=10) as s:
            return s.sendmail(sender, rcpts, msg)

    def pop(self, user, password, server):
        p = poplib.POP3("127.0.0.1", self.ports[server][1], timeout=10)
        p.user(user)
        p.pass_(password)
        return p

    def messages(self, user, password, server):
        """Every message in the maildrop, parsed (and left there)."""
        p = self.pop(user, password, server)
        try:
            return [email.message_from_bytes(b"\r\n".join(p.retr(i + 1)[1])) for i in range(p.stat()[0])]
        finally:
            p.quit()

    def queue_files(self, name):
        q = self.w.path(f"var/{name}/queue")
        return sorted(f for f in os.listdir(q) if f.endswith((".eml", ".json"))) if os.path.isdir(q) else []


