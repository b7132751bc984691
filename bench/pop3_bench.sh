#!/bin/bash
# mailsrv's POP3 against Dovecot (default and tuned process settings) over the same maildrops.
#   bench/pop3_bench.sh [REPS=3] [BUILD=build]
# (a) one poplib client RETRs the 1,000 x 2 KB messages of popbig 10 times in one session: msgs/s, MB/s,
#     server CPU per RETR; the same with RETRs pipelined 100 at a time (poplib is the limit above); (b) 20 client processes, one account each, looping USER/PASS/STAT/QUIT for 15 s:
#     sessions/s and server CPU per session; (c) 500 logged-in idle sessions: memory per session.
# Loopback only; every server is stopped by its PID. Needs root (Dovecot drops to the mbench user).
# Environment (bench/plots.sh sets them): LOGIN_CLIENTS="1 5 20" runs (b) at these client counts (default 20,
# at most 20), LOGIN_SECS (15), RETR_PASSES (10), MEM_SESSIONS (500, at most 500); BENCH_TSV_DIR: every
# result is also a TSV row there (bench/tsv.py). MAILSRV_ALT=DIR also measures DIR/apps/mailsrv as
# "mailsrv-alt" (a change's before and after in one run); DOVECOT_MODES ("default tuned") picks Dovecot's.
# The servers take turns: each rep starts each server in turn, so that load changes hit them alike.
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
REPS=${1:-3} BUILD=${2:-build}
MAILSRV_ALT=${MAILSRV_ALT:-} DOVECOT_MODES=${DOVECOT_MODES:-default tuned}
LOGIN_CLIENTS=${LOGIN_CLIENTS:-20} LOGIN_SECS=${LOGIN_SECS:-15} RETR_PASSES=${RETR_PASSES:-10} MEM_SESSIONS=${MEM_SESSIONS:-500}
scripts/setup-deps >/dev/null
command -v dovecot >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dovecot-pop3d >/dev/null
[ -x "$BUILD/apps/mailsrv" ] || scripts/build "$BUILD"
id mbench >/dev/null 2>&1 || useradd -m -d /home/mbench -s /usr/sbin/nologin mbench

RUN=$(mktemp -d /tmp/mw-bench-pop3.XXXX)
chmod 755 "$RUN"
SPID="" DPID=""
cleanup() { for p in $SPID $DPID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$RUN"; }
trap cleanup EXIT
results=()

SPORT=$(free_port) PPORT=$(free_port) DPORT=$(free_port)
python3 bench/pop3_setup.py "$RUN" "$(id -u mbench)" "$(id -g mbench)" "$SPORT" "$PPORT" >/dev/null || exit 1

measure() {  # NAME PORT PID LAST: one rep (and on the last one, the memory test)
  BENCH_TSV_DIR= python3 bench/pop3_load.py retr "$1" "$2" popbig 1 "$3" >/dev/null  # warm-up (first login, indexes)
  note "$(nice -n -10 python3 bench/pop3_load.py retr "$1" "$2" popbig "$RETR_PASSES" "$3")"
  note "$(nice -n -10 python3 bench/pop3_load.py retrpipe "$1" "$2" popbig "$RETR_PASSES" "$3")"
  for c in $LOGIN_CLIENTS; do
    note "$(nice -n -10 python3 bench/pop3_load.py login "$1" "$2" "$c" "$LOGIN_SECS" "$3")"
  done
  [ "$4" = 1 ] && note "$(python3 bench/pop3_mem.py "$1" "$2" "$MEM_SESSIONS" "$3" 'mem%03d')"
}

run_mailsrv() {  # NAME BINARY LAST
  echo "== $1"
  nice -n -10 "$2" -n bench -c "$RUN/mailsrv/config.toml" --data "$RUN/mailsrv/data" 2>"$RUN/mailsrv.log" &
  SPID=$!
  for _ in $(seq 100); do [ "$(grep -c event=listening "$RUN/mailsrv.log")" -ge 2 ] && break; sleep 0.05; done
  [ "$(grep -c event=listening "$RUN/mailsrv.log")" -ge 2 ] || { cat "$RUN/mailsrv.log"; exit 1; }
  measure "$1" "$PPORT" $SPID "$3"
  kill $SPID; wait $SPID 2>/dev/null; SPID=""
}

run_dovecot() {  # MODE LAST
  local mode=$1
  echo "== dovecot ($mode)"
  mkdir -p "$RUN/dovecot/run" "$RUN/dovecot/state"
  sed -e "s|@RUN@|$RUN|g" -e "s|@PORT@|$DPORT|" bench/dovecot/dovecot.conf > "$RUN/dovecot/$mode.conf"
  [ $mode = tuned ] && cat bench/dovecot/tuned.conf >> "$RUN/dovecot/$mode.conf"
  nice -n -10 dovecot -F -c "$RUN/dovecot/$mode.conf" > "$RUN/dovecot/stdout" 2>&1 &
  DPID=$!
  for _ in $(seq 100); do ss -ltn | grep -q "127.0.0.1:$DPORT " && break; sleep 0.1; done
  measure "dovecot-$mode" "$DPORT" $DPID "$2"
  kill $DPID; wait $DPID 2>/dev/null; DPID=""
  sleep 1
}

for rep in $(seq "$REPS"); do
  last=$([ "$rep" = "$REPS" ] && echo 1 || echo 0)
  run_mailsrv mailsrv "$BUILD/apps/mailsrv" $last
  [ -n "$MAILSRV_ALT" ] && run_mailsrv mailsrv-alt "$MAILSRV_ALT/apps/mailsrv" $last
  for mode in $DOVECOT_MODES; do run_dovecot $mode $last; done
done

echo "== summary (medians of $REPS runs; logins with ${LOGIN_CLIENTS##* } clients)"
printf '%s\n' "${results[@]}" | awk -v lc="${LOGIN_CLIENTS##* }" '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } s = v["server"] }
  v["test"] == "retr" { n[s, "r"]++; R[s, n[s, "r"]] = v["msgs_per_s"]; M[s, n[s, "r"]] = v["MB_per_s"]; C[s, n[s, "r"]] = v["cpu_us_per_retr"] }
  v["test"] == "retrpipe" { n[s, "p"]++; Q[s, n[s, "p"]] = v["msgs_per_s"]; E[s, n[s, "p"]] = v["cpu_us_per_retr"] }
  v["test"] == "login" && v["clients"] == lc { n[s, "l"]++; L[s, n[s, "l"]] = v["sessions_per_s"]; D[s, n[s, "l"]] = v["cpu_ms_per_session"] }
  v["test"] == "mem" { P[s] = v["pss_kb_per_session"] }
  function med(A, s, k,   i, j, t, w, c) {
    c = n[s, k]; for (i = 1; i <= c; i++) w[i] = A[s, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (w[j] + 0 < w[i] + 0) { t = w[i]; w[i] = w[j]; w[j] = t }
    return (c % 2) ? w[(c + 1) / 2] : (w[c / 2] + w[c / 2 + 1]) / 2
  }
  END {
    k = split("mailsrv mailsrv-alt dovecot-default dovecot-tuned", ss, " ")
    for (i = 1; i <= k; i++) { s = ss[i]; if (!n[s, "p"]) continue
      printf "%-16s RETR %6d msg/s %6.2f MB/s %5.1f us CPU | pipelined %6d msg/s %5.1f us CPU | logins %5d/s %6.3f ms CPU | %7.2f KB PSS/session\n",
        s, med(R, s, "r"), med(M, s, "r"), med(C, s, "r"), med(Q, s, "p"), med(E, s, "p"), med(L, s, "l"), med(D, s, "l"), P[s] }
    for (i = 2; i <= k; i++) { s = ss[i]; if (!n[s, "p"]) continue
      printf "mailsrv / %s: %.2fx RETR/s (poplib), %.2fx RETR/s (pipelined), %.2fx logins/s\n", s,
        med(R, "mailsrv", "r") / med(R, s, "r"), med(Q, "mailsrv", "p") / med(Q, s, "p"), med(L, "mailsrv", "l") / med(L, s, "l") }
  }'
