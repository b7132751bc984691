#!/bin/bash
# Pipelined POP3 RETR (1,000 x 2 KB, bench/pop3_setup.py's popbig) against mailsrv builds taking turns:
# the server's CPU per RETR from `perf stat -e task-clock` (finer than /proc's ticks; on a loaded
# machine steadier than messages/s), or with STRACE=1 the system calls per RETR (`strace -c`, one pass).
#   bench/pop3_retr_cpu.sh ROUNDS BUILD...     e.g. bench/pop3_retr_cpu.sh 3 /tmp/before build
# Environment: PASSES (10). Loopback only; each mailsrv is stopped by its PID. Needs perf (or strace).
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=$1; shift
PASSES=${PASSES:-10}
id mbench >/dev/null 2>&1 || useradd -m -d /home/mbench -s /usr/sbin/nologin mbench
RUN=$(mktemp -d /tmp/mw-retr-cpu.XXXX)
chmod 755 "$RUN"
SPID="" TPID=""
cleanup() { for p in $TPID $SPID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$RUN"; }
trap cleanup EXIT
SPORT=$(free_port) PPORT=$(free_port)
python3 bench/pop3_setup.py "$RUN" "$(id -u mbench)" "$(id -g mbench)" "$SPORT" "$PPORT" >/dev/null || exit 1
for _ in $(seq "$ROUNDS"); do
  for b in "$@"; do
    "$b/apps/mailsrv" -n bench -c "$RUN/mailsrv/config.toml" --data "$RUN/mailsrv/data" 2>"$RUN/log" &
    SPID=$!
    for _ in $(seq 100); do [ "$(grep -c event=listening "$RUN/log")" -ge 2 ] && break; sleep 0.05; done
    BENCH_TSV_DIR= python3 bench/pop3_load.py retrpipe x "$PPORT" popbig 1 $SPID >/dev/null  # warm-up
    if [ "${STRACE:-0}" = 1 ]; then
      strace -c -f -o "$RUN/trace" -p $SPID 2>/dev/null & TPID=$!
      sleep 0.5
      BENCH_TSV_DIR= python3 bench/pop3_load.py retrpipe x "$PPORT" popbig 1 $SPID >/dev/null
      sleep 0.3; kill -INT $TPID; wait $TPID; TPID=""
      echo "$b syscalls_per_retr=$(awk '$NF == "total" { printf "%.2f", $4 / 1000 }' "$RUN/trace")" \
        "$(awk '$NF ~ /^(openat|read|close|sendto|writev|write)$/ { printf "%s=%.3f ", $NF, $4 / 1000 }' "$RUN/trace")"
    else
      perf stat -e task-clock -x, -o "$RUN/stat" -p $SPID 2>/dev/null & TPID=$!
      sleep 0.3
      line=$(BENCH_TSV_DIR= python3 bench/pop3_load.py retrpipe x "$PPORT" popbig "$PASSES" $SPID)
      kill -INT $TPID; wait $TPID; TPID=""
      ms=$(grep task-clock "$RUN/stat" | cut -d, -f1)
      echo "$b $(echo "$line" | grep -o 'msgs_per_s=[0-9]*') cpu_us_per_retr=$(echo "scale=2; $ms / $PASSES" | bc)"
    fi
    kill $SPID; wait $SPID 2>/dev/null; SPID=""
  done
done
