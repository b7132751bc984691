#!/bin/bash
# Growth with the size of a message (issue 15, item 4): 1, 10 and 25 MB messages (a short text and one
# base64 attachment; a 1 KB message as the base line) through
#   (a) smtp:  SMTP into the server's Maildir, durable (mailsrv exmail.qq.com | Postfix, bench/postfix.sh),
#   (b) relay: exmail.qq.com -> gmail.com through fdns, STARTTLS as by default (mailsrv pair | the Postfix
#              pair, bench/postfix_pair.sh, which relays without TLS),
#   (c) retr:  POP3 RETR of the same stored message (mailsrv | Dovecot, bench/dovecot/ tuned);
# MB/s (10^6 octets) for each, as a fraction of the loopback ceiling measured in the same run with iperf3,
# and the server's peak RSS growth during the transfer (bench/bigmsg_load.py says how).
#   bench/scale_bigmsg.sh [REPS=3] [BUILD=build]
# Loopback only; every process it starts is stopped by its PID; Postfix's config is restored by its scripts.
# Rows: kind scale_bigmsg (bench/tsv.py); a complete run publishes them (scale_publish bigmsg).
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
REPS=${1:-3} BUILD=${2:-build}
SIZES="1000 1000000 10000000 25000000"
scripts/setup-deps >/dev/null
command -v iperf3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q iperf3 >/dev/null
command -v dovecot >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dovecot-pop3d >/dev/null
[ -x "$BUILD/apps/mailsrv" ] || scripts/build "$BUILD"
id mbench >/dev/null 2>&1 || useradd -m -d /home/mbench -s /usr/sbin/nologin mbench
scale_begin

RUN=$(mktemp -d /tmp/mw-bench-bigmsg.XXXX)
chmod 755 "$RUN"
PIDS=() DPID="" IPID=""
cleanup() {
  for p in "${PIDS[@]}" $DPID $IPID; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  bench/postfix.sh stop >/dev/null 2>&1
  bench/postfix_pair.sh stop >/dev/null 2>&1
  rm -rf "$RUN"
}
trap cleanup EXIT
for s in $SIZES; do python3 bench/bigmsg_load.py gen "$s" "$RUN/m$s"; done

echo "== the loopback ceiling: iperf3, 3 s, one stream"
IPORT=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$IPORT" -1 >/dev/null 2>&1 &
IPID=$!
sleep 0.5
CEIL=$(iperf3 -c 127.0.0.1 -p "$IPORT" -t 3 -J | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8e6))')
wait "$IPID" 2>/dev/null; IPID=""
python3 bench/tsv.py scale_bigmsg_ceiling server=iperf3 mb_per_s="$CEIL"

DNS=$(free_port) QS=$(free_port) QP=$(free_port) GS=$(free_port) GP=$(free_port) DPORT=$(free_port)
relay_pair_world "$RUN" "$DNS" "$QS" "$QP" "$GS" "$GP" "message_size = 67108864"

# One transfer per size and repetition, the sizes interleaved: LOAD ARGS... (bigmsg_load.py smtp|retr). A
# 1 KB transfer first, not counted: the processes a first message starts (Postfix's cleanup and local,
# Dovecot's pop3) and a first TLS session are not what a size costs.
each_size() {
  BENCH_TSV_DIR= python3 bench/bigmsg_load.py "$@" --file "$RUN/m1000" --octets 1000 >/dev/null || return 1
  for _ in $(seq "$REPS"); do
    for s in $SIZES; do
      note "$(nice -n -10 python3 bench/bigmsg_load.py "$@" --ceiling "$CEIL" --file "$RUN/m$s" --octets "$s")" || return 1
    done
  done
}

echo "== mailsrv: fdns + exmail.qq.com + gmail.com"
(cd "$RUN" && exec nice -n -10 "$OLDPWD/$BUILD/apps/fdns" 2>fdns.log) &
PIDS+=($!)
(cd "$RUN" && exec nice -n -10 "$OLDPWD/$BUILD/apps/mailsrv" -n exmail.qq.com 2>qq.log) &
PIDS+=($!); QPID=$!
(cd "$RUN" && exec nice -n -10 "$OLDPWD/$BUILD/apps/mailsrv" -n gmail.com 2>gm.log) &
PIDS+=($!); GPID=$!
for _ in $(seq 100); do [ "$(cat "$RUN"/*.log | grep -c event=listening)" -ge 6 ] && break; sleep 0.05; done
QBOX="$RUN/var/exmail.qq.com/mail/sender@mail.sustech.edu.cn"
each_size smtp --server mailsrv --path smtp --port "$QS" --rcpt sender@mail.sustech.edu.cn --maildir "$QBOX" --pids "$QPID" || exit 1
each_size smtp --server mailsrv --path relay --port "$QS" --rcpt mbench@gmail.com \
  --maildir "$RUN/var/gmail.com/mail/mbench@gmail.com" --pids "$QPID,$GPID" || exit 1
grep -m1 -o 'tls=[^ ]*' "$RUN/qq.log" | sed 's/^/relay session: /'

echo "== the same messages in both maildrops for RETR"
for s in $SIZES; do
  python3 - "$RUN/m$s" "$QS" <<'PY' || exit 1
import socket, sys
data = open(sys.argv[1], "rb").read().replace(b"\n", b"\r\n")
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=60)
f = s.makefile("rb")
def reply():
    while (l := f.readline())[3:4] == b"-": pass
    return l
reply()
for c in (b"EHLO b", b"MAIL FROM:<b@b>", b"RCPT TO:<sender@mail.sustech.edu.cn>", b"DATA"):
    s.sendall(c + b"\r\n"); reply()
s.sendall(data + b".\r\n")
assert reply().startswith(b"250")
s.sendall(b"QUIT\r\n")
PY
done
DBOX="$RUN/dovecot/mail/bigpop/Maildir"
mkdir -p "$DBOX/new" "$DBOX/cur" "$DBOX/tmp" "$RUN/dovecot/run" "$RUN/dovecot/state"
i=0
for f in "$QBOX"/new/*; do i=$((i + 1)); cp "$f" "$DBOX/new/1700000000.M${i}P1.bench"; done
echo "bigpop:{PLAIN}pw:$(id -u mbench):$(id -g mbench)::$RUN/dovecot/mail/bigpop::" > "$RUN/dovecot/users"
chown -R mbench:mbench "$RUN/dovecot/mail"
each_size retr --server mailsrv --path retr --port "$QP" --user sender@mail.sustech.edu.cn --pids "$QPID" || exit 1
for p in "${PIDS[@]}"; do kill "$p"; wait "$p" 2>/dev/null; done
PIDS=()

echo "== dovecot (tuned): RETR"
sed -e "s|@RUN@|$RUN|g" -e "s|@PORT@|$DPORT|" bench/dovecot/dovecot.conf > "$RUN/dovecot/d.conf"
cat bench/dovecot/tuned.conf >> "$RUN/dovecot/d.conf"
nice -n -10 dovecot -F -c "$RUN/dovecot/d.conf" > "$RUN/dovecot/stdout" 2>&1 &
DPID=$!
for _ in $(seq 100); do ss -ltn | grep -q "127.0.0.1:$DPORT " && break; sleep 0.1; done
each_size retr --server dovecot --path retr --port "$DPORT" --user bigpop --pids "$DPID" || exit 1
kill $DPID; wait $DPID 2>/dev/null; DPID=""

echo "== postfix: SMTP into its Maildir (local(8), ~mbench/Maildir)"
bench/postfix.sh start >/dev/null 2>&1 || { echo "postfix did not start"; exit 1; }
postconf -e "message_size_limit = 67108864" && postfix reload >/dev/null 2>&1
sleep 1
PF=$(tr -d ' ' < /var/spool/postfix/pid/master.pid)
each_size smtp --server postfix --path smtp --port 2525 --rcpt mbench@localhost --maildir /home/mbench/Maildir --pids "$PF" || exit 1
bench/postfix.sh stop >/dev/null 2>&1

echo "== postfix pair: relaying on loopback (no TLS)"
bench/postfix_pair.sh start >/dev/null 2>&1 || { echo "postfix instances did not start"; exit 1; }
for i in mwa mwb; do postconf -c /etc/postfix-$i -e "message_size_limit = 67108864"; postfix -c /etc/postfix-$i reload >/dev/null 2>&1; done
sleep 1
PA=$(tr -d ' ' < /var/spool/postfix-mwa/pid/master.pid) PB=$(tr -d ' ' < /var/spool/postfix-mwb/pid/master.pid)
each_size smtp --server postfix --path relay --port 2601 --rcpt mbench@gmail.com --maildir /home/mbench/Maildir --pids "$PA,$PB" || exit 1
bench/postfix_pair.sh stop >/dev/null 2>&1

echo "== summary: medians of $REPS (MB/s, fraction of the loopback's $CEIL MB/s, peak RSS growth in KiB: the largest)"
printf '%s\n' "${results[@]}" | python3 -c '
import sys, statistics
rows, growth = {}, "rss_growth_kb"
for line in sys.stdin:
    v = dict(kv.split("=", 1) for kv in line.split())
    rows.setdefault((v["path"], v["server"], float(v["size_mb"])), []).append(v)
for (path, server, size), rs in sorted(rows.items()):
    mb = statistics.median(float(r["mb_per_s"]) for r in rs)
    print(f"{path:6} {server:8} {size:8.3f} MB  {mb:8.1f} MB/s  {mb / float(sys.argv[1]):6.3f} of loopback  "
          f"growth {max(int(r[growth]) for r in rs):7d} KiB")
' "$CEIL"
scale_publish bigmsg
