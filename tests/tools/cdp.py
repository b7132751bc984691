"""A small driver for the Debian `chromium` over the DevTools protocol, for the browser tests.

Chromium runs headless with --remote-debugging-pipe: it reads commands on its fd 3 and writes replies
and events on its fd 4, each a JSON object ended by a NUL byte. So no websocket library and no npm.

    with Browser(out_dir) as b:
        b.open("http://127.0.0.1:8025/#/")
        b.wait_for("#servers .server")
        names = b.eval("[...document.querySelectorAll('.server')].map(e => e.dataset.name)")
        b.screenshot("topology.png")
        assert not b.errors, b.errors      # console errors, exceptions, failed requests

Every wait is bounded; close() asks the browser to quit, kills its process group by its PID if it does
not, and removes the --user-data-dir it made.
"""
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import base64

CANDIDATES = ["/usr/lib/chromium/chromium", "chromium", "chromium-browser"]


def find_chromium():
    """The path of the Chromium binary ($MW_CHROMIUM first), or None."""
    for c in [os.environ.get("MW_CHROMIUM")] + CANDIDATES:
        if not c:
            continue
        path = c if os.path.isabs(c) else shutil.which(c)
        if path and os.access(path, os.X_OK):
            return path
    return None


class CdpError(Exception):
    pass


def _high_fd(fd):
    """The fd moved to 10 or above (close-on-exec), so dup2 onto 3 and 4 in the child cannot clobber it."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Browser:
    def __init__(self, out_dir=None, timeout=20.0, width=1280, height=900, binary=None):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise FileNotFoundError("chromium not found (install it: scripts/setup-deps --test; or set MW_CHROMIUM)")
        self.out_dir = out_dir or tempfile.gettempdir()
        self.timeout = timeout
        self.errors = []          # human-readable: console errors, exceptions, failed requests
        self.events = []          # every event of the page session (method, params)
        self._next_id = 0
        self._replies = {}
        self._requests = {}       # requestId -> url, to name failed requests
        self._cond = threading.Condition()
        self._closed = False
        self.profile = tempfile.mkdtemp(prefix="mw-chromium-")
        cmd_r, self._cmd_w = os.pipe()
        self._out_r, out_w = os.pipe()
        cmd_r, out_w = _high_fd(cmd_r), _high_fd(out_w)
        self._cmd_w, self._out_r = _high_fd(self._cmd_w), _high_fd(self._out_r)

        def child_fds():
            os.dup2(cmd_r, 3)     # dup2 clears close-on-exec on the copies
            os.dup2(out_w, 4)

        args = [self.binary, "--headless=new", "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--disable-dev-shm-usage",
                "--disable-component-update", "--mute-audio", f"--window-size={width},{height}", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.log_path = os.path.join(self.out_dir, "chromium.log")
        os.makedirs(self.out_dir, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         pass_fds=(3, 4), preexec_fn=child_fds, start_new_session=True)
        os.close(cmd_r)
        os.close(out_w)
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                self.call(f"{domain}.enable", session=True)
        except BaseException:
            self.close()
            raise

    # ---- the pipe ---------------------------------------------------------------------------------
    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self._out_r, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            *whole, buf = (buf + chunk).split(b"\0")
            for raw in whole:
                self._dispatch(json.loads(raw))
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _dispatch(self, msg):
        with self._cond:
            if "id" in msg:
                self._replies[msg["id"]] = msg
            elif msg.get("sessionId") == getattr(self, "session", None):
                self.events.append((msg["method"], msg.get("params", {})))
                self._note(msg["method"], msg.get("params", {}))
            self._cond.notify_all()

    def _note(self, method, p):
        """Keeps what counts as an error of the page in self.errors."""
        if method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text", "")
            self.errors.append(f"exception: {text} ({d.get('url', '')}:{d.get('lineNumber', '')})")
        elif method == "Runtime.consoleAPICalled" and p.get("type") == "error":
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            self.errors.append(f"console.error: {args}")
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            e = p["entry"]
            self.errors.append(f"log: {e.get('text', '')} {e.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            self._requests[p["requestId"]] = p["request"]["url"]
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            self.errors.append(f"request failed: {self._requests.get(p['requestId'], '?')} {p.get('errorText', '')}")
        elif method == "Network.responseReceived" and p["response"].get("status", 0) >= 400:
            self.errors.append(f"HTTP {p['response']['status']}: {p['response'].get('url', '')}")

    def call(self, method, params=None, session=False, timeout=None):
        """Sends one command and returns its result; raises CdpError on an error reply or a timeout."""
        with self._cond:
            self._next_id += 1
            mid = self._next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        try:
            os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        except OSError as e:
            raise CdpError(f"{method}: chromium pipe closed ({e}); see {self.log_path}")
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while mid not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise CdpError(f"{method}: no reply within {timeout or self.timeout}s"
                                   f"{' (chromium exited)' if self._closed else ''}; see {self.log_path}")
                self._cond.wait(min(left, 0.2))
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    # ---- what the tests use -----------------------------------------------------------------------
    def open(self, url, timeout=None):
        """Navigates and waits for the load event."""
        with self._cond:
            seen = len(self.events)
        r = self.call("Page.navigate", {"url": url}, session=True)
        if r.get("errorText"):
            raise CdpError(f"navigate {url}: {r['errorText']}")
        self._wait_event("Page.loadEventFired", seen, timeout or self.timeout)

    def _wait_event(self, method, start, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(m == method for m, _ in self.events[start:]):
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise CdpError(f"no {method} within {timeout}s")
                self._cond.wait(min(left, 0.2))

    def eval(self, expression, timeout=None):
        """The value of a JS expression (awaited when it is a promise), as JSON."""
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                      session=True, timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CdpError(f"eval {expression!r}: {d.get('exception', {}).get('description') or d.get('text')}")
        return r["result"].get("value")

    def wait_for(self, selector, timeout=None, count=1):
        """Waits until `count` elements match the CSS selector; returns how many do."""
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        expr = f"document.querySelectorAll({json.dumps(selector)}).length"
        while True:
            n = self.eval(expr)
            if n >= count:
                return n
            if time.monotonic() > deadline:
                raise CdpError(f"no {count} x {selector!r} within {timeout}s (found {n}); errors: {self.errors}")
            time.sleep(0.1)

    def wait_until(self, expression, timeout=None):
        """Waits until a JS expression is truthy; returns its value."""
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        while True:
            v = self.eval(expression)
            if v:
                return v
            if time.monotonic() > deadline:
                raise CdpError(f"not true within {timeout}s: {expression}; errors: {self.errors}")
            time.sleep(0.1)

    def go(self, route, timeout=None):
        """Sets location.hash on the mailview page and waits until #main shows that route (data-route)."""
        self.eval(f"location.hash = {json.dumps(route)}")
        self.wait_until(f"document.getElementById('main').dataset.route === {json.dumps(route.lstrip('#') or '/')}",
                        timeout)

    def screenshot(self, name):
        """Writes a PNG of the whole page (not just the window) under out_dir; returns its path."""
        size = self.call("Page.getLayoutMetrics", session=True)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": max(1, size["width"]), "height": min(max(1, size["height"]), 10000), "scale": 1}
        r = self.call("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True},
                      session=True, timeout=30)
        path = os.path.join(self.out_dir, name)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        return path

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call("Browser.close", timeout=3)
            except CdpError:
                pass
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                pass
        # Its renderers and zygote are in the process group the browser leads (start_new_session).
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        os.close(self._cmd_w)
        self._reader.join(5)  # the read end sees EOF once every chromium process is gone
        if not self._reader.is_alive():
            os.close(self._out_r)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def installable():
    """(True, '') when apt could install the chromium package here; else (False, why not)."""
    apt = shutil.which("apt-cache")
    if not apt:
        return False, "no apt-cache: not a Debian system, chromium cannot be installed by scripts/setup-deps"
    out = subprocess.run([apt, "policy", "chromium"], capture_output=True, text=True, timeout=30).stdout
    if "Candidate:" not in out or "Candidate: (none)" in out:
        return False, "apt has no chromium package for this system (apt-cache policy chromium: no candidate)"
    return True, ""


def require_chromium():
    """For the browser tests: the Chromium path. Missing but installable is a setup error (AssertionError);
    only when it cannot be installed at all the test is skipped, with the reason printed."""
    path = find_chromium()
    if path:
        return path
    ok, why = installable()
    if not ok:
        print(f"skipping the browser test: {why}", flush=True)
        raise unittest.SkipTest(why)
    raise AssertionError("chromium is not installed; scripts/setup-deps --test installs it (or set MW_CHROMIUM)")
