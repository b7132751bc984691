"""mailview's JSON API on a running world (docs/view.md): the issue's scenario (a cross-domain message
with an attachment sent with AUTH while the receiving server is down, one unknown recipient bounced,
a POP3 retrieval), then the topology, mailboxes, the message view, the queue and the message's journey as
the API tells them, and no password or AUTH secret anywhere in what it serves."""
import base64
import json
import os
import poplib
import smtplib
import socket
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage

from world import GM, QQ, CourseWorld, World, start_view, wait_for, world_config

USR1, USR = "usr1@mail.sustech.edu.cn", "usr@gmail.com"
CONFIG = "[queue]\nretry_first = 1\nretry_max = 2\n[tls]\nallow_plaintext_auth = true\n"
MSGID = "<view-test.1@mail.sustech.edu.cn>"


class Api:
    """GETs on mailview, remembering every body it served (the secrets check reads them all)."""

    def __init__(self, url):
        self.url = url
        self.bodies = []

    def raw(self, path, method="GET", headers=None):
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None,
                                     headers=headers or {})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            self.bodies.append(body)
            return r, body

    def get(self, path):
        return json.loads(self.raw(path)[1])


def message(attachment):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = USR1, f"{USR}, error@gmail.com", "journey", MSGID
    m.set_content("Hello from SUSTech, with a file.\n")
    m.add_attachment(attachment, maintype="application", subtype="octet-stream", filename="data.bin")
    return m


class ViewApiTest(unittest.TestCase):
    def test_the_scenario_through_the_api(self):
        attachment = os.urandom(5000)
        with World() as w:
            world = CourseWorld(w, queue=CONFIG, view=True)
            api = Api(world.view.url)
            world.start(QQ)

            # Sent while gmail.com is down: it waits in exmail.qq.com's queue, retried.
            with smtplib.SMTP("127.0.0.1", world.ports[QQ][0], timeout=10) as s:
                s.login(USR1, "pass1")
                s.send_message(message(attachment), USR1, [USR, "error@gmail.com"])
            entry = wait_for(lambda: [e for e in api.get("/api/queue") if e["server"] == QQ and
                                      any(r["attempts"] >= 1 for r in e["recipients"])], what="a retried queue entry")[0]
            self.assertEqual(entry["from"], USR1)
            self.assertEqual(sorted(r["address"] for r in entry["recipients"]), ["error@gmail.com", USR])
            self.assertTrue(all(r["state"] == "pending" and r["next_retry"] and r["last"] for r in entry["recipients"]))

            world.start(GM)
            wait_for(lambda: self.count(api, QQ, USR1) == 1, what="the bounce in usr1's mailbox")
            wait_for(lambda: self.count(api, GM, USR) == 1, what="the message in usr's mailbox")
            wait_for(lambda: not [e for e in api.get("/api/queue") if e["server"] == QQ], what="an empty queue")

            topo = api.get("/api/world")
            servers = {s["name"]: s for s in topo["servers"]}
            self.assertEqual(set(servers), {"fdns", QQ, GM})
            self.assertTrue(all(s["up"] for s in servers.values()))
            self.assertEqual(servers["fdns"]["kind"], "fdns")
            self.assertEqual(servers[GM]["ports"]["smtp"], world.ports[GM][0])
            self.assertEqual(servers[QQ]["domains"], ["mail.sustech.edu.cn"])

            box = api.get(f"/api/mailboxes/{GM}/{USR}")
            self.assertEqual(len(box["messages"]), 1)
            m = box["messages"][0]
            self.assertEqual((m["n"], m["subject"], m["msgid"], m["seen"]), (1, "journey", MSGID, False))
            base = f"/api/messages/{GM}/{urllib.parse.quote(USR)}/{urllib.parse.quote(m['file'])}"
            view = api.get(base)
            self.assertEqual(view["mime"]["type"], "multipart/mixed")
            self.assertEqual([c["type"] for c in view["mime"]["children"]], ["text/plain", "application/octet-stream"])
            self.assertEqual(view["text"], "Hello from SUSTech, with a file.\n")
            self.assertEqual(view["attachments"], [{"part": "1.2", "filename": "data.bin",
                                                    "type": "application/octet-stream", "size": 5000}])
            resp, body = api.raw(base + "/part/1.2")
            self.assertEqual(body, attachment)
            self.assertIn('filename="data.bin"', resp.headers["Content-Disposition"])
            _, raw = api.raw(base + "/raw")
            with open(os.path.join(w.path(f"var/{GM}/mail/{USR}/new"), m["file"]), "rb") as f:
                self.assertEqual(raw, f.read())
            with self.assertRaises(urllib.error.HTTPError) as e:
                api.raw(f"/api/messages/{GM}/{USR}/..%2F..%2Fqueue/raw")
            self.assertEqual(e.exception.code, 404)
            with self.assertRaises(urllib.error.HTTPError) as e:
                api.raw(f"/api/control/stop/{GM}", method="POST")
            self.assertEqual(e.exception.code, 403)  # read-only without --control
            self.assertIn(b"<html", api.raw("/")[1])
            # Live updates: the stream starts with the current state; /api/version for polling.
            with urllib.request.urlopen(api.url + "/api/stream", timeout=10) as stream:
                self.assertEqual(stream.headers["Content-Type"], "text/event-stream")
                self.assertEqual(stream.readline(), b"event: change\n")
                self.assertTrue(stream.readline().startswith(b"data: {"))
            self.assertIsInstance(api.get("/api/version")["seq"], int)

            p = poplib.POP3("127.0.0.1", world.ports[GM][1], timeout=10)
            p.user(USR)
            p.pass_("pass")
            p.retr(1)
            p.quit()
            boxes = {(b["server"], b["account"]): b for b in api.get("/api/mailboxes")}
            self.assertEqual(boxes[(GM, USR)]["messages"], 1)
            self.assertGreater(boxes[(GM, USR)]["octets"], 5000)

            # The journey, from the servers' events.
            steps = wait_for(lambda: self.journey(api, ["submission", "dns", "relay", "delivery", "bounce", "pop3"]),
                             what="the whole journey")
            first = {}
            for s in steps:
                first.setdefault(s["kind"], s)
            self.assertEqual(first["submission"]["from"], "agent 127.0.0.1")
            self.assertEqual(first["submission"]["to"], QQ)
            self.assertEqual((first["dns"]["from"], first["dns"]["to"]), (QQ, "fdns"))
            relays = [s for s in steps if s["kind"] == "relay" and s["to"] == GM]
            self.assertEqual(len(relays), 1)  # one hop, seen at both ends, shown once
            self.assertEqual(relays[0]["from"], QQ)
            self.assertTrue(relays[0].get("peer_sid"))
            self.assertEqual(first["delivery"]["server"], GM)
            self.assertEqual(first["bounce"]["server"], QQ)
            self.assertEqual((first["pop3"]["from"], first["pop3"]["to"]), (GM, "agent 127.0.0.1"))
            self.assertGreater(api.get("/api/world")["events"]["received"], 0)
            journeys = api.get("/api/journeys")
            self.assertIn(MSGID, [j["msgid"] for j in journeys])

            # Sessions: the submission's, with its commands (AUTH masked), and the hop's receiving end.
            sessions = api.get(f"/api/sessions?server={urllib.parse.quote(QQ)}&proto=smtp")
            sub = [s for s in sessions if MSGID in s["msgids"]]
            self.assertEqual(len(sub), 1)
            detail = api.get(f"/api/sessions/{urllib.parse.quote(QQ)}/{sub[0]['sid']}")
            lines = [e["line"] for e in detail["events"] if e["dir"] == "c"]
            self.assertTrue(any(l.startswith("AUTH PLAIN") for l in lines), lines)
            self.assertTrue(any(l.upper().startswith("MAIL FROM") for l in lines), lines)  # smtplib writes "mail FROM"
            peer = api.get(f"/api/sessions/{urllib.parse.quote(GM)}/{relays[0]['peer_sid']}")
            self.assertEqual((peer["from_party"], peer["to_party"]), (QQ, GM))
            for s in api.get("/api/sessions?limit=1000"):
                api.get(f"/api/sessions/{urllib.parse.quote(s['server'])}/{urllib.parse.quote(s['sid'])}")

            # No secret in anything served.
            plain = base64.b64encode(f"\0{USR1}\0pass1".encode())
            for body in api.bodies:
                for secret in (b"pass1", plain, b"PASS pass"):
                    self.assertNotIn(secret, body)

    def test_control_is_forwarded_to_the_world_control_socket(self):
        with World() as w:
            cfg = w.write("config/config.toml", world_config({QQ: (w.free_port(), w.free_port())}))
            ctl = w.path("world.ctl")
            got = []
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
                srv.bind(ctl)
                srv.listen(1)

                def serve():  # the supervisor's side, as scripts/worldctl.py expects it
                    conn, _ = srv.accept()
                    with conn:
                        data = b""
                        while not data.endswith(b"\n"):
                            data += conn.recv(4096)
                        got.append(json.loads(data))
                        conn.sendall(b"stopped exmail.qq.com\nexit=0\n")

                t = threading.Thread(target=serve, daemon=True)
                t.start()
                view = start_view(w, cfg, control=ctl)
                api = Api(view.url)
                _, body = api.raw(f"/api/control/stop/{QQ}", method="POST")
                t.join(5)
            self.assertEqual(got, [{"args": ["stop", QQ]}])
            self.assertEqual(json.loads(body), {"exit": 0, "lines": [f"stopped {QQ}"]})
            with self.assertRaises(urllib.error.HTTPError) as e:
                api.raw("/api/control/explode/" + QQ, method="POST")
            self.assertEqual(e.exception.code, 404)  # only the world's verbs, only its servers
            self.assertTrue(api.get("/api/world")["control"])
            # Any web page may POST here (a bodyless POST needs no CORS preflight), and a DNS name rebound
            # to 127.0.0.1 reaches the view too: only requests of the view's own origin act.
            port = view.port
            for hostile in ({"Origin": "http://evil.example"},
                            {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"},
                            {"Host": f"evil.example:{port}"}):
                with self.assertRaises(urllib.error.HTTPError, msg=hostile) as e:
                    api.raw(f"/api/control/stop/{QQ}", method="POST", headers=hostile)
                self.assertEqual(e.exception.code, 403, hostile)
            with self.assertRaises(urllib.error.HTTPError) as e:  # the page's own POST acts (the socket is gone)
                api.raw(f"/api/control/stop/{QQ}", method="POST", headers={"Origin": f"http://127.0.0.1:{port}"})
            self.assertEqual(e.exception.code, 409)
            self.assertEqual(w.stop(view), 0)  # SIGTERM: a clean stop, its socket removed
            self.assertIn("event=stopped", view.log())
            self.assertFalse(os.path.exists(view.events))

    def test_a_dns_name_rebound_to_loopback_reads_nothing(self):
        """A hostile web page whose DNS name the attacker points at 127.0.0.1 may make the browser GET the
        view from that page's origin: its Host names the page's domain. Only Host names of this machine's
        loopback (or --listen) are served, so the page cannot read the world's mail."""
        with World() as w:
            cfg = w.write("config/config.toml", world_config({GM: (w.free_port(), w.free_port())}))
            view = start_view(w, cfg)
            api = Api(view.url)
            for path in ("/api/world", "/api/mailboxes", "/", "/static/app.js"):
                with self.assertRaises(urllib.error.HTTPError, msg=path) as e:
                    api.raw(path, headers={"Host": f"evil.example:{view.port}"})
                self.assertEqual(e.exception.code, 403, path)
            for host in (f"127.0.0.1:{view.port}", f"localhost:{view.port}", "127.0.0.1"):
                r, _ = api.raw("/api/world", headers={"Host": host})
                self.assertEqual(r.status, 200, host)

    def test_sigterm_just_after_listening_stops_it(self):
        """A supervisor may stop the view as soon as it says event=listening (a world that fails to start):
        the signal must not be lost while the HTTP server is between its bind and its accept loop."""
        with World() as w:
            cfg = w.write("config/config.toml", world_config({GM: (w.free_port(), w.free_port())}))
            for _ in range(10):
                view = start_view(w, cfg)
                self.assertEqual(w.stop(view, timeout=3), 0)

    def test_message_files_are_regular_files_in_the_maildir(self):
        """A symlink in a Maildir does not serve what it points to, and a FIFO does not hang the view."""
        with World() as w:
            cfg = w.write("config/config.toml", world_config({GM: (w.free_port(), w.free_port())}, {GM: {USR: "pass"}}))
            new = w.path(f"var/{GM}/mail/{USR}/new")
            for sub in ("new", "cur", "tmp"):
                os.makedirs(w.path(f"var/{GM}/mail/{USR}/{sub}"), exist_ok=True)
            secret = w.write("secret.txt", "Subject: not mail\r\n\r\nthe world's secrets\r\n")
            os.symlink(os.path.abspath(secret), os.path.join(new, "1795316797.M1P1Q1.gm"))
            os.mkfifo(os.path.join(new, "1795316798.M2P2Q2.gm"))
            with open(os.path.join(new, "1795316799.M3P3Q3.gm"), "w") as f:
                f.write("Subject: fine\r\n\r\nbody\r\n")
            view = start_view(w, cfg)
            api = Api(view.url)
            base = f"/api/messages/{GM}/{urllib.parse.quote(USR)}/"
            for name in ("1795316797.M1P1Q1.gm", "1795316798.M2P2Q2.gm"):
                for tail in ("", "/raw"):
                    with self.assertRaises(urllib.error.HTTPError, msg=name + tail) as e:
                        api.raw(base + name + tail)
                    self.assertEqual(e.exception.code, 404, name + tail)
            self.assertIn(b"body", api.raw(base + "1795316799.M3P3Q3.gm/raw")[1])
            self.assertEqual(api.get(base + "1795316799.M3P3Q3.gm")["subject"], "fine")

    def count(self, api, server, account):
        return {(b["server"], b["account"]): b["messages"] for b in api.get("/api/mailboxes")}[(server, account)]

    def journey(self, api, kinds):
        """The journey's steps once the kinds appear in this order (first occurrences), else None."""
        try:
            steps = api.get("/api/journey/" + urllib.parse.quote(MSGID, safe=""))["steps"]
        except urllib.error.HTTPError:
            return None
        seen = [s["kind"] for s in steps]
        firsts = [seen.index(k) if k in seen else -1 for k in kinds]
        return steps if -1 not in firsts and firsts == sorted(firsts) else None


if __name__ == "__main__":
    unittest.main()
