#!/bin/bash
# mailsrv against Postfix: SMTP -> durable Maildir, driven by Postfix's smtp-source in one run.
#   bench/smtp_bench.sh [MSGS=6000] [REPS=3] [BUILD=build]
# 1. mailsrv, then Postfix (default local_destination_concurrency_limit=2, then 20): 20 and 100
#    concurrent sessions, 1 KB messages, messages/second until the N-th file is in Maildir/new,
#    server CPU per message, peak memory of the server's process tree;
# 2. memory per idle session (EHLO'd connections held open): mailsrv 2000, Postfix 300;
# 3. the disk's limit: fsync'd create + rename + directory fsync per second, 1 and 8 threads.
# Everything on 127.0.0.1; Postfix's config is restored at the end. Needs root (Postfix, useradd).
# Environment (bench/plots.sh sets them): CONCS ("20 100") session counts; LOCAL_CONCS ("2 20") Postfix's
# local concurrency limits; MSGS_PER_CONC (0 = off): a run sends min(MSGS, C x this) messages;
# IDLE_MAILSRV ("2000") and IDLE_POSTFIX ("300", with the last LOCAL_CONCS) idle session counts;
# EXTRAS (1; 0 skips the event-loop probe and the disk probe); SETTLE (35) seconds of the first wait;
# BENCH_TSV_DIR: every result is also a TSV row there (bench/tsv.py).
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
MSGS=${1:-6000} REPS=${2:-3} BUILD=${3:-build}
CONCS=${CONCS:-20 100} LOCAL_CONCS=${LOCAL_CONCS:-2 20} MSGS_PER_CONC=${MSGS_PER_CONC:-0}
IDLE_MAILSRV=${IDLE_MAILSRV:-2000} IDLE_POSTFIX=${IDLE_POSTFIX:-300} EXTRAS=${EXTRAS:-1} SETTLE=${SETTLE:-35}
msgs_for() {  # CONC: the messages of one run
  local m=$((MSGS_PER_CONC * $1))
  if [ "$MSGS_PER_CONC" -gt 0 ] && [ "$m" -lt "$MSGS" ]; then echo "$m"; else echo "$MSGS"; fi
}
scripts/setup-deps >/dev/null
if ! command -v smtp-source >/dev/null && [ ! -x /usr/sbin/smtp-source ]; then
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix >/dev/null
fi
[ -x "$BUILD/apps/mailsrv" ] || scripts/build "$BUILD"

RUN=$(mktemp -d /tmp/mw-bench-smtp.XXXX)
MWPID=""
cleanup() {
  [ -n "$MWPID" ] && kill "$MWPID" 2>/dev/null
  wait 2>/dev/null
  bench/postfix.sh stop >/dev/null 2>&1
  rm -rf "$RUN" /home/mbench/.bench-trash
}
trap cleanup EXIT
results=()

# ext4 will not reuse an inode deleted in the last 30 s and scans past each one when it allocates:
# files deleted just before (an earlier run's cleanup) would slow whichever server runs first.
echo "== waiting $SETTLE s for earlier deletions to age (ext4 recently_deleted())"
sleep "$SETTLE"
echo "== mailsrv ($BUILD/apps/mailsrv)"
PORT=$(free_port)
bench_config "$PORT" > "$RUN/config.toml"
start_mailsrv() {  # (again): a new process, its log appended to mailsrv.log; returns once it accepts
  nice -n -10 "$BUILD/apps/mailsrv" -n bench -c "$RUN/config.toml" --data "$RUN/data" 2>>"$RUN/mailsrv.log" &
  MWPID=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
}
start_mailsrv
for rep in $(seq "$REPS"); do
  for conc in $CONCS; do
    note "$(nice -n -10 python3 bench/smtp_run.py --name mailsrv --port "$PORT" --conc $conc --msgs "$(msgs_for $conc)" \
      --maildir "$RUN/data/mail/mbench@localhost" --pids $MWPID)"
  done
done
if [ "$EXTRAS" = 1 ]; then
  # The event loop under load: NOOP round trips on one more session during a c=100 run.
  python3 bench/loop_probe.py "$PORT" 2 > "$RUN/probe.txt" &
  PROBE=$!
  BENCH_TSV_DIR= nice -n -10 python3 bench/smtp_run.py --name mailsrv-probed --port "$PORT" --conc 100 --msgs "$MSGS" \
    --maildir "$RUN/data/mail/mbench@localhost" --pids $MWPID >/dev/null
  wait $PROBE
  note "mailsrv event loop during c=100: $(cat "$RUN/probe.txt")"
fi
for n in $IDLE_MAILSRV; do
  # A fresh process for each count: the heap the load runs (or a smaller count) left free would hold the
  # first sessions without growing.
  kill $MWPID; wait $MWPID 2>/dev/null
  start_mailsrv
  note "mailsrv idle: $(python3 bench/mem_idle.py "$PORT" "$n" $MWPID mailsrv)"
done
kill $MWPID; wait $MWPID 2>/dev/null; MWPID=""
grep commit_stats "$RUN/mailsrv.log"

for lc in $LOCAL_CONCS; do
  echo "== postfix, local_destination_concurrency_limit=$lc"
  bench/postfix.sh start $lc >/dev/null 2>&1 || { echo "postfix did not start"; exit 1; }
  install -d -o mbench -g mbench /home/mbench/Maildir /home/mbench/Maildir/tmp /home/mbench/Maildir/new /home/mbench/Maildir/cur
  PFPID=$(tr -d ' ' < /var/spool/postfix/pid/master.pid)
  for rep in $(seq "$REPS"); do
    for conc in $CONCS; do
      sleep 2
      note "$(nice -n -10 python3 bench/smtp_run.py --name postfix-lc$lc --port 2525 --conc $conc --msgs "$(msgs_for $conc)" \
        --maildir /home/mbench/Maildir --pids "$PFPID")"
    done
  done
  if [ "$lc" = "${LOCAL_CONCS##* }" ]; then
    for n in $IDLE_POSTFIX; do
      # Idle smtpd processes of the runs before would take these sessions without a new process: a reload
      # makes them exit first.
      postfix reload >/dev/null 2>&1; sleep 3
      note "postfix idle: $(python3 bench/mem_idle.py 2525 "$n" "$PFPID" postfix-lc$lc)"
    done
  fi
  bench/postfix.sh stop >/dev/null 2>&1
done

if [ "$EXTRAS" = 1 ]; then
  mkdir -p "$RUN/disk"
  echo "== disk (last: its deleted files would slow the next run's inode allocation): durable creates per second (bench/disk_probe.py, 5 s each)"
  note "$(python3 bench/disk_probe.py "$RUN/disk" create 1 5)"
  note "$(python3 bench/disk_probe.py "$RUN/disk" create 8 5)"
fi

echo "== summary (end-to-end msg/s, medians of $REPS runs)"
printf '%s\n' "${results[@]}" | awk -v concs="$CONCS" -v lcs="$LOCAL_CONCS" '
  /^server=/ { split($1, s, "="); split($2, c, "="); split($5, e, "="); split($7, m, "=");
               k = s[2] " c=" c[2]; n[k]++; E[k, n[k]] = e[2] + 0; M[k, n[k]] = m[2] + 0 }
  function med(A, k,   i, j, t, v, cnt) {
    cnt = n[k]; for (i = 1; i <= cnt; i++) v[i] = A[k, i]
    for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return (cnt % 2) ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
  }
  END {
    nc = split(concs, cs, " "); nl = split(lcs, ls, " ")
    for (i = 1; i <= nc; i++) {
      cc = cs[i]; a = "mailsrv c=" cc; mw = med(E, a); pf = 0
      line = sprintf("c=%s medians: mailsrv %d msg/s, %.2f ms CPU/msg", cc, mw, med(M, a))
      for (j = 1; j <= nl; j++) {
        b = "postfix-lc" ls[j] " c=" cc; p = med(E, b); if (p > pf) pf = p
        line = line sprintf(" | postfix lc%s %d msg/s, %.2f ms", ls[j], p, med(M, b))
      }
      printf "%s | mailsrv/best postfix %.1fx msg/s\n", line, (pf > 0) ? mw / pf : 0
    }
  }'
