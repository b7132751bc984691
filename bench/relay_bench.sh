#!/bin/bash
# Relay throughput: exmail.qq.com -> gmail.com through fdns (two mailsrv), against two Postfix instances
# relaying to each other (bench/postfix_pair.sh), in one run.
#   bench/relay_bench.sh [MSGS=6000] [REPS=3] [BUILD=build]
# Load: smtp-source -s 20 (20 concurrent submitting sessions, a new connection per message), 1 KB
# messages from sender@mail.sustech.edu.cn to mbench@gmail.com, into the first server; a run ends when the
# N-th message is in the second server's Maildir/new. Server CPU: both servers' process trees.
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
MSGS=${1:-6000} REPS=${2:-3} BUILD=${3:-build}
scripts/setup-deps >/dev/null
if [ ! -x /usr/sbin/smtp-source ]; then
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix >/dev/null
fi
[ -x "$BUILD/apps/mailsrv" ] || scripts/build "$BUILD"

RUN=$(mktemp -d /tmp/mw-bench-relay.XXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  bench/postfix_pair.sh stop >/dev/null 2>&1
  rm -rf "$RUN" /home/mbench/.bench-trash
}
trap cleanup EXIT
results=()

DNS=$(free_port) QS=$(free_port) QP=$(free_port) GS=$(free_port) GP=$(free_port)
mkdir -p "$RUN/config" "$RUN/fdns"
cat > "$RUN/config/config.toml" <<CFG
[server]
"exmail.qq.com" = { smtp = $QS, pop = $QP }
"gmail.com" = { smtp = $GS, pop = $GP }
[accounts."exmail.qq.com"]
"sender@mail.sustech.edu.cn" = "pw"
[accounts."gmail.com"]
"mbench@gmail.com" = "pw"
[fdns]
listen = "127.0.0.1:$DNS"
[limits]
sessions = 20000
CFG
cat > "$RUN/fdns/fdns.toml" <<ZONE
[MX]
"mail.sustech.edu.cn." = "mxbiz1.qq.com."
"gmail.com." = "gmail-smtp-in.l.google.com."
[P]
"mxbiz1.qq.com." = $QS
"gmail-smtp-in.l.google.com." = $GS
ZONE

echo "== waiting 35 s for earlier deletions to age (ext4 recently_deleted(), see docs/benchmarks.md)"
sleep 35
echo "== mailsrv: fdns + exmail.qq.com + gmail.com"
(cd "$RUN" && exec nice -n -10 "$OLDPWD/$BUILD/apps/fdns" 2>fdns.log) &
PIDS+=($!)
(cd "$RUN" && exec nice -n -10 "$OLDPWD/$BUILD/apps/mailsrv" -n exmail.qq.com 2>qq.log) &
PIDS+=($!); QPID=$!
(cd "$RUN" && exec nice -n -10 "$OLDPWD/$BUILD/apps/mailsrv" -n gmail.com 2>gm.log) &
PIDS+=($!); GPID=$!
for _ in $(seq 100); do [ "$(cat "$RUN"/*.log | grep -c event=listening)" -ge 6 ] && break; sleep 0.05; done
for _ in $(seq "$REPS"); do
  note "$(nice -n -10 python3 bench/smtp_run.py --name mailsrv-relay --port "$QS" --conc 20 --msgs "$MSGS" \
    --rcpt mbench@gmail.com --sender sender@mail.sustech.edu.cn \
    --maildir "$RUN/var/gmail.com/mail/mbench@gmail.com" --pids "$QPID,$GPID")"
done
grep -c "result=deferred" "$RUN/qq.log" | sed 's/^/deferred recipients during the runs: /'

echo "== postfix: two instances (postmulti), relaying on loopback"
bench/postfix_pair.sh start >/dev/null 2>&1 || { echo "postfix instances did not start"; exit 1; }
install -d -o mbench -g mbench /home/mbench/Maildir /home/mbench/Maildir/tmp /home/mbench/Maildir/new /home/mbench/Maildir/cur
PA=$(tr -d ' ' < /var/spool/postfix-mwa/pid/master.pid) PB=$(tr -d ' ' < /var/spool/postfix-mwb/pid/master.pid)
for _ in $(seq "$REPS"); do
  sleep 2
  note "$(nice -n -10 python3 bench/smtp_run.py --name postfix-relay --port 2601 --conc 20 --msgs "$MSGS" \
    --rcpt mbench@gmail.com --sender sender@mail.sustech.edu.cn --maildir /home/mbench/Maildir --pids "$PA,$PB")"
done

echo "== summary (medians of $REPS runs, end to end)"
printf '%s\n' "${results[@]}" | awk '
  /^server=/ { split($1, s, "="); split($5, e, "="); split($7, m, "="); n[s[2]]++; E[s[2], n[s[2]]] = e[2] + 0; M[s[2], n[s[2]]] = m[2] + 0 }
  function med(A, k,   i, j, t, v, c) {
    c = n[k]; for (i = 1; i <= c; i++) v[i] = A[k, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
  }
  END {
    a = "mailsrv-relay"; b = "postfix-relay"
    printf "mailsrv %d msg/s, %.2f ms CPU/msg | postfix %d msg/s, %.2f ms CPU/msg | ratio %.1fx msg/s, %.1fx less CPU\n",
      med(E, a), med(M, a), med(E, b), med(M, b), med(E, a) / med(E, b), med(M, b) / med(M, a)
  }'
