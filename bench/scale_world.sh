#!/bin/bash
# A generated world at 10, 50 and 100 servers (issue 15, item 6): bench/world_gen.py writes each world
# (SERVERS mailsrv, 10 domains each, 10,000 accounts, one fdns), bench/world_traffic.py runs it under the
# same traffic (a mix of local, cross-domain, unknown-user and unknown-local mail; the second server stopped
# and started again through the world control) and prints delivery latency, queue depth, memory and CPU.
#   bench/scale_world.sh [MSGS=3000] [RATE=100] [SIZES="10 50 100"] [BUILD=build]
# No peer: a Postfix world of 100 instances is not something this machine can hold in one run; the growth
# with the server count is the measure. Everything on 127.0.0.1; each world is stopped by its PID.
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
MSGS=${1:-3000} RATE=${2:-100} SIZES=${3:-"10 50 100"} BUILD=${4:-build}
scripts/setup-deps >/dev/null
[ -x "$BUILD/apps/mailsrv" ] && [ -x "$BUILD/apps/fdns" ] || scripts/build "$BUILD"
scale_begin
WORK=$(mktemp -d /tmp/mw-scale-world.XXXX)
trap 'rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null  # 100 servers: 200 listeners plus the sessions
rc=0
for n in $SIZES; do
  echo "== $n servers x 10 domains, 10,000 accounts; $MSGS messages at $RATE/s (load $(cut -d' ' -f1 /proc/loadavg))"
  bench/world_gen.py "$WORK/w$n" --servers "$n" --domains 10 --accounts 10000 || exit 1
  bench/world_traffic.py "$WORK/w$n" --messages "$MSGS" --rate "$RATE" -b "$BUILD" || rc=1
  rm -rf "$WORK/w$n"
done
[ $rc = 0 ] || { echo "scale_world.sh: a run lost messages (see above); nothing published"; exit 1; }
scale_publish world
