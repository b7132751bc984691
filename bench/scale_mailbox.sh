#!/bin/bash
# Growth of a POP3 maildrop (issue 15, item 1): mailsrv and tuned Dovecot (bench/dovecot/, its index on)
# serving the SAME Maildir of N messages of 2 KB, for N in SIZES.
#   bench/scale_mailbox.sh [REPS=5] [BUILD=build]
# Per server and size (bench/mailbox_load.py): the first session ever (Dovecot builds its index then),
# the median of REPS sessions of login + STAT + LIST + QUIT, the median of REPS UIDLs, and the memory of
# the server's processes during a session, less theirs just after the server started. One row per server and size (kind scale_mailbox); after a
# complete run `scale_publish mailbox` (docs/plots/scale/, docs/plots/scale_mailbox.svg).
# Environment: SIZES ("100 1000 10000 100000"), STEP_LIMIT (seconds one server may take for one size,
# 900; past it the size is reported as not measured and nothing is published), NO_PUBLISH=1 (a trial:
# rows only, nothing copied into docs/).
# Loopback only; both servers stopped by their PIDs; needs root (Dovecot drops to the mbench user).
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
REPS=${1:-5} BUILD=${2:-build}
SIZES=${SIZES:-100 1000 10000 100000} STEP_LIMIT=${STEP_LIMIT:-900}
command -v dovecot >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends dovecot-pop3d >/dev/null
[ -x "$BUILD/apps/mailsrv" ] || scripts/build "$BUILD"
id mbench >/dev/null 2>&1 || useradd -m -d /home/mbench -s /usr/sbin/nologin mbench
scale_begin

RUN=$(mktemp -d /tmp/mw-scale-mailbox.XXXX)
chmod 755 "$RUN"
SPID="" DPID=""
cleanup() { for p in $SPID $DPID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$RUN"; }
trap cleanup EXIT
results=()

SPORT=$(free_port) PPORT=$(free_port) DPORT=$(free_port)
t=$(date +%s.%N)
python3 bench/mailbox_fill.py "$RUN" "$(id -u mbench)" "$(id -g mbench)" "$SPORT" "$PPORT" $SIZES || exit 1
echo "filled in $(echo "$(date +%s.%N) - $t" | bc) s"

nice -n -10 "$BUILD/apps/mailsrv" -n bench -c "$RUN/mailsrv/config.toml" --data "$RUN/mailsrv/data" 2>"$RUN/mailsrv.log" &
SPID=$!
mkdir -p "$RUN/dovecot/run" "$RUN/dovecot/state"
sed -e "s|@RUN@|$RUN|g" -e "s|@PORT@|$DPORT|" bench/dovecot/dovecot.conf > "$RUN/dovecot/tuned.conf"
cat bench/dovecot/tuned.conf >> "$RUN/dovecot/tuned.conf"
nice -n -10 dovecot -F -c "$RUN/dovecot/tuned.conf" > "$RUN/dovecot/stdout" 2>&1 &
DPID=$!
for _ in $(seq 100); do
  [ "$(grep -c event=listening "$RUN/mailsrv.log")" -ge 2 ] && ss -ltn | grep -q "127.0.0.1:$DPORT " && break
  sleep 0.1
done
[ "$(grep -c event=listening "$RUN/mailsrv.log")" -ge 2 ] || { cat "$RUN/mailsrv.log"; exit 1; }
ss -ltn | grep -q "127.0.0.1:$DPORT " || { cat "$RUN/dovecot/stdout" "$RUN/dovecot/dovecot.log"; exit 1; }
sleep 1  # Dovecot's pre-forked processes
# Each server's memory before any session: the sessions' memory is counted from here (bench/mailbox_load.py).
mem_now() { python3 -c "import sys; sys.path.insert(0, 'bench'); from cpu import tree_mem; print(*tree_mem({$1})[1:])"; }
declare -A BASE=([$SPID]="$(mem_now $SPID)" [$DPID]="$(mem_now $DPID)")

complete=1
for n in $SIZES; do
  echo "== $n messages"
  # Alternate which server goes first, so that neither always meets the colder page cache.
  order="mailsrv:$PPORT:$SPID dovecot-tuned:$DPORT:$DPID"
  [ $(( $(echo "$SIZES" | tr ' ' '\n' | grep -n "^$n$" | cut -d: -f1) % 2 )) = 0 ] && order="dovecot-tuned:$DPORT:$DPID mailsrv:$PPORT:$SPID"
  for s in $order; do
    IFS=: read -r name port pid <<<"$s"
    if r=$(timeout "$STEP_LIMIT" python3 bench/mailbox_load.py "$name" "$port" "box$n" "$REPS" "$pid" ${BASE[$pid]}); then
      note "$r"
    else
      echo "$name: $n messages not measured within ${STEP_LIMIT} s"
      complete=0
    fi
  done
done

echo "== summary ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${results[@]}" | awk '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%-14s %7d msgs  first %9.1f ms  login+STAT+LIST+QUIT %9.2f ms (CPU %8.2f)  UIDL %8.2f ms  +%7d KB RSS  +%7d KB PSS (session %7d)\n",
      v["server"], v["msgs"], v["first_ms"], v["login_stat_list_ms"], v["cpu_ms"], v["uidl_ms"], v["rss_kb"], v["pss_kb"], v["pss_session_kb"] }'
[ $complete = 1 ] && [ "${NO_PUBLISH:-0}" != 1 ] && scale_publish mailbox
