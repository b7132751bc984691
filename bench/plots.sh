#!/bin/bash
# The figures of docs/benchmarks.md: runs the benches at several points, mailworld and its peer in the same
# run, keeps one TSV row per run under docs/plots/data/ and renders docs/plots/*.svg with gnuplot.
#   bench/plots.sh [QUICK] [BUILD=build]     measure (about 15 min) and render into docs/plots; QUICK: tiny
#                                              counts, a few minutes, into /tmp/mw-plots-quick (a smoke test)
#   bench/plots.sh --render-only [DATA [OUT]]  only render DATA's TSVs (default docs/plots/data) into OUT
#                                              (default docs/plots) and check every figure
#   bench/plots.sh --render-scale [NAME...]    render the growth figures bench/plots/scale_NAME.gp (all when
#                                              none is named) from docs/plots/scale/ (the rows the
#                                              bench/scale_*.sh scripts publish, see scale_publish in
#                                              bench/lib.sh) into docs/plots/scale_NAME.svg, and check them
# Measured: SMTP messages/s and CPU per message at 1, 5, 20, 50, 100 sessions, mailsrv and Postfix
# (bench/smtp_bench.sh: local concurrency 20, the better of the two set-ups there); memory per idle SMTP
# session at several session counts; fdns and NSD queries/s at several dnsperf client counts
# (bench/dns_bench.sh); POP3 logins/s at 1, 5, 20 clients and RETR messages/s, mailsrv and Dovecot default and
# tuned (bench/pop3_bench.sh). The benches write the rows themselves (BENCH_TSV_DIR, bench/tsv.py); the
# figures are bench/plots/*.gp on the medians of the runs (bench/plots/medians.py), checked by
# bench/plots/check.py. Everything on 127.0.0.1; the benches stop their servers by PID and restore
# Postfix's configuration. Needs root, like the benches; installs gnuplot-nox when missing.
set -u
cd "$(dirname "$0")/.."

need_gnuplot() {
  command -v gnuplot >/dev/null && return
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox >/dev/null; }
}

render() {  # DATA OUT: every bench/plots/*.gp on DATA's medians into OUT/NAME.svg, then the check
  local data=$1 out=$2 med gp rc=0
  need_gnuplot
  mkdir -p "$out"
  med=$(mktemp -d /tmp/mw-plots-med.XXXX)
  if bench/plots/medians.py "$data" "$med"; then
    for gp in $(figures); do
      gnuplot -e "dir='bench/plots'; med='$med'; raw='$data'; out='$out/$(basename "$gp" .gp).svg'" "$gp" || rc=1
    done
  else
    rc=1
  fi
  rm -rf "$med"
  [ $rc = 0 ] || { echo "plots.sh: rendering failed"; return 1; }
  bench/plots/check.py "$out" $(figures) || return 1
  echo "plots.sh: $(figures | wc -l) figures in $out"
}
# The figures of the fixed-size benches (the growth figures, scale_*.gp, have their own data).
figures() { ls bench/plots/*.gp | grep -v -e '/common.gp$' -e '/scale_[^/]*$'; }

# NAME...: the growth figures bench/plots/scale_NAME.gp on the raw rows of docs/plots/scale (no medians:
# one row per server and size), into docs/plots/scale_NAME.svg, then the check.
render_scale() {
  local gp gps=() rc=0
  need_gnuplot
  if [ $# = 0 ]; then gps=($(ls bench/plots/scale_*.gp)); else for n in "$@"; do gps+=("bench/plots/scale_$n.gp"); done; fi
  for gp in "${gps[@]}"; do
    gnuplot -e "dir='bench/plots'; med='docs/plots/scale'; raw='docs/plots/scale'; out='docs/plots/$(basename "$gp" .gp).svg'" "$gp" || rc=1
  done
  [ $rc = 0 ] || { echo "plots.sh: rendering failed"; return 1; }
  bench/plots/check.py docs/plots "${gps[@]}" || return 1
  echo "plots.sh: ${#gps[@]} growth figures in docs/plots"
}

if [ "${1:-}" = --render-scale ]; then
  shift
  render_scale "$@"
  exit
fi

if [ "${1:-}" = --render-only ]; then
  render "${2:-docs/plots/data}" "${3:-docs/plots}"
  exit
fi
QUICK=0
[ "${1:-}" = QUICK ] && { QUICK=1; shift; }
BUILD=${1:-build}
OUT=docs/plots
[ $QUICK = 1 ] && OUT=/tmp/mw-plots-quick
need_gnuplot
[ -x "$BUILD/apps/mailsrv" ] && [ -x "$BUILD/apps/fdns" ] || scripts/build "$BUILD"

DATA=$(mktemp -d /tmp/mw-plots-data.XXXX)   # docs/plots/data is replaced only after a complete run
trap 'rm -rf "$DATA"' EXIT
export BENCH_TSV_DIR=$DATA
started=$(date -u '+%Y-%m-%d %H:%M UTC')
loads="start $(cut -d' ' -f1 /proc/loadavg)"
if [ $QUICK = 1 ]; then
  SMTP="100 1" SMTP_ENV=(MSGS_PER_CONC=20 SETTLE=5 IDLE_MAILSRV="50 200" IDLE_POSTFIX="50 100")
  DNS="1 1" DNS_CLIENTS="1 10" POP3_ENV=(LOGIN_CLIENTS="1 20" LOGIN_SECS=1 RETR_PASSES=1 MEM_SESSIONS=20) POP3_REPS=1
else
  SMTP="2000 3" SMTP_ENV=(MSGS_PER_CONC=200 IDLE_MAILSRV="50 100 200 400 1000 2000" IDLE_POSTFIX="50 100 200 400")
  DNS="5 3" DNS_CLIENTS="1 2 5 10 20" POP3_ENV=(LOGIN_CLIENTS="1 5 20" LOGIN_SECS=5 RETR_PASSES=5 MEM_SESSIONS=500) POP3_REPS=3
fi
echo "== SMTP (bench/smtp_bench.sh $SMTP)"
env CONCS="1 5 20 50 100" LOCAL_CONCS=20 EXTRAS=0 "${SMTP_ENV[@]}" bench/smtp_bench.sh $SMTP "$BUILD" || exit 1
loads="$loads, after SMTP $(cut -d' ' -f1 /proc/loadavg)"
echo "== DNS (bench/dns_bench.sh $DNS)"
env CLIENTS="$DNS_CLIENTS" bench/dns_bench.sh $DNS "$BUILD" || exit 1
loads="$loads, after DNS $(cut -d' ' -f1 /proc/loadavg)"
echo "== POP3 (bench/pop3_bench.sh $POP3_REPS)"
env "${POP3_ENV[@]}" bench/pop3_bench.sh $POP3_REPS "$BUILD" || exit 1
loads="$loads, after POP3 $(cut -d' ' -f1 /proc/loadavg)"

mode=full; [ $QUICK = 1 ] && mode=QUICK
{
  echo "# bench/plots.sh ($mode), started $started, finished $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "# $(nproc) CPUs; 1-minute load average: $loads; $(uname -r)"
} > "$DATA/README.txt"
rm -rf "$OUT/data"
mkdir -p "$OUT"
cp -r "$DATA" "$OUT/data"
chmod 755 "$OUT/data"
render "$OUT/data" "$OUT"
