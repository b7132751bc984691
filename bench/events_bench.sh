#!/bin/bash
# The event feed's cost (issue 14): mailsrv without --events, with --events to a receiver that reads
# and discards (bench/events_sink.py), and with the web view itself attached (apps/mailview, keeping
# its history), alternating in one run, Postfix's smtp-source as the client (bench/smtp_run.py: 1 KB
# messages into a durable Maildir). The view's own CPU is said apart: it is another process.
#   bench/events_bench.sh [MSGS=2000] [REPS=3] [CONC=20] [BUILD=build]
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
MSGS=${1:-2000} REPS=${2:-3} CONC=${3:-20} BUILD=${4:-build}
[ -x "$BUILD/apps/mailsrv" ] || scripts/build "$BUILD"
[ -x /usr/sbin/smtp-source ] || { echo "needs Postfix's smtp-source (bench/smtp_bench.sh installs it)"; exit 2; }

RUN=$(mktemp -d /tmp/mw-bench-events.XXXX)
MWPID="" SINKPID="" VIEWPID=""
cleanup() {
  [ -n "$MWPID" ] && kill "$MWPID" 2>/dev/null
  [ -n "$SINKPID" ] && kill "$SINKPID" 2>/dev/null
  [ -n "$VIEWPID" ] && kill "$VIEWPID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$RUN"
}
trap cleanup EXIT
results=()

PORT=$(free_port)
bench_config "$PORT" > "$RUN/config.toml"

# One mailsrv per variant, on the same data folder, so both runs write the same Maildir.
run() {  # run NAME [mailsrv flags...]
  local name=$1
  shift
  "$BUILD/apps/mailsrv" -n bench -c "$RUN/config.toml" --data "$RUN/data" "$@" 2>"$RUN/mailsrv.log" &
  MWPID=$!
  for _ in $(seq 200); do grep -q event=listening "$RUN/mailsrv.log" && break; sleep 0.05; done
  note "$(python3 bench/smtp_run.py --name "$name" --port "$PORT" --conc "$CONC" --msgs "$MSGS" \
    --maildir "$RUN/data/mail/mbench@localhost" --pids $MWPID)"
  kill "$MWPID"
  wait "$MWPID" 2>/dev/null
  MWPID=""
}

plain() { run mailsrv; }
sink() {
  python3 bench/events_sink.py "$RUN/events.sock" > "$RUN/sink.txt" &
  SINKPID=$!
  for _ in $(seq 100); do [ -S "$RUN/events.sock" ] && break; sleep 0.05; done
  run mailsrv+events --events "$RUN/events.sock"
  kill "$SINKPID"
  wait "$SINKPID" 2>/dev/null
  SINKPID=""
  note "events: $(cat "$RUN/sink.txt")"
}
view() {
  "$BUILD/apps/mailview/mailview" -c "$RUN/config.toml" --events "$RUN/view.sock" --port "$(free_port)" \
    2>"$RUN/view.log" &
  VIEWPID=$!
  for _ in $(seq 100); do grep -q event=listening "$RUN/view.log" && break; sleep 0.05; done
  run mailsrv+view --events "$RUN/view.sock"
  # the view's CPU for the whole run (utime+stime of /proc/PID/stat, in clock ticks of 10 ms)
  note "view: cpu_ms=$(awk '{print ($14+$15)*10}' /proc/$VIEWPID/stat) rss_kb=$(awk '/VmHWM/{print $2}' /proc/$VIEWPID/status)"
  kill "$VIEWPID"
  wait "$VIEWPID" 2>/dev/null
  VIEWPID=""
}
# The order turns each rep (the Maildir grows as the run goes on): plain sink view, view plain sink, ...
order=(plain sink view)
for rep in $(seq "$REPS"); do
  for i in 0 1 2; do ${order[$(( (i + rep - 1) % 3 ))]}; done
done
echo "== summary"
printf '%s\n' "${results[@]}"
