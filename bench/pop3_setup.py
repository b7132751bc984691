#!/usr/bin/python3
"""The same maildrops for Dovecot and for mailsrv (adapted from the reference set-up's pop3_setup.py).

pop3_setup.py ROOT UID GID
  ROOT/dovecot/users         Dovecot passwd-file (all passwords "pw")
  ROOT/dovecot/mail/USER/Maildir/new   for Dovecot (owned by UID:GID)
  ROOT/mailsrv/config.toml   accounts USER@localhost = "pw" (server "bench")
  ROOT/mailsrv/data/mail/USER@localhost/new  for mailsrv, Maildir names with ,S= and ,W=
Users: popbig (1,000 messages), pop01..pop20 (10 each), mem001..mem500 (10 each, for the memory test).
Every message is 2,048 bytes with LF line ends, identical for both servers."""
import os
import sys

def msg(i, user):
    head = (f"From: sender{i}@example.org\nTo: {user}@localhost\nSubject: test message {i}\n"
            f"Message-ID: <{i}.{user}@example.org>\nDate: Mon, 01 Jan 2024 00:00:00 +0000\n\n")
    line = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm\n"
    body_len = 2048 - len(head)
    body = (line * (body_len // len(line) + 1))[:body_len - 1] + "\n"
    m = (head + body).encode()
    assert len(m) == 2048
    return m


def main():
    root, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    users = [("popbig", 1000)] + [(f"pop{i:02d}", 10) for i in range(1, 21)] + [(f"mem{i:03d}", 10) for i in range(1, 501)]
    os.makedirs(os.path.join(root, "dovecot"), exist_ok=True)
    os.makedirs(os.path.join(root, "mailsrv"), exist_ok=True)
    with open(os.path.join(root, "dovecot", "users"), "w") as f:
        for u, _ in users:
            f.write(f"{u}:{{PLAIN}}pw:{uid}:{gid}::{root}/dovecot/mail/{u}::\n")
    t0 = 1700000000
    for u, n in users:
        d_new = os.path.join(root, "dovecot", "mail", u, "Maildir", "new")
        m_new = os.path.join(root, "mailsrv", "data", "mail", f"{u}@localhost", "new")
        for d in (d_new, m_new):
            os.makedirs(d, exist_ok=True)
        for sub in ("tmp", "cur"):
            os.makedirs(os.path.join(root, "dovecot", "mail", u, "Maildir", sub), exist_ok=True)
            os.makedirs(os.path.join(root, "mailsrv", "data", "mail", f"{u}@localhost", sub), exist_ok=True)
        for i in range(n):
            data = msg(i, u)
            unique = f"{t0 + i}.M{i}P1Q{i}.bench"
            with open(os.path.join(d_new, unique), "wb") as f:
                f.write(data)
            wsize = len(data) + data.count(b"\n")
            with open(os.path.join(m_new, f"{unique},S={len(data)},W={wsize}"), "wb") as f:
                f.write(data)
    for dp, dn, fn in os.walk(os.path.join(root, "dovecot")):
        os.chown(dp, uid, gid)
        for x in fn:
            os.chown(os.path.join(dp, x), uid, gid)
    with open(os.path.join(root, "mailsrv", "config.toml"), "w") as f:
        f.write(f'[server]\n"bench" = {{ smtp = {sys.argv[4] if len(sys.argv) > 4 else 14025}, '
                f'pop = {sys.argv[5] if len(sys.argv) > 5 else 14110} }}\n[accounts."bench"]\n')
        for u, _ in users:
            f.write(f'"{u}@localhost" = "pw"\n')
        f.write("[limits]\nsessions = 20000\n")
    print("users:", len(users))


if __name__ == "__main__":
    main()
