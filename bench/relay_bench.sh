#!/bin/bash
# Relay throughput: exmail.qq.com -> gmail.com through fdns (two mailsrv), against two Postfix instances
# relaying to each other (bench/postfix_pair.sh), in one run.
#   [RELAY_TLS_OFF=1] bench/relay_bench.sh [MSGS=6000] [REPS=3] [BUILD=build]
# The relay hop uses STARTTLS on both pairs: mailsrv's default ([tls] relay = "may", the lab CA's
# certificates), and Postfix's with smtp_tls_security_level = may / smtpd_tls_security_level = may and
# their tlsmgr session caches (bench/postfix_pair.sh). RELAY_TLS_OFF=1 adds a third variant in the same
# run: a second mailsrv pair with [tls] relay = "off", interleaved with the first rep by rep.
# Rows (BENCH_TSV_DIR, bench/tsv.py): kind scale_relay (server, variant, msgs_per_s, cpu_ms_per_msg: the
# medians); a complete run publishes them with the figure (scale_publish relay, bench/lib.sh).
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
BUILD=$(realpath "$BUILD")

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
scale_begin

# One mailsrv pair (fdns + exmail.qq.com + gmail.com) in $RUN/$1, with $2 appended to its config.
# Sets QS (the first server's SMTP port) and WPIDS (the two servers) for that world: W_QS_$1, W_PIDS_$1.
start_world() {
  local w=$RUN/$1 DNS QS QP GS GP
  DNS=$(free_port) QS=$(free_port) QP=$(free_port) GS=$(free_port) GP=$(free_port)
  relay_pair_world "$w" "$DNS" "$QS" "$QP" "$GS" "$GP" "sessions = 20000
$2"
  (cd "$w" && exec nice -n -10 "$BUILD/apps/fdns" 2>fdns.log) &
  PIDS+=($!)
  (cd "$w" && exec nice -n -10 "$BUILD/apps/mailsrv" -n exmail.qq.com 2>qq.log) &
  PIDS+=($!); local q=$!
  (cd "$w" && exec nice -n -10 "$BUILD/apps/mailsrv" -n gmail.com 2>gm.log) &
  PIDS+=($!); local g=$!
  for _ in $(seq 100); do [ "$(cat "$w"/*.log | grep -c event=listening)" -ge 6 ] && break; sleep 0.05; done
  eval "W_QS_$1=$QS W_PIDS_$1=$q,$g"
}
run_world() {  # $1: world, $2: result name
  local qs pids
  eval "qs=\$W_QS_$1 pids=\$W_PIDS_$1"
  note "$(nice -n -10 python3 bench/smtp_run.py --name "$2" --port "$qs" --conc 20 --msgs "$MSGS" \
    --rcpt mbench@gmail.com --sender sender@mail.sustech.edu.cn \
    --maildir "$RUN/$1/var/gmail.com/mail/mbench@gmail.com" --pids "$pids")"
}

echo "== waiting 35 s for earlier deletions to age (ext4 recently_deleted(), see docs/benchmarks.md)"
sleep 35
WORLDS=(tls)
echo "== mailsrv: fdns + exmail.qq.com + gmail.com, STARTTLS on the relay hop (the default)"
start_world tls ""
if [ "${RELAY_TLS_OFF:-0}" = 1 ]; then
  echo "== mailsrv: the same pair with [tls] relay = \"off\""
  start_world off $'[tls]\nrelay = "off"'
  WORLDS+=(off)
fi
for _ in $(seq "$REPS"); do
  run_world tls mailsrv-relay
  [ "${RELAY_TLS_OFF:-0}" = 1 ] && run_world off mailsrv-relay-tlsoff
done
for w in "${WORLDS[@]}"; do
  echo "$w: deferred recipients during the runs: $(grep -c "result=deferred" "$RUN/$w/qq.log")," \
    "relay connections opened: $(grep 'event=connected' "$RUN/$w/qq.log" | grep -vc 'reused=[1-9]')," \
    "of them resumed TLS: $(grep 'event=connected' "$RUN/$w/qq.log" | grep -v 'reused=[1-9]' | grep -c 'tls_resumed=yes')"
done

echo "== postfix: two instances (postmulti), relaying on loopback"
bench/postfix_pair.sh start >/dev/null 2>&1 || { echo "postfix instances did not start"; exit 1; }
install -d -o mbench -g mbench /home/mbench/Maildir /home/mbench/Maildir/tmp /home/mbench/Maildir/new /home/mbench/Maildir/cur
PA=$(tr -d ' ' < /var/spool/postfix-mwa/pid/master.pid) PB=$(tr -d ' ' < /var/spool/postfix-mwb/pid/master.pid)
for _ in $(seq "$REPS"); do
  sleep 2
  note "$(nice -n -10 python3 bench/smtp_run.py --name postfix-relay --port 2601 --conc 20 --msgs "$MSGS" \
    --rcpt mbench@gmail.com --sender sender@mail.sustech.edu.cn --maildir /home/mbench/Maildir --pids "$PA,$PB")"
done

echo "postfix: TLS sessions on the relay hop: $(grep -c 'TLS connection established to' /var/log/postfix-mwa.log 2>/dev/null)" \
  "(client side, whole log), server side: $(grep -c 'TLS connection established from' /var/log/postfix-mwb.log 2>/dev/null)"

echo "== summary (medians of $REPS runs, end to end)"
printf '%s\n' "${results[@]}" | awk '
  /^server=/ { split($1, s, "="); split($5, e, "="); split($7, m, "="); n[s[2]]++; E[s[2], n[s[2]]] = e[2] + 0; M[s[2], n[s[2]]] = m[2] + 0 }
  function med(A, k,   i, j, t, v, c) {
    c = n[k]; for (i = 1; i <= c; i++) v[i] = A[k, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
  }
  END {
    a = "mailsrv-relay"; b = "postfix-relay"; o = "mailsrv-relay-tlsoff"
    printf "mailsrv TLS %d msg/s, %.2f ms CPU/msg | postfix TLS %d msg/s, %.2f ms CPU/msg | ratio %.1fx msg/s, %.1fx less CPU\n",
      med(E, a), med(M, a), med(E, b), med(M, b), med(E, a) / med(E, b), med(M, b) / med(M, a)
    if (n[o]) printf "mailsrv TLS-off %d msg/s, %.2f ms CPU/msg | TLS/TLS-off: %.2fx CPU per message, %.2fx msg/s\n",
      med(E, o), med(M, o), med(M, a) / med(M, o), med(E, a) / med(E, o)
    printf "ROW mailsrv tls %d %.3f\nROW postfix tls %d %.3f\n", med(E, a), med(M, a), med(E, b), med(M, b)
    if (n[o]) printf "ROW mailsrv tls-off %d %.3f\n", med(E, o), med(M, o)
  }' > "$RUN/summary"
grep -v '^ROW ' "$RUN/summary"
while read -r _ server variant rate cpu; do
  python3 bench/tsv.py scale_relay server="$server" variant="$variant" msgs_per_s="$rate" cpu_ms_per_msg="$cpu" >/dev/null
done < <(grep '^ROW ' "$RUN/summary")
# Published only when the run had every variant (the figure shows all three).
[ "${RELAY_TLS_OFF:-0}" = 1 ] && scale_publish relay
