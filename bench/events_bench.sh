#!/bin/bash
# The event feed's cost (issue 14): mailsrv without and with --events to a receiver that reads and
# discards (bench/events_sink.py), A/B alternating in one run, Postfix's smtp-source as the client
# (bench/smtp_run.py: 1 KB messages into a durable Maildir).
#   bench/events_bench.sh [MSGS=2000] [REPS=3] [CONC=20] [BUILD=build]
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
MSGS=${1:-2000} REPS=${2:-3} CONC=${3:-20} BUILD=${4:-build}
[ -x "$BUILD/apps/mailsrv" ] || scripts/build "$BUILD"
[ -x /usr/sbin/smtp-source ] || { echo "needs Postfix's smtp-source (bench/smtp_bench.sh installs it)"; exit 2; }

RUN=$(mktemp -d /tmp/mw-bench-events.XXXX)
MWPID="" SINKPID=""
cleanup() {
  [ -n "$MWPID" ] && kill "$MWPID" 2>/dev/null
  [ -n "$SINKPID" ] && kill "$SINKPID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$RUN"
}
trap cleanup EXIT
results=()

PORT=$(free_port)
cat > "$RUN/config.toml" <<CFG
[server]
"bench" = { smtp = $PORT, pop = $(free_port) }
[accounts."bench"]
"mbench@localhost" = "pw"
[limits]
sessions = 20000
CFG

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

for rep in $(seq "$REPS"); do
  run mailsrv
  python3 bench/events_sink.py "$RUN/events.sock" > "$RUN/sink.txt" &
  SINKPID=$!
  for _ in $(seq 100); do [ -S "$RUN/events.sock" ] && break; sleep 0.05; done
  run mailsrv+events --events "$RUN/events.sock"
  kill "$SINKPID"
  wait "$SINKPID" 2>/dev/null
  SINKPID=""
  note "events: $(cat "$RUN/sink.txt")"
done
echo "== summary"
printf '%s\n' "${results[@]}"
