#!/bin/bash
# Growth with a long queue (issue 15, item 2): N messages queued for a destination that is down, mailsrv
# against Postfix with the same backlog in its deferred queue, in one run.
#   bench/scale_queue.sh [SIZES="1000 10000 100000"] [BUILD=build]
# POSTFIX_SIZES (environment, default SIZES) limits the Postfix runs. Per server and size N:
#   fill     smtp-source -s 20 -l 1000 -m N into the server, every message to user@down.test, whose MX (fdns,
#            for mailsrv) or transport (Postfix) is a closed port on 127.0.0.1; time until every message
#            was tried once and deferred (mailsrv: N entries with a result=deferred line; Postfix: N files
#            in deferred/)
#   idle     CPU of the server's process tree over IDLE seconds (default 30) right after, its memory (PSS
#            of the tree: mailsrv; Postfix's master and all its children) and the RSS of the process holding
#            the queue (mailsrv; Postfix's qmgr). The retry schedule is Postfix's default for
#            both (minimal_backoff_time 300 s; mailsrv [queue] retry_first = 300, retry_max = 4000), so
#            no retry is due in the window
#   restart  the destination comes back (a mailsrv on that port), then the server is stopped and started
#            again: start-up = start until the SMTP greeting (mailsrv: scan_queue; Postfix: `postfix
#            start`; for mailsrv also scan = launch until its event=queue_loaded), drain = start until the N-th message is in the destination's Maildir (mailsrv tries
#            every entry at start; Postfix after `postqueue -f`, issued once it answers), the memory then
# No TLS on the relay hop for either ([tls] relay = "off", smtp_tls_security_level = none): the
# handshake is item 7's subject. Postfix runs as an instance of its own (/etc/postfix-mwq, not registered
# in /etc/postfix/main.cf, removed at the end) so that it does not meet bench/postfix_pair.sh.
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
SIZES=${1:-"1000 10000 100000"} BUILD=${2:-build}
POSTFIX_SIZES=${POSTFIX_SIZES:-$SIZES} IDLE=${IDLE:-30}
scripts/setup-deps >/dev/null
if [ ! -x /usr/sbin/smtp-source ]; then
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix >/dev/null
fi
[ -x "$BUILD/apps/mailsrv" ] || scripts/build "$BUILD"
scale_begin

TOP=$(mktemp -d /tmp/mw-scale-queue.XXXX)
chmod 755 "$TOP"
PIDS=()
PFC=/etc/postfix-mwq PFQ=/var/spool/postfix-mwq
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  pf_remove mwq
  rm -rf "$TOP"
}
trap cleanup EXIT
MW=$(realpath "$BUILD")/apps

# Python helpers: greet PORT (seconds until an SMTP greeting, polling), count DIR N TIMEOUT (seconds until
# DIR holds N files, or -1).
greet() { /usr/bin/python3 - "$1" <<'PY'
import socket, sys, time
t0 = time.time()
while time.time() - t0 < 600:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
        if s.recv(512).startswith(b"220"):
            print(f"{time.time() - t0:.3f}"); sys.exit(0)
    except OSError:
        time.sleep(0.01)
print(-1)
PY
}
count() { /usr/bin/python3 - "$@" <<'PY'
import os, sys, time
d, n, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
t0 = time.time()
while time.time() - t0 < limit:
    try:
        if sum(1 for _ in os.scandir(d)) >= n:
            print(f"{time.time() - t0:.3f}"); sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
print(-1)
PY
}
# mem PID [QPID]: "PSS RSS" in kB: the PSS of PID's process tree (shared pages counted once: Postfix's many
# processes), and the RSS of QPID (default PID), the process holding the queue (Postfix: qmgr).
mem() { /usr/bin/python3 -c "import sys; sys.path.insert(0, 'bench'); from cpu import tree_mem
print(tree_mem({$1})[2], tree_mem({${2:-$1}})[1])"; }
# Seconds until the command $1 prints a number >= $2 (polled every 0.2 s, at most $3 s), or -1.
until_n() {
  local t0=$EPOCHREALTIME
  while [ "$(eval "$1")" -lt "$2" ]; do
    awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$3" 'BEGIN { exit !(b - a > l) }' && { echo -1; return; }
    sleep 0.2
  done
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'
}
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'; }  # seconds since $1 (an EPOCHREALTIME)
fill() { smtp-source -s 20 -l 1000 -m "$2" -f sender@mail.sustech.edu.cn -t user@down.test "127.0.0.1:$1"; }
# row SERVER N FILL STARTUP "PSS RSS" IDLE_CPU DRAIN "PSS RSS" (the memory while idle, and after the drain)
row() { local m0=($5) m1=($8)
  bench/tsv.py scale_queue server="$1" entries="$2" fill_s="$3" startup_s="$4" scan_s="$SCAN" pss_kb="${m0[0]}" queue_rss_kb="${m0[1]}" \
    idle_cpu_s="$6" drain_s="$7" drain_msg_s="$(awk -v n="$2" -v d="$7" 'BEGIN { printf "%.0f", (d > 0) ? n / d : 0 }')" \
    pss_drained_kb="${m1[0]}" queue_rss_drained_kb="${m1[1]}"; }

# A world per size: fdns, the queueing server "exmail.qq.com", the destination "gmail.com" (down until the
# restart) behind down.test's MX; Postfix delivers to the same destination port.
world() {
  RUN=$TOP/$1
  DNS=$(free_port) QS=$(free_port) GS=$(free_port)
  mkdir -p "$RUN/config" "$RUN/fdns"
  cat > "$RUN/config/config.toml" <<CFG
[server]
"exmail.qq.com" = { smtp = $QS, pop = $(free_port) }
"gmail.com" = { smtp = $GS, pop = $(free_port) }
[accounts."exmail.qq.com"]
"sender@mail.sustech.edu.cn" = "pw"
[accounts."gmail.com"]
"user@down.test" = "pw"
[fdns]
listen = "127.0.0.1:$DNS"
[limits]
sessions = 20000
[queue]
retry_first = 300
retry_max = 4000
[tls]
relay = "off"
CFG
  printf '[MX]\n"down.test." = "mx.down.test."\n[P]\n"mx.down.test." = %s\n' "$GS" > "$RUN/fdns/fdns.toml"
  (cd "$RUN" && exec "$MW/fdns" 2>fdns.log) &
  FPID=$!; PIDS+=($FPID)
}
start_mw() {  # NAME: starts that mailsrv of the world in $RUN (log NAME.log), its pid in $MPID
  (cd "$RUN" && exec "$MW/mailsrv" -n "$1" 2>>"$1.log") &
  MPID=$!; PIDS+=($MPID)
}
stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

run_mailsrv() {
  local n=$1 fill_s startup rss0 c0 c1 drain rss1
  world "mailsrv-$n"
  start_mw exmail.qq.com
  [ "$(greet "$QS")" != -1 ] || { echo "mailsrv did not start"; exit 1; }
  local t0=$EPOCHREALTIME
  fill "$QS" "$n" || exit 1
  # distinct entries deferred (a fill longer than the retry interval also logs retries)
  until_n "grep result=deferred '$RUN/exmail.qq.com.log' | grep -o ' id=[^ ]*' | sort -u | wc -l" "$n" 1800 >/dev/null
  fill_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  sleep 2
  c0=$(bench/cpu.py "$MPID"); sleep "$IDLE"; c1=$(bench/cpu.py "$MPID")
  rss0=$(mem "$MPID")
  stop_pid "$MPID"
  start_mw gmail.com; local gpid=$MPID
  greet "$GS" >/dev/null
  local launched=$EPOCHREALTIME
  start_mw exmail.qq.com
  [ "$(greet "$QS")" != -1 ] && startup=$(since "$launched") || startup=-1
  # scan: from the launch to its event=queue_loaded line (scan_queue and the core's load), of the startup
  SCAN=$(grep 'event=queue_loaded' "$RUN/exmail.qq.com.log" | tail -1 | /usr/bin/python3 -c "import sys, datetime
ts = sys.stdin.read().split()[0][3:].replace('Z', '+00:00')
print(f'{datetime.datetime.fromisoformat(ts).timestamp() - $launched:.3f}')")
  [ "$(count "$RUN/var/gmail.com/mail/user@down.test/new" "$n" 1800)" != -1 ] && drain=$(since "$launched") || drain=-1
  rss1=$(mem "$MPID")
  row mailsrv "$n" "$fill_s" "$startup" "$rss0" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')" "$drain" "$rss1"
  stop_pid "$MPID"; stop_pid "$gpid"; stop_pid "$FPID"
  rm -rf "$RUN"
}

pf_world() {  # a fresh Postfix instance mwq (bench/lib.sh) relaying down.test to 127.0.0.1:$GS, SMTP on $PS
  pf_instance mwq "$PS" "transport_maps = texthash:$PFC/transport" >/dev/null || return 1
  echo "down.test smtp:[127.0.0.1]:$GS" > $PFC/transport
}
pf_count() { find $PFQ/$1 -type f 2>/dev/null | wc -l; }
pf_master() { tr -d ' ' < $PFQ/pid/master.pid; }

run_postfix() {
  local n=$1 fill_s startup rss0 c0 c1 drain rss1 m
  world "postfix-$n"
  PS=$(free_port)
  pf_world || exit 1
  postfix -c $PFC start >"$RUN/postfix-start.log" 2>&1 || { echo "postfix did not start"; cat "$RUN/postfix-start.log"; exit 1; }
  [ "$(greet "$PS")" != -1 ] || { echo "postfix did not answer"; exit 1; }
  local t0=$EPOCHREALTIME
  fill "$PS" "$n" || exit 1
  until_n "pf_count deferred" "$n" 1800 >/dev/null
  fill_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  sleep 2
  m=$(pf_master)
  c0=$(bench/cpu.py "$m"); sleep "$IDLE"; c1=$(bench/cpu.py "$m")
  rss0=$(mem "$m" "$(pgrep -P "$m" -x qmgr)")
  postfix -c $PFC stop >/dev/null 2>&1
  while [ -e $PFQ/pid/master.pid ] && kill -0 "$m" 2>/dev/null; do sleep 0.1; done
  start_mw gmail.com; local gpid=$MPID
  greet "$GS" >/dev/null
  local launched=$EPOCHREALTIME
  postfix -c $PFC start >/dev/null 2>&1
  [ "$(greet "$PS")" != -1 ] && startup=$(since "$launched") || startup=-1
  SCAN=-
  postqueue -c $PFC -f
  [ "$(count "$RUN/var/gmail.com/mail/user@down.test/new" "$n" 1800)" != -1 ] && drain=$(since "$launched") || drain=-1
  m=$(pf_master); rss1=$(mem "$m" "$(pgrep -P "$m" -x qmgr)")
  row postfix "$n" "$fill_s" "$startup" "$rss0" "$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')" "$drain" "$rss1"
  postfix -c $PFC stop >/dev/null 2>&1
  stop_pid "$gpid"; stop_pid "$FPID"
  rm -rf "$RUN"
}

echo "== bench/scale_queue.sh: sizes $SIZES (Postfix $POSTFIX_SIZES), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $SIZES; do
  run_mailsrv "$n"
  case " $POSTFIX_SIZES " in *" $n "*) run_postfix "$n" ;; esac
done
[ "${PUBLISH:-1}" = 1 ] && scale_publish queue
