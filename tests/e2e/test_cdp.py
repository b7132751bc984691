"""The browser driver (tests/tools/cdp.py) against the mock API (tests/tools/mock_view.py): the page
renders each route of the canned data without an error, and the driver does report errors (a page that
throws, an API that fails), so the real-world browser test (test_view_browser.py) can trust a clean run."""
import http.client
import os
import sys
import urllib.parse
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import cdp  # noqa: E402
import mock_view  # noqa: E402
from world import BUILD  # noqa: E402

OUT = os.path.join(BUILD, "test-output", "cdp")


class Driver(unittest.TestCase):
    # One browser for all (it takes seconds to start); each test starts from a blank page.
    @classmethod
    def setUpClass(cls):
        cdp.require_chromium()
        cls.browser = cdp.Browser(OUT)

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()

    def setUp(self):
        self.browser.open("about:blank")
        self.browser.errors.clear()

    def test_page_exception_is_reported(self):
        with mock_view.MockView() as m:
            b = self.browser
            m.extra["/throw.html"] = ("text/html", b"<p id=ok>x</p><script>null.boom()</script>")
            b.open(m.url + "throw.html")
            b.wait_for("#ok")
            self.assertTrue(any("exception" in e and "boom" in e for e in b.errors), b.errors)

    def test_failing_api_is_reported(self):
        with mock_view.MockView() as m:
            b = self.browser
            m.fail.add("/api/world")
            b.open(m.url + "#/")
            b.wait_for(".error")
            self.assertTrue(any("/api/world" in e for e in b.errors), b.errors)

    def live_update(self, fail_stream):
        with mock_view.MockView() as m:
            b = self.browser
            if fail_stream:
                m.fail.add("/api/stream")
            b.open(m.url + "#/")
            b.wait_for("#servers .server.down[data-name='gmail.com']")
            b.wait_until(f"document.getElementById('live').textContent === {'polling' if fail_stream else 'live'!r}")
            m.world["servers"][2]["up"] = True
            m.notify()
            b.wait_for("#servers .server.up[data-name='gmail.com']", timeout=6)
            return b.errors

    def test_live_update_by_server_sent_events(self):
        self.assertEqual(self.live_update(fail_stream=False), [])

    def test_live_update_by_polling_when_the_stream_fails(self):
        self.assertTrue(all("/api/stream" in e for e in self.live_update(fail_stream=True)))

    def test_mock_pages_render_without_errors(self):
        with mock_view.MockView() as m:
            b = self.browser
            b.open(m.url + "#/")
            b.wait_for("#servers .server", count=3)
            names = b.eval("[...document.querySelectorAll('#servers .server')].map(e => e.dataset.name)")
            self.assertEqual(sorted(names), ["exmail.qq.com", "fdns", "gmail.com"])
            for route, sel in [("#/mailboxes", "a[href^='#/mailbox/']"), ("#/mailbox/gmail.com/usr@gmail.com", "a[href^='#/message/']"),
                               ("#/queue", "td"), ("#/sessions", "a[href^='#/session/']"), ("#/journeys", "a[href^='#/journey/']")]:
                b.go(route)
                b.wait_for(sel)
            b.go(f"#/message/gmail.com/usr@gmail.com/{mock_view.FILE}")
            b.wait_for("a.attachment")
            self.assertEqual(b.eval("document.querySelector('pre.text').textContent"), mock_view.MESSAGE["text"])
            self.assertEqual(b.eval("document.querySelectorAll('main b').length"), 0)  # server data stays text
            b.go("#/session/exmail.qq.com/1")
            b.wait_for("svg.sequence text.msg", count=10)
            labels = b.eval("[...document.querySelectorAll('svg.sequence text.msg')].map(t => t.textContent)")
            self.assertIn("EHLO mail.sustech.edu.cn", labels)
            self.assertTrue(all(len(l) <= 91 for l in labels), labels)  # truncated, full text in <title>
            b.go("#/journey/" + urllib.parse.quote(mock_view.MSGID, safe=""))
            b.wait_for(".journey-step", count=6)
            kinds = b.eval("[...document.querySelectorAll('.journey-step')].map(e => e.dataset.kind)")
            self.assertEqual(kinds, ["submission", "dns", "relay", "delivery", "bounce", "pop3"])
            relay = b.eval("[...document.querySelectorAll('.journey-step[data-kind=relay] .arrow')]"
                           ".map(a => a.dataset.from + '>' + a.dataset.to)")
            self.assertIn("exmail.qq.com>gmail.com", relay)
            self.assertIn("gmail.com>exmail.qq.com", relay)
            png = b.screenshot("mock-journey.png")
            print(f"screenshot: {png}")
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            self.assertEqual(b.errors, [])


class MockStatic(unittest.TestCase):
    """The mock serves the page's folder and nothing next to it (no browser needed)."""

    def test_no_file_outside_static(self):
        with mock_view.MockView() as m:
            for path, want in (("/static/app.js", 200), ("/static/../static_files.hpp", 404),
                               ("/static/../CMakeLists.txt", 404), ("/static/%2e%2e/CMakeLists.txt", 404)):
                c = http.client.HTTPConnection("127.0.0.1", m.port, timeout=10)
                c.request("GET", path)  # sent as written: no client normalises the dots away
                self.assertEqual(c.getresponse().status, want, path)
                c.close()


if __name__ == "__main__":
    unittest.main()
