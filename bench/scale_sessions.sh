#!/bin/bash
# Growth with many sessions (issue 15, item 5): N concurrent SMTP sessions each sending a NOOP every 5 s
# (far below smtp_idle's 300 s and Postfix's smtpd_timeout of 300 s), then the NOOP round trip of one
# more session (300 NOOPs one after the other, p50/p99) and the server's memory per session (PSS of its
# process tree, after minus before), mailsrv against Postfix, in one run (bench/scale_sessions.py).
#   bench/scale_sessions.sh [SIZES="1000 10000"] [BUILD=build]
# POSTFIX_SIZES (default 1000): Postfix runs one smtpd process per session, at most its process limit
# (default_process_limit, set here to the largest size + 10), each a few hundred kB of its own; its
# smtpd_junk_command_limit (100 NOOPs, then errors, then a disconnect) is lifted for the probe. A fresh
# server per size; open-files limit raised to the hard limit (20,000 here) for both and the client.
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
SIZES=${1:-"1000 10000"} BUILD=${2:-build} POSTFIX_SIZES=${POSTFIX_SIZES:-1000}
[ -x "$BUILD/apps/mailsrv" ] || scripts/build "$BUILD"
ulimit -n "$(ulimit -Hn)"
scale_begin
RUN=$(mktemp -d /tmp/mw-scale-sessions.XXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; pf_remove mws; rm -rf "$RUN"; }
trap cleanup EXIT
MW=$(realpath "$BUILD")/apps
wait_port() { for _ in $(seq 200); do ss -ltn | grep -q "127.0.0.1:$1 " && return 0; sleep 0.05; done; return 1; }

echo "== bench/scale_sessions.sh: sizes $SIZES (Postfix $POSTFIX_SIZES), load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $SIZES; do
  port=$(free_port)
  rm -rf "$RUN/mw" && mkdir -p "$RUN/mw/config"
  bench_config "$port" > "$RUN/mw/config/config.toml"
  (cd "$RUN/mw" && exec "$MW/mailsrv" -n bench 2>mailsrv.log) &
  pid=$!; PIDS+=($pid)
  wait_port "$port" || { echo "mailsrv did not start"; exit 1; }
  bench/scale_sessions.py "$port" "$n" "$pid" mailsrv || exit 1
  kill "$pid"; wait "$pid" 2>/dev/null
done
max=0; for n in $POSTFIX_SIZES; do [ "$n" -gt "$max" ] && max=$n; done
for n in $POSTFIX_SIZES; do
  port=$(free_port)
  pf_instance mws "$port" "default_process_limit = $((max + 10))" "smtpd_junk_command_limit = 1000000" || exit 1
  postfix -c /etc/postfix-mws start >/dev/null 2>&1 || { echo "postfix did not start"; exit 1; }
  wait_port "$port" || { echo "postfix did not answer"; exit 1; }
  sleep 1
  bench/scale_sessions.py "$port" "$n" "$(tr -d ' ' < /var/spool/postfix-mws/pid/master.pid)" postfix || exit 1
  pf_remove mws
done
[ "${PUBLISH:-1}" = 1 ] && scale_publish sessions
