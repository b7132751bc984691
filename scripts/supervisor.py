"""The world's supervisor (scripts/run-world): runs fdns and the mail servers with prefixed logs, keeps
the world running when one of them stops (and says which, and how), and serves the control socket
of `scripts/world ctl` (docs/reference.md, "World control"). Python 3 standard library only.

Threads: the main thread watches the programs (Supervisor.run); one reader thread per running
program prefixes its log lines and notes the events the supervisor needs; one thread per control
connection runs its command, one command at a time (Supervisor.lock)."""
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import tomllib

SOCKET_NAME = "world.ctl"
START_WAIT = 10.0  # seconds a program gets to listen on every port
STOP_WAIT = 2.5    # servers exit within 2 s of SIGTERM (docs/reference.md); then SIGKILL
FAULT_WAIT = 5.0   # seconds a command waits for event=faults_loaded / faults_rejected after SIGHUP


def load_config(path):
    with open(path, "rb") as f:
        return json.load(f) if path.endswith(".json") else tomllib.load(f)


def control_socket(cfg, root):
    """Where a world run in folder `root` on config `cfg` listens for ctl commands."""
    return os.path.join(root, cfg.get("paths", {}).get("var", "var"), SOCKET_NAME)


def describe_exit(returncode):
    """`exited with status N` or `killed by signal N (SIGNAME)`, from a Popen return code."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown"
        return f"killed by signal {-returncode} ({name})"
    return f"exited with status {returncode}"


def kv(key, value):
    """A key=value pair quoted as the programs' log lines quote theirs."""
    value = str(value)
    return f'{key}="{value}"' if re.search(r'[\s"=]', value) or not value else f"{key}={value}"


def log_value(line, key):
    """The value of `key` in one key=value log line, or None."""
    m = re.search(rf'(?:^|\s){key}=("(?:[^"\\]|\\.)*"|\S+)', line)
    if not m:
        return None
    v = m.group(1)
    return v[1:-1].replace('\\"', '"').replace("\\\\", "\\") if v.startswith('"') else v


def toml_value(v):
    """One value of a fault rule as TOML (strings via JSON escapes, which TOML basic strings share)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise ValueError(f"cannot write {v!r} in a fault file")


def toml_key(k):
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def parse_faults(text, is_json):
    """The document of a fault file; raises ValueError with the parser's reason (line and column)."""
    try:
        doc = json.loads(text) if is_json else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise ValueError(str(e)) from None
    if not isinstance(doc, dict):
        raise ValueError("not a table of rules")
    rules = doc.get("rule", [])
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise ValueError("rule: expected a list of tables ([[rule]])")
    return doc


def compose_faults(text, is_json, pause):
    """The fault file a program runs with: `pause` rules first, then the installed file's. An
    installed TOML file without pause rules is written as it came, so the program's error lines name
    the lines the user wrote."""
    if not pause and not is_json:
        return text
    doc = parse_faults(text, is_json)
    rules = pause + list(doc.get("rule", []))
    out = [f"{toml_key(k)} = {toml_value(v)}\n" for k, v in doc.items() if k != "rule"]
    for rule in rules:
        out.append("\n[[rule]]\n" + "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in rule.items()))
    return "".join(out)


class Program:
    """One program of the world: how to start it, its ports, its fault file, its current process."""

    def __init__(self, name, argv, listeners, ports, pause_rules, faults_path, data=None):
        self.name, self.argv, self.listeners, self.ports = name, argv, listeners, ports
        self.pause_rules = pause_rules  # the rules `pause` puts first
        self.faults_path = faults_path  # RUNDIR/NAME.faults.toml
        self.faults = ("", False, None)  # the installed rules: (text, is_json, file name shown)
        self.paused = False
        self.default_data = self.data = data  # the data folder: as logged in event=started
        self.popen = None
        self.initial = True     # the world's first start of it: an early exit stops the world
        self.ctl_stop = False   # this exit was asked for by `ctl stop`
        self.reported = False   # its exit has been said
        self.cond = threading.Condition()
        self.listening = 0
        self.fault_events = []  # event=faults_loaded / faults_rejected lines since its start
        self.reader = None
        self.note = None  # said with its PID when the world starts it (run-hosts: its address)
        self.announce = None  # said once it listens at the world's start (the view: its address)

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def ready(self):
        with self.cond:
            return self.listening >= self.listeners

    def write_faults(self):
        if self.faults_path is None:
            return  # a program without fault rules (the web view)
        text, is_json, _ = self.faults
        tmp = self.faults_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(compose_faults(text, is_json, self.pause_rules if self.paused else []))
        os.replace(tmp, self.faults_path)  # never half a file for a SIGHUP to read

    def queue_depth(self):
        """Relay entries waiting in its data folder (queue/<id>.json), or None (no such folder)."""
        q = os.path.join(self.data, "queue") if self.data else None
        try:
            return sum(1 for f in os.listdir(q) if f.endswith(".json"))
        except (OSError, TypeError):
            return None

    def status(self):
        state = ("paused" if self.paused else "running") if self.running() else "stopped"
        parts = [self.name, f"state={state}", f"pid={self.popen.pid if self.popen else '-'}", self.ports]
        if self.default_data is not None:
            depth = self.queue_depth()
            parts.append(f"queue={'-' if depth is None else depth}")
        if state == "stopped":
            if self.paused:
                parts.append("paused=yes")
            if self.popen is not None:
                parts.append(kv("exit", describe_exit(self.popen.returncode)))
        return " ".join(parts)


PAUSE_DNS = [{"name": "pause", "when": "dns query", "do": "servfail"}]


def pause_mail(name):
    return [{"name": "pause-smtp", "when": "smtp connect", "do": f"reply 421 4.3.2 {name} paused, try again later"},
            {"name": "pause-pop3", "when": "pop3 connect", "do": f"reply -ERR [SYS/TEMP] {name} paused, try again later"}]


def view_program(build, config, zone, events, listen, control=None):
    """The web view (apps/mailview, docs/view.md) on `listen` (IP:PORT): it binds the event socket
    `events` that every server then writes to, so it starts first; `control`: the world's control
    socket, for its POST actions."""
    addr, port = listen.rsplit(":", 1)
    argv = [f"{build}/apps/mailview/mailview", "-c", config, "-z", zone, "--events", events, "--listen", addr,
            "--port", port] + (["--control", control] if control else [])
    prog = Program("view", argv, 1, f"addr={addr} ports=http:{port}", [], None)
    prog.announce = f"open http://{listen}/ (the web view: hosts, mailboxes, queues, every exchange)"
    return prog


def world_programs(cfg, build, config, zone, rundir, ephemeral=False, wrap=lambda host, argv: argv, events=None):
    """fdns, then a mailsrv per [server] entry, each with its ports and its copy of its fault file;
    `wrap(host, argv)` runs it elsewhere (scripts/run-hosts: in its network namespace); `events`: the
    web view's event socket, passed to each as --events."""
    var = cfg.get("paths", {}).get("var", "var")
    listen = cfg.get("fdns", {}).get("listen", "127.0.0.1:10053")
    feed = ["--events", events] if events else []
    out = [(Program("fdns", wrap("fdns", [f"{build}/apps/fdns", "-z", zone, "-c", config] + feed), 2,
                    f"addr={listen.rsplit(':', 1)[0]} ports=dns:{listen.rsplit(':', 1)[1]}", PAUSE_DNS,
                    os.path.join(rundir, "fdns.faults.toml")),
            cfg.get("fdns", {}).get("faults"))]
    for name, entry in cfg.get("server", {}).items():
        table = cfg.get("mailsrv", {}).get(name, {})
        ports = [("smtp", entry.get("smtp")), ("pop3", entry.get("pop"))]
        ports += [(k, table[k]) for k in ("smtps", "pop3s", "submission") if table.get(k)]
        argv = [f"{build}/apps/mailsrv", "-n", name, "-c", config] + (["--ephemeral"] if ephemeral else []) + feed
        out.append((Program(name, wrap(name, argv), len(ports),
                            f"addr={table.get('listen', '127.0.0.1')} ports=" + ",".join(f"{k}:{v}" for k, v in ports),
                            pause_mail(name), os.path.join(rundir, f"{name}.faults.toml"),
                            data=os.path.join(var, name)),
                    table.get("faults")))
    for prog, faults in out:
        if faults:  # the configured rules are where its own copy starts
            with open(faults, encoding="utf-8") as f:
                prog.faults = (f.read(), faults.endswith(".json"), faults)
            try:
                compose_faults(*prog.faults[:2], [])  # JSON is written as TOML: it must parse here
            except ValueError as e:
                raise ValueError(f"{faults}: {e}") from None
    return [prog for prog, _ in out]


class Supervisor:
    def __init__(self, tag, programs, rundir, socket_path, wait_first=(), on_up=None):
        self.tag = tag  # "run-world": the prefix of the supervisor's own lines
        self.wait_first = set(wait_first)  # programs that must listen before the next one starts
        self.on_up = on_up  # called once every program listens
        self.programs = {p.name: p for p in programs}
        self.order = programs
        self.rundir, self.socket_path = rundir, socket_path
        self.out_lock = threading.Lock()
        self.lock = threading.Lock()  # one control command at a time
        self.report_lock = threading.Lock()
        self.spawn_lock = threading.Lock()
        self.closed = False  # set once the world stops: no program is started any more
        self.stopping = threading.Event()
        self.listener = None

    # ---- output ----------------------------------------------------------------------------------
    def say(self, text):
        self.write(f"{self.tag}: {text}\n".encode())

    def write(self, data):
        with self.out_lock:
            try:
                sys.stderr.buffer.write(data)
                sys.stderr.buffer.flush()
            except (BrokenPipeError, ValueError):
                pass  # nobody reads our output any more; the programs run on

    def read_log(self, prog, stream):
        prefix = f"[{prog.name}] ".encode()
        for raw in iter(stream.readline, b""):
            self.write(prefix + raw if raw.endswith(b"\n") else prefix + raw + b"\n")
            line = raw.decode(errors="replace")
            # The event field, not a substring: a client can put "event=listening" into a logged value
            # (a sender address), and the program's own event comes before every such value.
            event = log_value(line, "event")
            if event not in ("listening", "started", "faults_loaded", "faults_rejected"):
                continue
            with prog.cond:
                if event == "listening":
                    prog.listening += 1
                elif event == "started" and log_value(line, "data"):
                    prog.data = log_value(line, "data")
                elif event in ("faults_loaded", "faults_rejected"):
                    prog.fault_events.append(line.strip())
                prog.cond.notify_all()
        stream.close()

    # ---- one program -----------------------------------------------------------------------------
    def start(self, prog):
        argv = prog.argv + (["--faults", prog.faults_path] if prog.faults_path else [])
        prog.write_faults()
        with prog.cond:
            prog.listening, prog.fault_events, prog.data = 0, [], prog.default_data
        prog.ctl_stop = prog.reported = False
        with self.spawn_lock:  # a `ctl start` racing the world's stop would leave an orphan
            if self.closed:
                raise OSError("the world is stopping")
            prog.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        prog.reader = threading.Thread(target=self.read_log, args=(prog, prog.popen.stderr), daemon=True)
        prog.reader.start()

    def report(self, prog, suffix=""):
        """Says once that `prog` exited, and how."""
        with self.report_lock:
            if prog.popen is None or prog.popen.poll() is None or prog.reported:
                return
            prog.reported = True
        self.say(f"{prog.name} {describe_exit(prog.popen.returncode)}{' (ctl stop)' if prog.ctl_stop else ''}{suffix}")

    def terminate(self, progs):
        """SIGTERM to each by PID, SIGKILL to those still alive after STOP_WAIT; their last lines pass."""
        alive = [p for p in progs if p.running()]
        for p in alive:
            p.popen.terminate()
        deadline = time.monotonic() + STOP_WAIT
        for p in alive:
            try:
                p.popen.wait(max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()
        for p in alive:
            p.reader.join(0.5)

    def wait_listening(self, prog, timeout):
        deadline = time.monotonic() + timeout
        with prog.cond:
            while prog.listening < prog.listeners and prog.popen.poll() is None:
                if not prog.cond.wait(max(0, min(0.1, deadline - time.monotonic()))) and time.monotonic() > deadline:
                    break
            return prog.listening >= prog.listeners

    def reload_faults(self, prog):
        """SIGHUP, then the program's answer: (True, loaded line) or (False, reason)."""
        with prog.cond:
            seen = len(prog.fault_events)
        prog.popen.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + FAULT_WAIT
        with prog.cond:
            while len(prog.fault_events) == seen:
                if prog.popen.poll() is not None:
                    return False, f"{prog.name} {describe_exit(prog.popen.returncode)}"
                left = deadline - time.monotonic()
                if left <= 0:
                    return False, f"{prog.name}: no event=faults_loaded or faults_rejected within {FAULT_WAIT:g} s"
                prog.cond.wait(min(left, 0.1))
            line = prog.fault_events[seen]
        return log_value(line, "event") == "faults_loaded", line

    # ---- the world -------------------------------------------------------------------------------
    def run(self):
        """Starts every program and runs until SIGINT/SIGTERM (0) or an exit while starting (1)."""
        # SIGHUP too (the terminal closed): the programs themselves take theirs as "reload the faults".
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda *_: self.stopping.set())
        status = 0
        try:
            for prog in self.order:
                try:
                    self.start(prog)
                except (OSError, ValueError) as e:
                    self.say(f"{prog.name}: {e}; stopping the others")
                    return 1
                if prog.note:
                    self.say(f"{prog.name} {prog.note} pid {prog.popen.pid}")
                if prog.name in self.wait_first and not self.wait_listening(prog, START_WAIT):
                    if prog.popen.poll() is not None:
                        prog.reader.join(1)  # its last lines (why it failed) come first
                        self.report(prog, "; stopping the others")
                    else:
                        self.say(f"{prog.name} did not listen within {START_WAIT:g} s (its log lines above say "
                                 "why); stopping the others")
                    return 1
                if prog.announce and prog.name in self.wait_first:
                    self.say(prog.announce)
            self.open_socket()
            starting_until, up = time.monotonic() + START_WAIT, False
            while not self.stopping.is_set():
                ready = all(p.ready() for p in self.order)
                if ready and not up and self.on_up:
                    self.on_up()
                up = up or ready
                starting = time.monotonic() < starting_until and not ready
                for prog in self.order:
                    if prog.popen.poll() is None or prog.reported or self.stopping.is_set():
                        continue  # (Ctrl-C reaches the programs too: their exits then are the world's stop)
                    if prog.initial and not prog.ready() and starting and not prog.ctl_stop:
                        # A bad config or a busy port: the world stops at once, so a typo fails fast.
                        self.report(prog, "; stopping the others")
                        status = 1
                        self.stopping.set()
                        break
                    self.report(prog)
                if not starting:
                    for prog in self.order:
                        prog.initial = False
                self.stopping.wait(0.1)
        finally:
            with self.spawn_lock:
                self.closed = True
            self.close_socket()
            self.terminate(self.order)
            shutil.rmtree(self.rundir, ignore_errors=True)
        return status

    # ---- the control socket ----------------------------------------------------------------------
    def open_socket(self):
        path = self.socket_path
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(1)
                probe.connect(path)
            self.say(f"{path}: another world answers there; this one has no control socket")
            return
        except OSError:
            pass  # none, one left by a supervisor that was killed, or not a socket: bind says which
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o077)  # only this user may steer the world
        try:
            if os.path.exists(path) and stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)
            listener.bind(path)
            listener.listen(16)
        except OSError as e:  # a path too long for a socket, a read-only folder: the world runs on
            listener.close()
            self.say(f"{path}: {e.strerror or e}; this world has no control socket")
            return
        finally:
            os.umask(old)
        self.listener, self.socket_ino = listener, os.stat(path).st_ino
        threading.Thread(target=self.serve, daemon=True).start()
        self.say(f"control socket {path} (scripts/world ctl status)")

    def close_socket(self):
        if self.listener is None:
            return
        try:
            if os.stat(self.socket_path).st_ino == self.socket_ino:
                os.unlink(self.socket_path)
        except OSError:
            pass
        self.listener.close()

    def serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed: the world stops
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn):
        from worldctl import Command  # the commands, kept apart from the process handling
        with conn:
            try:
                conn.settimeout(5)
                data = b""
                while not data.endswith(b"\n") and len(data) < 1 << 20:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                request = json.loads(data)
                lines, code = Command(self, request).run()
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                lines, code = [f"failed: bad request: {e!r}"], 2
            try:
                conn.sendall("".join(l + "\n" for l in lines).encode() + f"exit={code}\n".encode())
            except OSError:
                pass

