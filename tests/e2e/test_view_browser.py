"""The web view in a real browser: a world with mailview, the issue's scenario mail (cross-domain, an
attachment, one unknown recipient, retrieved with POP3), then headless Chromium (tests/tools/cdp.py) opens
the page: the topology shows fdns and both providers, the message's journey is a sequence diagram with the
SMTP commands and the relay hop between the providers, nothing logs an error, no password is in the page.
Screenshots go to $MW_BUILD/test-output/view_browser/ (their paths are printed)."""
import base64
import json
import os
import re
import smtplib
import sys
import urllib.error
import urllib.parse
import urllib.request
import unittest
from email.message import EmailMessage
from email.utils import make_msgid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import cdp  # noqa: E402
from world import BUILD, GM, QQ, CourseWorld, World, wait_for  # noqa: E402

OUT = os.path.join(BUILD, "test-output", "view_browser")
SENDER, PASSWORD = "usr1@mail.sustech.edu.cn", "pass1"
# Plain-text AUTH so the password really crosses the wire (and the view must mask it).
CONFIG = "[queue]\nretry_first = 1\nretry_max = 2\n[tls]\nallow_plaintext_auth = true\n"


def scenario_mail():
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = SENDER, "usr@gmail.com, nobody@gmail.com", "lab report"
    m["Message-ID"] = make_msgid(domain="mail.sustech.edu.cn")
    m.set_content("Hello from SUSTech, the report is attached.\n")
    m.add_attachment(b"%PDF-1.4 a tiny report\n", maintype="application", subtype="pdf", filename="report.pdf")
    return m


def texts(b, selector):
    return b.eval(f"[...document.querySelectorAll({json.dumps(selector)})].map(e => e.textContent)")


def journey_known(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status == 200
    except urllib.error.HTTPError:
        return False


class ViewInBrowser(unittest.TestCase):
    def setUp(self):
        cdp.require_chromium()

    def test_topology_and_journey_in_chromium(self):
        with World() as w:
            world = CourseWorld(w, queue=CONFIG, view=True)  # mailview first, every server sends it events
            world.start(QQ), world.start(GM)
            mail = scenario_mail()
            msgid = mail["Message-ID"]
            with smtplib.SMTP("127.0.0.1", world.ports[QQ][0], timeout=10) as s:
                s.login(SENDER, PASSWORD)
                refused = s.send_message(mail)
            self.assertEqual(refused, {})  # gmail.com refuses nobody@ later, at the relay: a bounce
            wait_for(lambda: world.messages("usr@gmail.com", "pass", GM), what="the relayed message")
            wait_for(lambda: world.messages(SENDER, PASSWORD, QQ), what="the bounce for nobody@gmail.com")

            with cdp.Browser(OUT) as b:
                b.open(world.view.url + "/#/")
                b.wait_for("#servers .server", count=3)
                names = b.eval("[...document.querySelectorAll('#servers .server')].map(e => e.dataset.name)")
                self.assertEqual(sorted(names), sorted(["fdns", QQ, GM]))
                print(f"screenshot: {b.screenshot('topology.png')}")

                # The mail as the view reads it from gmail.com's Maildir: text, attachment, raw source.
                b.go("#/mailboxes")
                b.wait_for("a[href^='#/mailbox/gmail.com/']")
                b.go("#/mailbox/gmail.com/usr@gmail.com")
                b.wait_for("a[href^='#/message/']")
                b.go(b.eval("document.querySelector(\"a[href^='#/message/']\").hash"))
                b.wait_for("a.attachment")
                self.assertIn("Hello from SUSTech", b.eval("document.querySelector('pre.text').textContent"))
                self.assertEqual(texts(b, "a.attachment"), ["report.pdf"])
                got = b.eval("fetch(document.querySelector('a.attachment').href).then(r => r.text())")
                self.assertEqual(got, "%PDF-1.4 a tiny report\n")
                raw = b.eval("fetch(document.querySelector('a.raw').href).then(r => r.text())")
                self.assertIn(f"Message-ID: {msgid}", raw)
                print(f"screenshot: {b.screenshot('message.png')}")

                b.go("#/journeys")
                b.wait_until("[...document.querySelectorAll(\"a[href^='#/journey/']\")]"
                             f".some(a => decodeURIComponent(a.hash.slice(10)) === {json.dumps(msgid)})")
                b.go("#/journey/" + urllib.parse.quote(msgid, safe=""))
                b.wait_for("svg.sequence .journey-step[data-kind=relay]", timeout=20)
                labels = texts(b, "svg.sequence text.msg")
                for cmd in ("EHLO", "MAIL FROM", "RCPT TO", "DATA"):
                    self.assertTrue(any(l.upper().startswith(cmd) for l in labels), f"no {cmd} in {labels}")
                self.assertTrue(any(l.upper().startswith("AUTH") for l in labels), labels)  # shown, masked
                hops = b.eval("[...document.querySelectorAll('svg.sequence .journey-step[data-kind=relay] .arrow')]"
                              ".map(a => a.dataset.from + ' > ' + a.dataset.to)")
                self.assertIn(f"{QQ} > {GM}", hops)  # the relay's commands
                self.assertIn(f"{GM} > {QQ}", hops)  # and the receiver's replies
                kinds = b.eval("[...document.querySelectorAll('.journey-step')].map(e => e.dataset.kind)")
                self.assertEqual(kinds[0], "submission", kinds)
                print(f"screenshot: {b.screenshot('journey.png')}")

                # A mail sent with the agent (the README's client): its journey too, found by its
                # Message-ID in gmail.com's mailbox listing.
                attach = w.write("notes.txt", "notes for the lab\n")
                r = w.run("agent", ["-c", world.cfg, "-e", SENDER, "-p", PASSWORD, "send", "--to", "usr@gmail.com",
                                    "--subject", "sent with the agent", "--body", "hi", "--attach", attach])
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                listing = world.view.url + "/api/mailboxes/gmail.com/usr@gmail.com"
                agent_msgid = wait_for(lambda: next((m["msgid"] for m in json.load(urllib.request.urlopen(listing))
                                                     ["messages"] if m["subject"] == "sent with the agent"), None),
                                       what="the agent's mail in gmail.com's mailbox")
                # The Maildir is read from disk at once; the events that make the journey come within the
                # feed's 50 ms: open the page once the view has them (a 404 before would be a console error).
                journey = world.view.url + "/api/journey/" + urllib.parse.quote(agent_msgid, safe="")
                wait_for(lambda: journey_known(journey) or None, what="the agent's mail's journey in the view")
                b.go("#/journey/" + urllib.parse.quote(agent_msgid, safe=""))
                b.wait_for("svg.sequence .journey-step[data-kind=delivery]", timeout=20)
                kinds = b.eval("[...document.querySelectorAll('.journey-step')].map(e => e.dataset.kind)")
                for kind in ("submission", "dns", "relay", "delivery"):
                    self.assertIn(kind, kinds)
                self.assertTrue(any(l.upper().startswith("STARTTLS") for l in texts(b, "svg.sequence text.msg")))
                print(f"screenshot: {b.screenshot('agent_journey.png')}")

                page = b.eval("document.documentElement.outerHTML")
                plain = base64.b64encode(f"\0{SENDER}\0{PASSWORD}".encode()).decode()
                for secret in (PASSWORD, "pass2", plain):
                    self.assertNotIn(secret, page)
                self.assertIsNone(re.search(r"PASS\s+pass\b", page), "the POP3 password is in the page")
                self.assertEqual(b.errors, [])


if __name__ == "__main__":
    unittest.main()
