"""The README's examples, followed in order on a fresh world, print what the README says they print.

README.md marks each example transcript with a line `<!-- example ... -->` right before its fence. In
a transcript, a line starting with `$ ` is a command (continued on the next line after a trailing
`\\`); the lines up to the next command are what it prints, standard output and error together, as a
terminal shows them (the commands run on a pseudo-terminal). In the printed lines `<date>` stands for
an RFC 5322 date, `<id>` for a queue id, `<size>` for a number of octets, `<pid>` for a process id, and a line `...` for any
number of lines left out; everything else must match exactly (trailing blanks aside). An agent
started without a command is interactive: in its transcript, what follows a prompt (`To: `, ...) is
what the user typed, and it is given to the agent on standard input. Every command must exit 0.

The world is the README's run command, scripts/run-world, on the real config/config.toml and
fdns/fdns.toml, in a temporary folder laid out like the repository (config/, fdns/,
scripts/run-world and what it uses, build -> $MW_BUILD, an empty var/), with every port of the files replaced by a
free one, in the commands and in the expected output too (also as the 4 hex digits dig shows for a
P record). After each command the test waits until every relay queue is empty, as a reader would
after a moment.
"""
import glob
import json
import os
import pty
import queue
import re
import select
import shutil
import signal
import subprocess
import threading
import time
import tomllib
import unittest
import urllib.request

from world import BUILD, SOURCE, World

README = os.path.join(SOURCE, "README.md")
MARK = "<!-- example"
FENCE = "```"
MAIN_PROMPT = "[smtp|pop|exit]>>> "
# The interactive agent's prompts (apps/agent/interactive.cpp); the `mail` body has none, so it is
# not used in examples.
PROMPTS = [MAIN_PROMPT, "[pop]>>> ", "To: ", "Cc: ", "Bcc: ", "Subject: ", "Content: ", "Attach: "]
PLACEHOLDERS = {
    "<date>": r"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}",
    "<id>": r"[0-9A-Za-z]+",
    "<size>": r"\d+",
    "<pid>": r"\d+",
}
COMMAND_TIMEOUT = 15  # seconds; the whole test stays far below 30 s


def examples(text):
    """The marked transcripts of a README, in order: lists of (command, expected output lines)."""
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith(MARK):
            i += 1
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith(FENCE):
            raise ValueError(f"README.md:{i + 1}: an example mark not followed by a fence")
        i += 2
        block = []
        while i < len(lines) and not lines[i].startswith(FENCE):
            block.append(lines[i])
            i += 1
        out.append(transcript(block))
    return out


def transcript(block):
    steps = []
    i = 0
    while i < len(block):
        line = block[i]
        if not line.startswith("$ "):
            raise ValueError(f"a transcript line before any command: {line!r}")
        cmd = line[2:]
        while cmd.endswith("\\") and i + 1 < len(block):
            i += 1
            cmd = cmd[:-1].rstrip() + " " + block[i].strip()
        i += 1
        expected = []
        while i < len(block) and not block[i].startswith("$ "):
            expected.append(block[i])
            i += 1
        steps.append((cmd, expected))
    return steps


def unmarked_transcripts(text):
    """Fenced blocks holding a `$ ` command line without the example mark before them."""
    lines = text.splitlines()
    bad = []
    i = 0
    while i < len(lines):
        if lines[i].startswith(FENCE):
            start = i
            i += 1
            while i < len(lines) and not lines[i].startswith(FENCE):
                i += 1
            body = lines[start + 1:i]
            marked = start > 0 and lines[start - 1].startswith(MARK)
            if any(l.startswith("$ ") for l in body) and not marked:
                bad.append(start + 1)
        i += 1
    return bad


def interactive_session(expected):
    """An interactive agent's transcript -> (what the user types, what the agent prints)."""
    typed, printed = [], ""
    for line in expected:
        prompt = next((p for p in PROMPTS if line.startswith(p) or line == p.rstrip()), None)
        if prompt is None:
            printed += line + "\n"
        else:
            typed.append(line[len(prompt):])
            printed += prompt
    return "".join(t + "\n" for t in typed), printed


def normalise(text):
    """Line ends as LF, trailing blanks off every line, one final newline when there is text."""
    lines = [l.rstrip() for l in text.replace("\r\n", "\n").split("\n")]
    while lines and lines[-1] == "":
        lines.pop()
    return "".join(l + "\n" for l in lines)


def pattern(expected_text):
    parts = []
    for line in normalise(expected_text).splitlines():
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        p = re.escape(line)
        for name, rx in PLACEHOLDERS.items():
            p = p.replace(re.escape(name), rx)
        parts.append(p + r"\n")
    return re.compile("".join(parts))


def matches(expected_text, actual):
    return pattern(expected_text).fullmatch(normalise(actual)) is not None


def substitute(text, ports, hex_too=False):
    """Every old port number in `text` replaced by its new one (and its %04X form when asked)."""
    if not ports:
        return text
    dec = re.compile(r"(?<![0-9])(" + "|".join(str(p) for p in ports) + r")(?![0-9])")
    text = dec.sub(lambda m: str(ports[int(m.group(1))]), text)
    if hex_too:
        hx = {f"{old:04X}": f"{new:04X}" for old, new in ports.items()}
        rx = re.compile(r"(?<![0-9A-Fa-f])(" + "|".join(hx) + r")(?![0-9A-Fa-f])")
        text = rx.sub(lambda m: hx[m.group(1)], text)
    return text


def run_on_pty(cmd, cwd, typed, timeout):
    """Runs `cmd` with bash in `cwd`, stdout and stderr on one pseudo-terminal, `typed` on stdin.
    Returns (exit status, output); kills the command's process group at the deadline."""
    master, slave = pty.openpty()
    p = subprocess.Popen(["bash", "-c", cmd], cwd=cwd, stdin=subprocess.PIPE, stdout=slave, stderr=slave,
                         start_new_session=True)
    os.close(slave)
    try:
        p.stdin.write(typed.encode())
        p.stdin.close()
    except BrokenPipeError:
        pass
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            ready = select.select([master], [], [], max(0.0, left))[0] if left > 0 else []
            if not ready:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                raise AssertionError(f"`{cmd}` did not end within {timeout}s; it printed:\n{out.decode(errors='replace')}")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not chunk:
                break
            out += chunk
        return p.wait(timeout=max(1.0, deadline - time.monotonic())), out.decode("utf-8", "replace")
    finally:
        os.close(master)


class ReadmeMatcherTest(unittest.TestCase):
    """The comparison itself: placeholders and `...` stand for what they say, nothing more."""

    def test_placeholders_match_only_their_kind(self):
        self.assertTrue(matches("2 messages (<size> bytes)", "2 messages (1284 bytes)\n"))
        self.assertFalse(matches("2 messages (<size> bytes)", "1 messages (631 bytes)\n"))
        self.assertFalse(matches("2 messages (<size> bytes)", "2 messages (many bytes)\n"))
        self.assertTrue(matches("Date: <date>", "Date: Tue, 01 Dec 2026 05:01:50 +0000\r\n"))
        self.assertFalse(matches("Date: <date>", "Date: yesterday\n"))
        self.assertTrue(matches("<-  250 2.0.0 Ok: queued as <id>", "<-  250 2.0.0 Ok: queued as 6618B6BDC8D280000\n"))

    def test_ellipsis_skips_lines_but_not_the_ones_shown(self):
        self.assertTrue(matches("a\n...\nz", "a\nb\nc\nz\n"))
        self.assertTrue(matches("a\n...\nz", "a\nz\n"))
        self.assertFalse(matches("a\n...\nz", "a\nb\n"))
        self.assertFalse(matches("a\nz", "a\nb\nz\n"))
        self.assertFalse(matches("a", "a\nmore\n"))

    def test_interactive_transcript_splits_typing_from_printing(self):
        typed, printed = interactive_session([
            "[smtp|pop|exit]>>> smtp", "To: usr@gmail.com", "To:", "Subject: Test", "Content: hi",
            "Mail sent successfully", "[smtp|pop|exit]>>> exit"])
        self.assertEqual(typed, "smtp\nusr@gmail.com\n\nTest\nhi\nexit\n")
        self.assertTrue(matches(printed, "[smtp|pop|exit]>>> To: To: Subject: Content: Mail sent successfully\n"
                                         "[smtp|pop|exit]>>> "))

    def test_ports_are_replaced_as_numbers_only(self):
        ports = {2025: 40001, 10053: 40002}
        self.assertEqual(substitute("-p 10053 :2025 20250 \\# 2 07E9", ports, hex_too=True),
                         "-p 40002 :40001 20250 \\# 2 9C41")

    def test_every_transcript_in_the_readme_is_marked(self):
        with open(README, encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(unmarked_transcripts(text), [], "README.md: fenced blocks with `$ ` commands but no "
                         "example mark on the line before (their line numbers)")
        self.assertGreaterEqual(sum(len(t) for t in examples(text)), 5, "README.md has (almost) no marked examples")


class ReadmeExamplesTest(unittest.TestCase):
    def make_tree(self, w):
        """The repository's layout in w: real config and zone with free ports, run-world, build."""
        with open(os.path.join(SOURCE, "config", "config.toml"), encoding="utf-8") as f:
            config = f.read()
        with open(os.path.join(SOURCE, "fdns", "fdns.toml"), encoding="utf-8") as f:
            zone = f.read()
        cfg = tomllib.loads(config)
        listen = cfg.get("fdns", {}).get("listen", "127.0.0.1:10053")
        old = [int(listen.rsplit(":", 1)[1])]
        for entry in cfg.get("server", {}).values():
            old += [entry["smtp"], entry["pop"]]
        for entry in cfg.get("mailsrv", {}).values():
            old += [entry[k] for k in ("smtps", "pop3s", "submission") if entry.get(k)]
        view = cfg.get("view", {}).get("listen", "127.0.0.1:8025")  # the web view (issue 14)
        old.append(int(view.rsplit(":", 1)[1]))
        ports = {}
        for p in old:
            if p not in ports:
                ports[p] = w.free_port(udp=True)
        config = substitute(config, ports)
        if "fdns" not in cfg:
            config += f'\n[fdns]\nlisten = "127.0.0.1:{ports[old[0]]}"\n'
        if "view" not in cfg:
            config += f'\n[view]\nlisten = "127.0.0.1:{ports[old[-1]]}"\n'
        root = w.path("repo")
        w.write("repo/config/config.toml", config)
        w.write("repo/fdns/fdns.toml", substitute(zone, ports))
        os.makedirs(os.path.join(root, "scripts"))
        for script in ("run-world", "supervisor.py", "worldctl.py", "world"):  # run-world, its modules, `world ctl`
            shutil.copy2(os.path.join(SOURCE, "scripts", script), os.path.join(root, "scripts", script))
        os.symlink(os.path.abspath(BUILD), os.path.join(root, "build"))
        # the view: HTTP; fdns: UDP and TCP; each mailsrv: SMTP and POP3
        listeners = 1 + 2 + 2 * len(cfg.get("server", {}))
        self.view_port = ports[old[-1]]
        return root, ports, listeners

    def start_world(self, root, listeners):
        p = subprocess.Popen([os.path.join(root, "scripts", "run-world")], cwd=root, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        lines, got = [], queue.Queue()
        reader = threading.Thread(target=lambda: [got.put(l) for l in iter(p.stdout.readline, "")] + [got.put(None)],
                                  daemon=True)
        reader.start()

        def stop():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)  # run-world stops its children by PID
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)  # the process group this test created
                    p.wait()
            reader.join(2)
            p.stdout.close()
            return p.returncode

        self.addCleanup(stop)
        deadline = time.monotonic() + 10
        while sum("event=listening" in l for l in lines) < listeners:
            try:
                line = got.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.fail("the world did not start:\n" + "".join(lines))
            lines.append(line)

        def log_tail(n=30):
            while not got.empty():
                line = got.get()
                if line is not None:
                    lines.append(line)
            return "".join(lines[-n:])

        return stop, log_tail

    def wait_for_queues(self, root, timeout=10.0):
        """Until no relay queue holds a message: what was sent has arrived or bounced."""
        deadline = time.monotonic() + timeout
        while True:
            left = [f for f in glob.glob(os.path.join(root, "var", "*", "queue", "*")) if os.path.isfile(f)]
            if not left:
                return
            if time.monotonic() > deadline:
                self.fail(f"relay queues still hold {left} after {timeout}s")
            time.sleep(0.02)

    def test_examples_print_what_the_readme_says(self):
        started = time.monotonic()
        with open(README, encoding="utf-8") as f:
            steps = [s for t in examples(f.read()) for s in t]
        self.assertTrue(steps, "no marked examples in README.md")
        with World() as w:
            root, ports, listeners = self.make_tree(w)
            stop, log_tail = self.start_world(root, listeners)
            for cmd, expected in steps:
                run = substitute(cmd, ports)
                typed, printed = "", "".join(l + "\n" for l in expected)
                if "apps/agent" in cmd and expected and expected[0].startswith(MAIN_PROMPT):
                    typed, printed = interactive_session(expected)
                printed = substitute(printed, ports, hex_too=True)
                status, out = run_on_pty(run, root, typed, COMMAND_TIMEOUT)
                self.assertTrue(matches(printed, out),
                                f"\n$ {run}\nREADME.md says it prints:\n{printed}\nit printed:\n{normalise(out)}"
                                f"\nthe world's last log lines:\n{log_tail()}")
                self.assertEqual(status, 0, f"\n$ {run}\nexited {status}; it printed:\n{out}")
                self.wait_for_queues(root)
            self.assertEqual(stop(), 0, "run-world did not stop cleanly")
        self.assertLess(time.monotonic() - started, 30)

    def test_the_run_command_prints_the_view_first_and_it_answers(self):
        """Issue 14: the run command starts the web view and says where, in its first lines."""
        with World() as w:
            root, _, listeners = self.make_tree(w)
            self.lines = []
            stop, log_tail = self.start_world(root, listeners)
            head = log_tail(1000).splitlines()
            url = f"http://127.0.0.1:{self.view_port}/"
            where = [i for i, l in enumerate(head) if l.startswith(f"run-world: open {url} ")]
            self.assertTrue(where, f"no 'run-world: open {url}' line:\n" + "\n".join(head))
            self.assertLess(where[0], 8, "the view's address is not among the first lines:\n" + "\n".join(head))
            with urllib.request.urlopen(url + "api/world", timeout=5) as r:
                names = [s["name"] for s in json.load(r)["servers"]]
            self.assertEqual(sorted(names), ["exmail.qq.com", "fdns", "gmail.com"])
            with urllib.request.urlopen(url, timeout=5) as r:
                self.assertIn("<html", r.read().decode().lower())
            self.assertEqual(stop(), 0, "run-world did not stop cleanly")


if __name__ == "__main__":
    unittest.main()
