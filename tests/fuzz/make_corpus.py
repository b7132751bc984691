#!/usr/bin/env python3
"""Writes the hand-made seed inputs of tests/fuzz/corpus/<target>/ (docs/fuzzing.md).

Each target's input starts with its control bytes (see the comment at the top of its source file),
then the bytes a peer would send or the file a user would write. The DNS seeds are binary messages
written by the project's own encoder: build-fuzz/tests/fuzz/fuzz_make_dns_seeds (run by this script
when it exists). Regression inputs found by the fuzzers (crash-*, oom-*, ...) are kept beside the
seeds and never rewritten here.

    tests/fuzz/make_corpus.py [BUILD_DIR]     # BUILD_DIR defaults to build-fuzz
"""
import base64
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"


def seed(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def crlf(*lines):
    return "".join(l + "\r\n" for l in lines)


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def smtp_server():
    # flags, cut seed, line lengths, outcome bits (2 bytes); see smtp_server.cpp.
    ok = b"\xff\xff"
    seed("smtp_server", "pipelining-auth-data", bytes([0x65, 0x00, 0xff]) + ok + crlf(
        "EHLO client.example",
        "AUTH PLAIN " + plain("usr1@mail.sustech.edu.cn", "pass1"),
        "MAIL FROM:<usr1@mail.sustech.edu.cn> SIZE=120 BODY=8BITMIME",
        "RCPT TO:<usr@gmail.com>", "RCPT TO:<friend@example.org>", "DATA",
        "From: usr1@mail.sustech.edu.cn", "Subject: hi", "", "..a dot line", "body", ".",
        "MAIL FROM:<>", "RCPT TO:<usr2@mail.sustech.edu.cn>", "DATA", "bounce", ".", "QUIT").encode())
    seed("smtp_server", "starttls-login-bytewise", bytes([0x01, 0x01, 0x42, 0x0e, 0x00]) + crlf(
        "EHLO x", "STARTTLS", "EHLO x", "AUTH LOGIN", b64("usr1@mail.sustech.edu.cn"), b64("wrong"),
        "AUTH LOGIN " + b64("usr1@mail.sustech.edu.cn"), b64("pass1"),
        "MAIL FROM:<usr1@mail.sustech.edu.cn>", "RCPT TO:<usr@gmail.com>", "DATA", "x", ".", "QUIT").encode())
    seed("smtp_server", "long-lines-text-limit", bytes([0x10, 0x02, 0x00]) + ok + (crlf(
        "HELO a", "MAIL FROM:<a@example.org>", "RCPT TO:<usr@gmail.com>", "DATA", "Subject: long", "")
        + "B" * 300 + "\r\n.\r\n" + crlf("NOOP", "X" * 600, "QUIT")).encode())
    seed("smtp_server", "long-lines-pieces", bytes([0x00, 0x03, 0x10]) + ok + (crlf(
        "EHLO a", "MAIL FROM:<a@example.org>", "RCPT TO:<usr@gmail.com>", "DATA")
        + ".." + "C" * 200 + "\r\r\n" + "D" * 40 + "\r" + "\r\n.\r\n" + crlf("RSET", "QUIT")).encode())
    seed("smtp_server", "smuggling-bare-lf", bytes([0x00, 0x02, 0x20]) + ok + (crlf(
        "EHLO a", "MAIL FROM:<a@example.org>", "RCPT TO:<usr@gmail.com>", "DATA")
        + "a\n.\r\nMAIL FROM:<evil@example.org>\r\n\r\n.\n.\r\nx\r\n.\r\n" + crlf("QUIT")).encode())
    seed("smtp_server", "errors-and-limits", bytes([0x88, 0x00, 0x00, 0x00, 0x00]) + crlf(
        "MAIL FROM:<a@b.c>", "EHLO", "ehlo x", "MAIL FROM:<usr1@mail.sustech.edu.cn>",
        "MAIL FROM:<a@example.org> SIZE=999999999", "MAIL FROM:<a@example.org> FOO=1", "MAIL FROM:a@example.org",
        "RCPT TO:<nobody@gmail.com>", "RCPT TO:<x@example.org>", "RCPT TO:<>", "DATA", "DATA x",
        "VRFY usr", "EXPN x", "HELP", "NOOP", "RSET", "STARTTLS", "AUTH PLAIN", "BDAT 10",
        "\x01\x02", "RCPT TO:<usr@gmail.com>", "QUIT").encode())


def pop3_server():
    # flags (bits 3-5: messages), cut seed, outcome bits (2 bytes); see pop3_server.cpp.
    seed("pop3_server", "user-pass-transaction", bytes([0x18, 0x00, 0xff, 0xff]) + crlf(
        "CAPA", "USER usr@gmail.com", "PASS pass", "STAT", "LIST", "LIST 2", "UIDL", "UIDL 3", "RETR 1",
        "TOP 2 0", "TOP 1 1", "DELE 1", "DELE 1", "RETR 1", "LIST 9", "NOOP", "RSET", "DELE 3", "STAT",
        "QUIT").encode())
    seed("pop3_server", "stls-sasl-bytewise", bytes([0x1d, 0x01, 0xfe, 0xff]) + crlf(
        "CAPA", "STLS", "CAPA", "AUTH PLAIN " + plain("usr@gmail.com", "bad"), "AUTH PLAIN",
        plain("usr@gmail.com", "pass"), "LIST", "QUIT").encode())
    seed("pop3_server", "failures-and-errors", bytes([0x0c, 0x02, 0x02, 0x00]) + crlf(
        "STAT", "PASS x", "USER", "USER usr@gmail.com", "PASS wrong", "USER usr@gmail.com", "PASS in use",
        "AUTH CRAM-MD5", "AUTH PLAIN *", "AUTH PLAIN", "*", "RETR", "X" * 600, "QUIT").encode())


def smtp_reply():
    # cut seed, choice bits (2 bytes); then what a server answers. See smtp_reply.cpp.
    seed("smtp_reply", "pipelining-two-messages", bytes([0x00, 0x00, 0x00]) + crlf(
        "220 gmail.com ESMTP mailworld", "250-gmail.com Hello x [127.0.0.1]", "250-PIPELINING", "250-SIZE 33554432",
        "250-8BITMIME", "250 ENHANCEDSTATUSCODES", "250 2.1.0 Ok", "250 2.1.5 Ok",
        "550 5.1.1 Recipient address rejected: user unknown", "354 End data with <CR><LF>.<CR><LF>",
        "250 2.0.0 Ok: queued as 4Fq1", "250 2.1.0 Ok", "451 4.3.0 try later", "451 4.3.0 try later",
        "554 5.5.1 Error: no valid recipients", "221 2.0.0 Bye").encode())
    seed("smtp_reply", "starttls-auth-old-server", bytes([0x02, 0x0b, 0x00]) + crlf(
        "220 old.example", "250-old.example", "250-STARTTLS", "250 AUTH LOGIN", "220 2.0.0 Ready to start TLS",
        "250-old.example", "250 AUTH LOGIN", "334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "235 2.7.0 ok",
        "250 ok", "250 ok", "250 ok", "354 go", "250 queued", "221 bye").encode())
    seed("smtp_reply", "refusals-and-junk", bytes([0x03, 0x00, 0x00]) + crlf(
        "220-first", "220 second", "500 EHLO?", "250 helo ok", "550 5.7.1 no", "250-a", "251 b", "hello",
        "354", "421 4.4.2 closing").encode())


def dns_seeds(build):
    tool = pathlib.Path(build) / "tests" / "fuzz" / "fuzz_make_dns_seeds"
    if not tool.exists():
        print(f"make_corpus: {tool} not built; DNS seeds left as they are", file=sys.stderr)
        return
    subprocess.run([str(tool), str(CORPUS)], check=True)


def zone():
    seed("zone", "fdns.toml", (ROOT / "fdns" / "fdns.toml").read_bytes())
    seed("zone", "every-form.toml", '''ttl = 300
[MX]
"Gmail.com" = [{ pref = 20, host = "alt1.gmail.com" }, { pref = 5, host = "mx.gmail.com." }]
"a\\\\.b.example" = "mx.example"
[P]
"mx.gmail.com" = 2025
"alt1.gmail.com" = "2026"
[A]
"mx.gmail.com" = "127.0.0.2"
"alt1.gmail.com" = ["127.0.0.3", "10.0.0.1"]
''')
    seed("zone", "duplicate-names.toml", '[MX]\n"a.com" = "x.com"\n"A.COM." = "y.com"\n[P]\n"x.com" = "0"\n')


def config():
    course = (ROOT / "config" / "config.toml").read_text()
    seed("config", "config.toml", b"\x00" + course.encode())
    seed("config", "extensions.toml", b"\x00" + (course + '''
[fdns]
listen = "127.0.0.1:10053"
[paths]
var = "var"
[limits]
command_line = 512
text_line = 1000
message_size = 1048576
recipients = 10
sessions = 100
smtp_idle = 30
pop3_idle = 60
min_data_rate = 500
per_peer = 5
per_peer_exempt = ["127.0.0.0/8", "::1/128"]
[queue]
retry_first = 5
retry_max = 600
lifetime = 432000
delay_warning = 3600
[tls]
ca_dir = "var/ca"
allow_plaintext_auth = true
relay = "verify"
[policy]
submission_requires_auth = true
mx_only = false
[mailsrv."gmail.com"]
listen = "127.0.0.1"
smtps = 2465
pop3s = 2995
submission = 2587
cert = "a.pem"
key = "a.key"
limits = { recipients = 3 }
policy = { mx_only = true }
''').encode())
    seed("config", "config.json", b"\x01" + b'''{"agent": {"gmail.com": {"smtp": "smtp.gmail.com", "pop": "pop.gmail.com"}},
 "server": {"gmail.com": {"smtp": 2025, "pop": "2110"}},
 "accounts": {"gmail.com": {"usr@gmail.com": "pass", "Bob@Gmail.com": "{SHA512-CRYPT}$6$x$y"}},
 "mailsrv": {"gmail.com": {"limits": {"recipients": 3}}}}
''')
    seed("config", "users-file.toml", b"\x00" + b'''[server]
"a" = { smtp = 1, pop = 2 }
[accounts."a"]
"zed@example.com" = "z"
file = "userinfo.txt"
domain = "example.com"
''')


def userinfo():
    # flags (bit 0: domain "example.com"); see userinfo.cpp.
    seed("userinfo", "userinfo.txt", b"\x01# login password\r\nalice   pw1\r\n\r\n  bob@other.org\tpw2  \ncarol #pw3\n")
    seed("userinfo", "bad-line-3", b"\x01a b\nc d\ndave\n")
    seed("userinfo", "no-domain", b"\x00x@y.org p\nbare p\n")


MIME_FOREIGN = (
    "From: =?ISO-8859-1?Q?J=F6rg?= <j@x.org>\r\n"
    "Subject: =?utf-8?q?caf=C3=A9?= =?utf-8?b?IOKYlQ==?=\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
    "--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
    "--inner\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    "Gr=FC=DFe=\r\n aus Berlin\r\n"
    "--inner\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--inner--\r\n"
    "--outer\r\nContent-Type: application/octet-stream\r\n"
    "Content-Disposition: attachment; filename*0*=utf-8''%E4%B8%AD; filename*1=\"-part.txt\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--outer--\r\n")

# A bounce as mailsrv writes it (RFC 3464/6522), with a folded diagnostic and a returned message/rfc822.
MIME_REPORT = (
    "From: MAILER-DAEMON@a\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\r\n\r\n"
    "--R\r\nContent-Type: text/plain\r\n\r\nIt's attached below.\r\n"
    "--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a\r\nArrival-Date: x\r\n\r\n"
    "Final-Recipient: rfc822; b@c\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.c\r\n"
    "Diagnostic-Code: smtp; 550-5.1.1 no\r\n 550 5.1.1 such user\r\n\r\nFinal-Recipient: rfc822; d@c\r\n"
    "--R\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@a\r\nSubject: s\r\n\r\nbody\r\n--R--\r\n")


def mime():
    # First byte % 3: 0 parse, 1 build, 2 codecs; see mime.cpp.
    seed("mime", "parse-foreign-nested", b"\x00" + MIME_FOREIGN.encode())
    seed("mime", "parse-broken-base64", b"\x00" + (
        "Subject: y\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        "--b\r\nContent-Type: image/png; name=\"../../a.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs!!bG8\r\n"
        "--b--\r\n").encode())
    seed("mime", "parse-delivery-report", b"\x00" + MIME_REPORT.encode())
    seed("mime", "parse-no-boundary", b"\x00Subject: x\r\nContent-Type: multipart/mixed\r\n\r\nsome text\r\n")
    seed("mime", "build-fields", b"\x01" + "Grüße 你好\\\\x\\ Hello,\n.a dot line\nBye\n\\ <p>x</p>\\ "
         "报告.pdf\\ %PDF-1.4\x00\x01\xff\\ a \"b\".txt\\ \x00\\ \x02\x01\x00".encode())
    seed("mime", "codecs", b"\x02" + "a=b\ttrailing space \n.\ncafé ☕ 中文 =?x?q?y?= \"q\\\"\n".encode())


def dot_stuffer():
    # cut seed, TOP flags (bit 7: TOP, bits 0-6: lines); see dot_stuffer.cpp.
    text = "From: a@example.org\nSubject: dots\n\n.\n..two\n.three\nplain\r\nCRLF line\n\r.\nlast without end"
    seed("dot_stuffer", "message", b"\x00\x00" + text.encode())
    seed("dot_stuffer", "message-top-2-bytewise", b"\x01\x82" + text.encode())
    seed("dot_stuffer", "top-0", b"\x02\x80Subject: x\n\nbody\n")


def line_splitter():
    # cut seed, options (bit 7: split; max = 1 + bits 0-5, x16 with bit 6); see line_splitter.cpp.
    text = ("EHLO x\r\nbare lf\nlone \r cr\r\n" + "L" * 100 + "\r\n\r\n" + "M" * 63 + "\r\r\n.\r\ntail").encode()
    seed("line_splitter", "discard-64", b"\x02\x3f" + text)
    seed("line_splitter", "split-64", b"\x03\xbf" + text)
    seed("line_splitter", "split-16-bytewise", b"\x01\x8f" + text)


def kv():
    # mode 0: lengths of svc, event, a, b, then the bytes (c takes the rest); mode 1: any line. See kv.cpp.
    seed("kv", "round-trip", b"\x00\x04\x04\x09\x05smtpopenQUIT \"x\"a=b\\c\x01\r\n\xe4\xb8\xad")
    seed("kv", "event-line", b"\x01ts=2026-12-01T10:00:00.123Z prog=gmail.com event=c sid=7 "
                             b"line=\"AUTH PLAIN ****\" n=\"a\\x0d\\\\\\\"b\"")


def fault():
    # flags (bit 0: JSON), number of events, then the rule file; see fault.cpp.
    seed("fault", "rules.toml", b"\x00\x40" + b'''
[[rule]]
name = "greylist"
when = "smtp RCPT"
match = { sender = "*@gmail.com", client = ["127.0.0.0/8", "::1"] }
do = "reply 451 4.7.1 Greylisted, try again later"
first = 1
per = ["client", "sender", "recipient"]

[[rule]]
when = "smtp end-of-data"
match = { recipient = "usr2@*" }
do = "reply 552 5.2.2 Mailbox full"
every = 2

[[rule]]
when = "pop3 RETR"
do = "reply -ERR [SYS/TEMP] busy"
probability = 0.3
seed = 7
''')
    seed("fault", "dns.toml", b"\x00\x40" + b'''rule = [
  { when = "dns udp", match = { name = "gmail.com", type = "MX" }, do = "truncate" },
  { when = "dns query", match = { name = "*.qq.com" }, do = "servfail", first = 3 },
  { when = "smtp connect", do = "delay 10" },
  { when = "smtp DATA", do = "slow 1000" },
  { when = "pop3 connect", do = "drop" },
]
''')
    seed("fault", "rules.json", b"\x01\x20" + b'{"rule": [{"when": "smtp MAIL", "do": "drop", "every": 3}]}')


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build-fuzz")
    smtp_server()
    pop3_server()
    smtp_reply()
    dns_seeds(build)
    zone()
    config()
    fault()
    userinfo()
    mime()
    dot_stuffer()
    line_splitter()
    kv()
    total = sum(f.stat().st_size for f in CORPUS.rglob("*") if f.is_file())
    print(f"make_corpus: {sum(1 for f in CORPUS.rglob('*') if f.is_file())} files, {total} octets in {CORPUS}")


if __name__ == "__main__":
    main()
