#!/usr/bin/python3
"""world_traffic.py: runs a world (bench/world_gen.py's, or any scripts/run-world config) under a mix of
mail traffic and reports what it cost: delivery latency, queue depths, memory and CPU of the servers.

    bench/world_traffic.py DIR [--messages 3000] [--rate 100] [--concurrency 20] [--down NAME|auto|none]
                           [--mix local=0.35,remote=0.5,unknown=0.1,badlocal=0.05] [--timeout 120] [-b build]

DIR holds config.toml and fdns.toml. The script binds an event socket, starts `scripts/run-world -c
DIR/config.toml -z DIR/fdns.toml --events SOCK` (no view), waits until every SMTP and POP3 port answers,
then sends MESSAGES messages at RATE per second over at most CONCURRENCY SMTP sessions at a time (one
message per session, no AUTH: a local sender, as the course's clients do), each from a random account:
  local     to an account of the sender's own server (stored at once)
  remote    to an account of another server (relayed through fdns)
  unknown   to a user that does not exist at another server's domain (refused there: a bounce comes back)
  badlocal  to a user that does not exist at the sender's own server (550 at RCPT, nothing to wait for)
With --down (default `auto`: the server holding the most accounts' domains... the second server), that
server is stopped through the world control (`scripts/world ctl stop`) after a fifth of the messages and
started again after half of them; mail for it waits in the other servers' queues meanwhile.
Each message has its own Message-ID; the servers' events (docs/reference.md, "Event feed") say when it
reached its recipient's Maildir (`message` with `local=1` on the recipient's server) or when its bounce
came back (`bounced`), by the events' own timestamps. Until every message is accounted for (or TIMEOUT
seconds after the last one is sent) it samples each second the queue depth of every server
(`<var>/<name>/queue/*.json`) and the memory (PSS) and CPU time of every server process.
Prints one line of key=value per category and a summary (bench/tsv.py kind `scale_world` when
BENCH_TSV_DIR is set); stops the world (SIGTERM to run-world, by PID) before it exits. Exit 1 when a message
was not accounted for (lost)."""
import argparse
import asyncio
import datetime
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tsv  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from supervisor import log_value  # noqa: E402


# The keys the accounting reads from an event line (quoted as the log quotes them: supervisor.log_value).
KEYS = ("ts", "prog", "event", "lines", "result", "local", "msgid", "id")


def parse_event(line):
    return {k: v for k in KEYS if (v := log_value(line, k)) is not None}


def ts_of(ev):
    return datetime.datetime.strptime(ev["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class Tracker:
    """What the events say about each message sent: msgid -> delivery (or bounce) time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}        # msgid -> (category, t_sent, recipient server)
        self.done = {}        # msgid -> t_done
        self.queue_ids = {}   # (prog, queue id) -> msgid
        self.dropped = 0
        self.events = 0

    def on_line(self, line):
        if not any(k in line for k in (" event=message ", " event=queued ", " event=bounced ", " event=dropped ")):
            return  # the session lines: most of the feed, none of the accounting
        ev = parse_event(line)
        kind = ev.get("event")
        self.events += 1
        if kind == "dropped":
            self.dropped += int(ev.get("lines", "0"))
        elif kind == "message" and ev.get("result") == "stored" and ev.get("local", "0") != "0":
            self.finish(ev.get("msgid", ""), ev)
        elif kind == "queued":
            with self.lock:
                self.queue_ids[(ev.get("prog"), ev.get("id"))] = ev.get("msgid", "")
        elif kind == "bounced":
            with self.lock:
                msgid = self.queue_ids.get((ev.get("prog"), ev.get("id")))
            if msgid:
                self.finish(msgid, ev)

    def finish(self, msgid, ev):
        with self.lock:
            if msgid in self.sent and msgid not in self.done:
                self.done[msgid] = ts_of(ev)


def receive(sock, tracker, stop):
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            data = sock.recv(1 << 17)
        except socket.timeout:
            continue
        except OSError:
            return
        for line in data.decode("utf-8", "replace").splitlines():
            if line:
                tracker.on_line(line)


class World:
    """The config's servers, accounts and ports."""

    def __init__(self, path):
        with open(path, "rb") as f:
            cfg = tomllib.load(f)
        self.cfg = cfg
        self.servers = {name: e["smtp"] for name, e in cfg["server"].items()}
        self.pops = {name: e["pop"] for name, e in cfg["server"].items()}
        self.accounts = {name: [a for a in cfg.get("accounts", {}).get(name, {}) if "@" in a]
                         for name in self.servers}
        self.names = [n for n in self.servers if self.accounts[n]]
        self.var = cfg.get("paths", {}).get("var", "var")


async def send_one(port, sender, rcpt, msgid, timeout=60):
    """One SMTP session (EHLO, MAIL, RCPT, DATA, QUIT); the reply code of RCPT (250, 550, ...)."""
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        async def reply():
            while True:
                line = await asyncio.wait_for(r.readline(), timeout)
                if not line:
                    raise ConnectionError("closed")
                if line[3:4] != b"-":
                    return int(line[:3])

        async def cmd(text):
            w.write(text.encode() + b"\r\n")
            return await reply()

        if await reply() != 220:
            return 0
        await cmd("EHLO traffic.test")
        if await cmd(f"MAIL FROM:<{sender}>") != 250:
            return 0
        code = await cmd(f"RCPT TO:<{rcpt}>")
        if code == 250 and await cmd("DATA") == 354:
            body = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: world traffic\r\nMessage-ID: {msgid}\r\n\r\n"
                    + "A line of text of a test message, about a kilobyte in all.\r\n" * 16 + ".")
            if await cmd(body) != 250:
                code = 0
        w.write(b"QUIT\r\n")
        await w.drain()
        return code
    finally:
        w.close()


class Sampler:
    """Each second: queue depth per server, PSS and CPU time of each server process (by PID)."""

    def __init__(self, world, ctl):
        self.world, self.ctl = world, ctl
        self.max_queue, self.max_queue_one, self.max_pss_kb = 0, 0, 0
        self.cpu = {}     # pid -> (first ticks seen, last ticks seen)
        self.pids = {}

    def refresh_pids(self):
        out = subprocess.run(self.ctl + ["status"], capture_output=True, text=True, timeout=20).stdout
        self.pids = {}
        for line in out.splitlines():
            parts = line.split()
            pid = next((p[4:] for p in parts if p.startswith("pid=")), "-")
            if parts and pid.isdigit():
                self.pids[parts[0]] = int(pid)

    def sample(self):
        total_q = 0
        for name in self.world.servers:
            try:
                q = sum(1 for f in os.listdir(os.path.join(self.world.var, name, "queue")) if f.endswith(".json"))
            except OSError:
                q = 0
            total_q += q
            self.max_queue_one = max(self.max_queue_one, q)
        self.max_queue = max(self.max_queue, total_q)
        pss = 0
        for pid in self.pids.values():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    pss += next(int(l.split()[1]) for l in f if l.startswith("Pss:"))
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks = int(fields[11]) + int(fields[12])
                first = self.cpu.get(pid, (ticks, ticks))[0]
                self.cpu[pid] = (first, ticks)
            except (OSError, StopIteration):
                pass
        self.max_pss_kb = max(self.max_pss_kb, pss)
        return pss

    def cpu_seconds(self):
        return sum(last - first for first, last in self.cpu.values()) / os.sysconf("SC_CLK_TCK")


def exited(proc):
    """Whether `proc` ended, without reaping it: while it is a zombie its PID (and process group) cannot be
    taken by another process, so what it left behind in its group can still be killed by that number."""
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def stop_world(proc):
    """SIGTERM to run-world (it stops its programs); when it had ended on its own, or does not end, SIGKILL
    to its process group: a program it started must not outlive the bench."""
    if exited(proc):
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_ports(ports, deadline, proc):
    """Until every port answers; False at the deadline, or as soon as the world (`proc`) has stopped."""
    left = set(ports)
    while left and time.monotonic() < deadline and not exited(proc):
        for p in list(left):
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", p)) == 0:
                    left.discard(p)
        if left:
            time.sleep(0.2)
    return not left


def dgram_socket():
    """The event socket. Linux queues at most net.unix.max_dgram_qlen (default 10) datagrams on a Unix
    datagram socket, counted when the socket is made: with a hundred servers flushing every 50 ms, ten
    is nothing. As root, the limit is raised only while this socket is made, then put back."""
    knob, old = "/proc/sys/net/unix/max_dgram_qlen", None
    try:
        with open(knob) as f:
            old = f.read().strip()
        with open(knob, "w") as f:
            f.write("4096")
    except OSError:
        old = None  # not root: the default queue, and the `dropped` events count what it cost
    try:
        return socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    finally:
        if old is not None:
            with open(knob, "w") as f:
                f.write(old)


def on_disk(var, msgids):
    """Which of `msgids` are in some Maildir of the world (a message delivered whose event was lost, or a
    bounce quoting it): read only when events are missing."""
    found, want = set(), set(msgids)
    for root, _, files in os.walk(var):
        if os.path.basename(root) not in ("new", "cur"):
            continue
        for f in files:
            try:
                with open(os.path.join(root, f), "rb") as fh:
                    head = fh.read(16384).decode("utf-8", "replace")
            except OSError:
                continue
            found.update(m for m in want if m in head)
    return found


def pct(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def traffic(a, world, tracker, ctl, down, sampler):
    rng = random.Random(a.seed)
    mix = [(k, float(v)) for k, v in (x.split("=") for x in a.mix.split(","))]
    cats, weights = [k for k, _ in mix], [w for _, w in mix]
    sem = asyncio.Semaphore(a.concurrency)
    t0 = time.monotonic()
    failures = {"smtp_error": 0}
    tasks = []
    down_at, up_at = a.messages // 5, a.messages // 2
    is_down = False
    loop = asyncio.get_running_loop()

    async def one(i, cat, origin, sender, rcpt, dest):
        msgid = f"<wt{i}.{os.getpid()}@traffic.test>"
        async with sem:
            t_sent = time.time()
            with tracker.lock:
                tracker.sent[msgid] = (cat, t_sent, dest)
            try:
                code = await send_one(world.servers[origin], sender, rcpt, msgid)
            except (OSError, asyncio.TimeoutError, ConnectionError):
                code = 0
            with tracker.lock:
                if cat == "badlocal" and code == 550:
                    tracker.done[msgid] = time.time()
                elif code != 250:
                    failures["smtp_error"] += 1
                    del tracker.sent[msgid]
                    tracker.failed = getattr(tracker, "failed", []) + [(cat, origin, code)]

    for i in range(a.messages):
        if down and i == down_at:
            await loop.run_in_executor(None, lambda: subprocess.run(ctl + ["stop", down], capture_output=True, timeout=30))
            is_down = True
            sampler.refresh_pids()
        if down and i == up_at:
            await loop.run_in_executor(None, lambda: subprocess.run(ctl + ["start", down], capture_output=True, timeout=30))
            is_down = False
            sampler.refresh_pids()
        cat = rng.choices(cats, weights)[0]
        origins = [n for n in world.names if not (is_down and n == down)]
        origin = rng.choice(origins)
        sender = rng.choice(world.accounts[origin])
        if cat in ("local", "badlocal"):
            dest = origin
        else:
            others = [n for n in world.names if n != origin] or [origin]
            dest = rng.choice(others)
        rcpt = rng.choice(world.accounts[dest])
        if cat in ("unknown", "badlocal"):
            rcpt = f"nobody{i}@{rcpt.split('@', 1)[1]}"
        if is_down and dest == down and cat == "remote":
            cat = "remote_down"
        at = t0 + i / a.rate
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, cat, origin, sender, rcpt, dest)))
    await asyncio.gather(*tasks)
    return time.monotonic() - t0, failures["smtp_error"]


def main():
    ap = argparse.ArgumentParser(prog="bench/world_traffic.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=100.0, help="messages per second offered")
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--mix", default="local=0.35,remote=0.5,unknown=0.1,badlocal=0.05")
    ap.add_argument("--down", default="auto", help="a server to stop and start again; auto: the second; none")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for deliveries after the last send")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of an idle world measured before the traffic")
    ap.add_argument("--label", default="", help="a label for the TSV row (default: the server count)")
    ap.add_argument("-b", dest="build", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    config, zone = os.path.join(a.dir, "config.toml"), os.path.join(a.dir, "fdns.toml")
    world = World(config)
    down = None if a.down == "none" else (world.names[1] if a.down == "auto" and len(world.names) > 1 else
                                          None if a.down == "auto" else a.down)
    if down is not None and down not in world.servers:
        sys.exit(f"world_traffic.py: --down {down}: no such server in {config}")
    tmp = tempfile.mkdtemp(prefix="mw-traffic.")
    sock_path = os.path.join(tmp, "events.sock")
    sock = dgram_socket()
    try:  # a hundred servers flush every 50 ms: room for their bursts (FORCE: past rmem_max, as root)
        sock.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE (Linux), not named by Python
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
    sock.bind(sock_path)
    tracker, stop = Tracker(), threading.Event()
    reader = threading.Thread(target=receive, args=(sock, tracker, stop), daemon=True)
    reader.start()
    ctl = [sys.executable, os.path.join(ROOT, "scripts", "worldctl.py"), "-c", os.path.abspath(config)]
    log = open(os.path.join(tmp, "world.log"), "w")
    t_start = time.monotonic()
    world_proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "run-world"), "-c", os.path.abspath(config),
                                   "-z", os.path.abspath(zone), "-b", os.path.abspath(a.build), "--events", sock_path],
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    lost, keep = 0, "--keep" in sys.argv
    try:
        ports = list(world.servers.values()) + list(world.pops.values())
        if not wait_ports(ports, time.monotonic() + 60 + len(ports) / 10, world_proc):
            keep = True
            why = "stopped before it listened" if exited(world_proc) else "did not listen within the time"
            sys.exit(f"world_traffic.py: the world {why} (log: {log.name})")
        start_s = time.monotonic() - t_start
        sampler = Sampler(world, ctl)
        sampler.refresh_pids()
        sampler.sample()
        time.sleep(a.idle)  # idle: what a world costs while nobody mails
        idle_pss = sampler.sample()
        idle_cpu_pct = sampler.cpu_seconds() * 100 / max(a.idle, 0.001)
        done_sampling = threading.Event()

        def sample_loop():
            while not done_sampling.wait(1.0):
                sampler.sample()
        sampling = threading.Thread(target=sample_loop, daemon=True)
        sampling.start()
        send_s, smtp_errors = asyncio.run(traffic(a, world, tracker, ctl, down, sampler))
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline:
            with tracker.lock:
                if len(tracker.done) >= len(tracker.sent):
                    break
            time.sleep(0.2)
        time.sleep(1.2)  # one more sample after the last delivery
        done_sampling.set()
        sampling.join()
        wall = time.monotonic() - t_start - start_s
        with tracker.lock:
            lats = {}
            for msgid, (cat, t_sent, _) in tracker.sent.items():
                if msgid in tracker.done:
                    lats.setdefault(cat, []).append(max(0.0, tracker.done[msgid] - t_sent) * 1000)
            missing = [m for m in tracker.sent if m not in tracker.done]
        untracked = len(on_disk(world.var, missing)) if missing else 0
        lost = len(missing) - untracked
        for cat in sorted(lats):
            xs = lats[cat]
            print(f"category={cat} n={len(xs)} p50_ms={pct(xs, 50):.1f} p99_ms={pct(xs, 99):.1f} "
                  f"max_ms={max(xs):.1f}")
        every = [x for c, xs in lats.items() if c != "remote_down" for x in xs]
        n = len(tracker.sent)
        cpu_s = sampler.cpu_seconds() - idle_cpu_pct * a.idle / 100
        fields = [("server", "mailsrv"), ("servers", len(world.servers)), ("label", a.label or len(world.servers)),
                  ("accounts", sum(len(v) for v in world.accounts.values())), ("msgs", n),
                  ("rate", a.rate), ("send_s", f"{send_s:.1f}"), ("start_s", f"{start_s:.1f}"),
                  ("p50_ms", f"{pct(every, 50):.1f}"), ("p99_ms", f"{pct(every, 99):.1f}"),
                  ("remote_p50_ms", f"{pct(lats.get('remote', []), 50):.1f}"),
                  ("remote_p99_ms", f"{pct(lats.get('remote', []), 99):.1f}"),
                  ("down_p50_ms", f"{pct(lats.get('remote_down', []), 50):.1f}"),
                  ("bounce_p50_ms", f"{pct(lats.get('unknown', []), 50):.1f}"),
                  ("lost", lost), ("untracked", untracked), ("smtp_errors", smtp_errors), ("max_queue", sampler.max_queue),
                  ("idle_cpu_pct", f"{idle_cpu_pct:.2f}"), ("idle_pss_mb", f"{idle_pss / 1024:.1f}"), ("peak_pss_mb", f"{sampler.max_pss_kb / 1024:.1f}"),
                  ("pss_kb_per_server", f"{idle_pss / max(1, len(sampler.pids)):.0f}"),
                  ("cpu_s", f"{cpu_s:.2f}"), ("cpu_ms_per_msg", f"{cpu_s * 1000 / max(1, n):.3f}"),
                  ("wall_s", f"{wall:.1f}"), ("events_dropped", tracker.dropped)]
        tsv.emit("scale_world", fields)
        for cat, origin, code in getattr(tracker, "failed", [])[:5]:
            print(f"world_traffic.py: a {cat} message from {origin} got {code or 'no answer'}", file=sys.stderr)
    finally:
        stop.set()
        stop_world(world_proc)
        log.close()
        sock.close()
        if lost or keep:  # the log stays for a look
            print(f"world_traffic.py: {lost} messages not accounted for; the world's log: {log.name}", file=sys.stderr)
        else:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
