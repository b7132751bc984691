"""The lab CA and the server certificates (issue 12, defects 2, 3 and 7): a CA that cannot be read is an
error, never replaced; a server started before its DNS server gets its MX names once DNS answers; the
certificate names the listen address as an IP and as a DNS name, so fetchmail polling 127.0.0.1 verifies."""
import os
import pwd
import shutil
import smtplib
import socket
import ssl
import struct
import subprocess
import threading
import unittest

from world import QQ, CourseWorld, World, binary

USR2 = ("usr2@mail.sustech.edu.cn", "pass2")


def ca_context(w):
    return ssl.create_default_context(cafile=w.path("var/ca/ca.pem"))


def served_certificate(w, port, server_hostname, addr="127.0.0.1"):
    """STARTTLS on the SMTP port, verifying the chain and `server_hostname`: the peer's certificate."""
    with smtplib.SMTP(addr, port, timeout=10) as s:
        s.ehlo("test")
        code, _ = s.docmd("STARTTLS")
        assert code == 220, code
        tls = ca_context(w).wrap_socket(s.sock, server_hostname=server_hostname)
        cert = tls.getpeercert()
        tls.close()
        return cert


def read(path):
    with open(path, "rb") as f:
        return f.read()


class CaFilesTest(unittest.TestCase):
    """Only "no CA files at all" creates a CA; anything else is one line naming the file, and exit 2."""

    @staticmethod
    def world_with_a_ca(w):
        """The course's world after one start of exmail.qq.com: (world, ca.pem path, ca.key path)."""
        world = CourseWorld(w, resolver="zone")
        world.start(QQ)
        world.stop(QQ)
        return world, w.path("var/ca/ca.pem"), w.path("var/ca/ca.key")

    def run_mailsrv(self, w, world, preexec_fn=None):
        try:
            return subprocess.run([binary("mailsrv"), "-n", QQ, *world.resolver], cwd=w.dir, capture_output=True,
                                  text=True, timeout=10, preexec_fn=preexec_fn)
        except subprocess.TimeoutExpired as e:
            self.fail(f"mailsrv started instead of refusing the CA files; log:\n{(e.stderr or b'').decode()}")

    def assert_refused(self, r, name):
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("mailsrv: "), lines[0])
        self.assertIn(os.path.join("ca", name), lines[0])

    def test_a_ca_that_cannot_be_read_is_one_error_and_never_replaced(self):
        with World() as w:
            world, pem, key = self.world_with_a_ca(w)
            good = {pem: read(pem), key: read(key)}

            def restore():
                for p, data in good.items():
                    if os.path.isdir(p):
                        os.rmdir(p)
                    with open(p, "wb") as f:
                        f.write(data)

            def truncate_key():
                with open(key, "wb") as f:
                    f.write(good[key][: len(good[key]) // 2])

            def key_is_a_directory():
                os.remove(key)
                os.mkdir(key)

            def corrupt_pem():
                with open(pem, "wb") as f:
                    f.write(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")

            cases = [("truncated ca.key", truncate_key, "ca.key"),
                     ("ca.key is a directory", key_is_a_directory, "ca.key"),
                     ("only ca.pem", lambda: os.remove(key), "ca.key"),
                     ("only ca.key", lambda: os.remove(pem), "ca.pem"),
                     ("corrupt ca.pem", corrupt_pem, "ca.pem")]
            for what, damage, name in cases:
                with self.subTest(what):
                    damage()
                    before = {p: (read(p) if os.path.isfile(p) else None) for p in good}
                    r = self.run_mailsrv(w, world)
                    self.assert_refused(r, name)
                    self.assertEqual({p: (read(p) if os.path.isfile(p) else None) for p in good}, before)
                    restore()
            # Everything restored: the same CA is used again (nothing was replaced on the way).
            world.start(QQ)
            world.stop(QQ)
            self.assertEqual({p: read(p) for p in good}, good)

    def test_a_ca_key_owned_by_another_uid(self):
        with World() as w:
            world, pem, key = self.world_with_a_ca(w)
            good = (read(pem), read(key))
            if os.geteuid() == 0:
                # Root reads any file: run mailsrv as nobody, owning everything but ca.key (root's, 0600).
                nobody = pwd.getpwnam("nobody")
                for root, dirs, files in os.walk(w.dir):
                    for p in [root] + [os.path.join(root, f) for f in dirs + files]:
                        if p != key:
                            os.chown(p, nobody.pw_uid, nobody.pw_gid)

                def drop():
                    os.setgid(nobody.pw_gid)
                    os.setuid(nobody.pw_uid)
                preexec = drop
            else:
                os.chmod(key, 0)
                preexec = None
            r = self.run_mailsrv(w, world, preexec)
            os.chmod(key, 0o600)
            self.assert_refused(r, "ca.key")
            self.assertEqual((read(pem), read(key)), good)


class FakeDns:
    """A DNS server on 127.0.0.1 (UDP) that answers MX from `mx` ({domain: host}) and SERVFAIL for any
    other name: a DNS server that is up but cannot answer for some domains yet."""

    def __init__(self):
        self.mx = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()

    @staticmethod
    def encode(name):
        return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"

    def serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            i, labels = 12, []
            while data[i]:
                labels.append(data[i + 1:i + 1 + data[i]].decode())
                i += 1 + data[i]
            qtype = struct.unpack(">H", data[i + 1:i + 3])[0]
            question = data[12:i + 5]
            host = self.mx.get(".".join(labels).lower())
            answers = b""
            if host is not None and qtype == 15:
                rdata = struct.pack(">H", 10) + self.encode(host)
                answers = b"\xc0\x0c" + struct.pack(">HHIH", 15, 1, 60, len(rdata)) + rdata
            rcode = 2 if host is None else 0
            header = data[:2] + struct.pack(">HHHHH", 0x8580 | rcode, 1, 1 if answers else 0, 0, 0)
            self.sock.sendto(header + question + answers, peer)


class CertificateNamesTest(unittest.TestCase):
    def test_names_that_answer_are_added_while_others_still_fail(self):
        with World() as w:
            dns = FakeDns()
            try:
                smtp, pop = w.free_port(), w.free_port()
                config = w.write("config.toml", f'[server]\n"x.test" = {{ smtp = {smtp}, pop = {pop} }}\n'
                                                f'[accounts."x.test"]\n"u@a.test" = "pw"\n"u@b.test" = "pw"\n')
                srv = w.start("mailsrv", ["-n", "x.test", "-c", config, "--dns", f"127.0.0.1:{dns.port}"], listening=2)
                srv.wait_for("event=cert_names_incomplete", timeout=10)
                self.assertRegex(srv.log(), r"event=cert_names_incomplete missing=a\.test,b\.test")
                dns.mx["a.test"] = "mx.a.test"  # b.test still fails: a.test's name must not wait for it
                srv.wait_for("event=cert_reissued", timeout=20)
                first = next(l for l in srv.lines if "event=cert_reissued" in l)
                self.assertIn("mx.a.test", first)
                self.assertNotIn("mx.b.test", first)
                self.assertIn(("DNS", "mx.a.test"), served_certificate(w, smtp, "mx.a.test")["subjectAltName"])
                dns.mx["b.test"] = "mx.b.test"
                srv.wait_for("event=cert_reissued", count=2, timeout=40)
                cert = served_certificate(w, smtp, "mx.b.test")
                self.assertIn(("DNS", "mx.a.test"), cert["subjectAltName"])
                self.assertIn(("DNS", "mx.b.test"), cert["subjectAltName"])
            finally:
                dns.close()

    def test_mx_names_arrive_when_dns_comes_up_after_the_server(self):
        with World() as w:
            world = CourseWorld(w, resolver="later")  # neither fdns nor --zone: the DNS server is down
            qq = world.start(QQ)
            qq.wait_for("event=cert_names_incomplete", timeout=10)
            self.assertIn("missing=mail.sustech.edu.cn", qq.log())
            with self.assertRaises(ssl.SSLCertVerificationError):
                served_certificate(w, world.ports[QQ][0], "mxbiz1.qq.com")
            w.start("fdns", [], listening=2)
            qq.wait_for("event=cert_reissued", timeout=20)
            self.assertIn("mxbiz1.qq.com", next(l for l in qq.lines if "event=cert_reissued" in l))
            cert = served_certificate(w, world.ports[QQ][0], "mxbiz1.qq.com")
            self.assertIn(("DNS", "mxbiz1.qq.com"), cert["subjectAltName"])
            self.assertTrue(qq.alive())

    def test_listen_address_is_an_ip_and_a_dns_name(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            world.start(QQ)
            cert = served_certificate(w, world.ports[QQ][0], "127.0.0.1")  # check_hostname: the IP SAN
            self.assertIn(("IP Address", "127.0.0.1"), cert["subjectAltName"])
            self.assertIn(("DNS", "127.0.0.1"), cert["subjectAltName"])
            world.stop(QQ)
            # Another listen address: named too, as an IP and as a DNS name.
            w.start("mailsrv", ["-n", QQ, *world.resolver, "--listen", "127.0.0.2"], listening=2)
            cert = served_certificate(w, world.ports[QQ][0], "127.0.0.2", addr="127.0.0.2")
            self.assertIn(("IP Address", "127.0.0.2"), cert["subjectAltName"])
            self.assertIn(("DNS", "127.0.0.2"), cert["subjectAltName"])

    def test_fetchmail_polling_127_0_0_1_verifies_the_certificate(self):
        with World() as w:
            world = CourseWorld(w, resolver="zone")
            world.start(QQ)
            world.send("usr1@mail.sustech.edu.cn", [USR2[0]], "Subject: for fetchmail\r\n\r\nfetched with sslcertck\r\n")
            home = w.path("fetchmail")
            os.makedirs(home, mode=0o700)
            out = os.path.join(home, "mbox")
            rc = os.path.join(home, "fetchmailrc")
            with open(rc, "w") as f:
                f.write(f'poll 127.0.0.1 service {world.ports[QQ][1]} protocol pop3\n'
                        f'  user "{USR2[0]}" password "{USR2[1]}"\n'
                        f'  sslproto TLS1.2+ sslcertck sslcertfile "{w.path("var/ca/ca.pem")}"\n'
                        f'  mda "/bin/sh -c \'cat >> {out}\'" keep\n')
            os.chmod(rc, 0o600)
            env = dict(os.environ, HOME=home, FETCHMAILHOME=home)
            r = subprocess.run([shutil.which("fetchmail") or "fetchmail", "-f", rc, "--nodetach", "--nosyslog", "-v"],
                               capture_output=True, text=True, timeout=60, env=env)
            log = r.stdout + r.stderr
            self.assertEqual(r.returncode, 0, log)
            self.assertNotIn("mismatch", log)
            self.assertIn("fetched with sslcertck", read(out).decode())


if __name__ == "__main__":
    unittest.main()
