#!/usr/bin/python3
"""One Maildir per size, served by both mailsrv and Dovecot (bench/scale_mailbox.sh).

mailbox_fill.py ROOT UID GID SMTP_PORT POP_PORT N...
  ROOT/mailsrv/data/mail/boxN@localhost/cur   N messages of 2,048 bytes (bench/pop3_setup.py's), written
                                             straight into cur/ as "UNIQUE,S=2048,W=WSIZE:2," so that
                                             neither server renames anything and both take the sizes
                                             from the names; owned by UID:GID (Dovecot writes its index
                                             and uidlist into the same Maildir)
  ROOT/dovecot/mail/boxN/Maildir             a symlink to that Maildir; ROOT/dovecot/users (passwords "pw")
  ROOT/mailsrv/config.toml                   accounts boxN@localhost (server "bench")"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pop3_setup import msg  # noqa: E402

root, uid, gid, smtp, pop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
sizes = [int(a) for a in sys.argv[6:]]
t0 = 1700000000
os.makedirs(os.path.join(root, "dovecot", "mail"), exist_ok=True)
for n in sizes:
    user = f"box{n}"
    md = os.path.join(root, "mailsrv", "data", "mail", f"{user}@localhost")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    cur = os.path.join(md, "cur")
    for i in range(n):
        data = msg(i, user)
        # Delivery order is the order of the names (seconds, then microseconds), as both servers list.
        wsize = len(data) + data.count(b"\n")
        name = f"{t0 + i // 1000}.M{i % 1000}P1Q{i}.bench,S={len(data)},W={wsize}:2,"
        fd = os.open(os.path.join(cur, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.close(fd)
    for d in (md, cur, os.path.join(md, "new"), os.path.join(md, "tmp")):
        os.chown(d, uid, gid)
    home = os.path.join(root, "dovecot", "mail", user)
    os.makedirs(home, exist_ok=True)
    os.chown(home, uid, gid)
    os.symlink(md, os.path.join(home, "Maildir"))
for d in (os.path.join(root, "mailsrv", "data", "mail"), os.path.join(root, "mailsrv", "data")):
    os.chmod(d, 0o755)
with open(os.path.join(root, "dovecot", "users"), "w") as f:
    for n in sizes:
        f.write(f"box{n}:{{PLAIN}}pw:{uid}:{gid}::{root}/dovecot/mail/box{n}::\n")
with open(os.path.join(root, "mailsrv", "config.toml"), "w") as f:
    f.write(f'[server]\n"bench" = {{ smtp = {smtp}, pop = {pop} }}\n[accounts."bench"]\n')
    for n in sizes:
        f.write(f'"box{n}@localhost" = "pw"\n')
print("maildrops:", " ".join(str(n) for n in sizes))
