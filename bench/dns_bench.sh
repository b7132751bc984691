#!/bin/bash
# fdns against NSD, the same records on loopback, driven by dnsperf in one run.
#   bench/dns_bench.sh [SECONDS=20] [REPS=3] [BUILD=build]
# Prints, per run, queries/second and the server's CPU per query (its whole process tree), then the
# medians and the ratio fdns/NSD. Load: dnsperf -c 10 -q 100 over bench/dns/queries.txt (5 MX + 5 A),
# no rate cap: the reference set-up (docs/benchmarks.md). Installs nsd and dnsperf if missing.
# CLIENTS="1 5 10" (environment) repeats each run at these dnsperf -c counts (default 10); with
# BENCH_TSV_DIR every run is also a row of BENCH_TSV_DIR/dns.tsv (bench/tsv.py; bench/plots.sh uses both).
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
D=${1:-20} REPS=${2:-3} BUILD=${3:-build} CLIENTS=${CLIENTS:-10}
scripts/setup-deps >/dev/null
for p in nsd dnsperf; do
  command -v $p >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $p >/dev/null
done
[ -x "$BUILD/apps/fdns" ] || scripts/build "$BUILD"
systemctl stop nsd 2>/dev/null || true   # the package starts one on port 53; we use our own

RUN=$(mktemp -d /tmp/mw-bench-dns.XXXX)
chmod 755 "$RUN"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$RUN"; }
trap cleanup EXIT

wait_udp() { for _ in $(seq 100); do ss -lun | grep -q "127.0.0.1:$1 " && return 0; sleep 0.05; done; return 1; }

# run NAME PORT PID CLIENTS: one dnsperf run; prints "server=NAME clients=C qps=... cpu_us_per_query=... ..."
run() {
  local c0 c1 out qps done lost
  c0=$(bench/cpu.py "$3")
  out=$(nice -n -10 dnsperf -s 127.0.0.1 -p "$2" -d bench/dns/queries.txt -l "$D" -c "$4" -q 100 2>&1)
  c1=$(bench/cpu.py "$3")
  qps=$(awk '/Queries per second/ {print $4}' <<<"$out")
  done=$(awk '/Queries completed/ {print $3}' <<<"$out")
  lost=$(awk '/Queries lost/ {print $3}' <<<"$out")
  bench/tsv.py dns $(awk -v n="$1" -v c="$4" -v q="$qps" -v a="$c0" -v b="$c1" -v d="$done" -v l="$lost" \
    'BEGIN { printf "server=%s clients=%d qps=%.0f cpu_us_per_query=%.2f completed=%d lost=%d\n", n, c, q, (b-a)*1e6/d, d, l }')
}

FPORT=$(free_port); NPORT=$(free_port)
nice -n -10 "$BUILD/apps/fdns" -z bench/dns/fdns.toml -l "127.0.0.1:$FPORT" 2>"$RUN/fdns.log" &
PIDS+=($!); FPID=$!
cp bench/dns/*.zone "$RUN/"
sed -e "s|@PORT@|$NPORT|" -e "s|@ZONES@|$RUN|" -e "s|@RUN@|$RUN|g" bench/dns/nsd.conf > "$RUN/nsd.conf"
chown -R nsd: "$RUN" 2>/dev/null
nice -n -10 nsd -d -c "$RUN/nsd.conf" &
PIDS+=($!); NPID=$!
wait_udp "$FPORT" && wait_udp "$NPORT" || { echo "a server did not start"; cat "$RUN"/*.log; exit 1; }
sleep 0.5

# The same answers from both (sections compared without TTLs and order).
for q in "gmail.com MX" "mail.sustech.edu.cn MX" "example.com MX" "mx1.gmail.com A" "www.example.com A"; do
  a=$(dig @127.0.0.1 -p "$FPORT" $q +norec +noall +answer | awk '{print $1,$4,$5,$6}' | sort)
  b=$(dig @127.0.0.1 -p "$NPORT" $q +norec +noall +answer | awk '{print $1,$4,$5,$6}' | sort)
  [ "$a" = "$b" ] || { echo "answers differ for $q:"; echo "fdns: $a"; echo "nsd:  $b"; exit 1; }
done
echo "answers agree; fdns pid $FPID port $FPORT, nsd pid $NPID port $NPORT; $REPS x ${D}s each, alternating"

results=()
for r in $(seq "$REPS"); do
  for c in $CLIENTS; do
    results+=("$(run fdns "$FPORT" "$FPID" "$c")"); echo "${results[-1]}"
    results+=("$(run nsd "$NPORT" "$NPID" "$c")"); echo "${results[-1]}"
  done
done
for c in $CLIENTS; do
  echo "== dnsperf -c $c"
  printf '%s\n' "${results[@]}" | grep " clients=$c " | awk '
  { split($1, s, "="); split($3, q, "="); split($4, c, "="); n = s[2]; Q[n, ++k[n]] = q[2]; C[n, k[n]] = c[2] }
  function median(arr, name, cnt,   i, j, t, v) {
    for (i = 1; i <= cnt; i++) v[i] = arr[name, i]
    for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return (cnt % 2) ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
  }
  END {
    fq = median(Q, "fdns", k["fdns"]); nq = median(Q, "nsd", k["nsd"])
    fc = median(C, "fdns", k["fdns"]); nc = median(C, "nsd", k["nsd"])
    printf "median fdns: %.0f qps, %.2f us CPU/query\n", fq, fc
    printf "median nsd:  %.0f qps, %.2f us CPU/query\n", nq, nc
    printf "ratio fdns/nsd: %.2f x qps, %.2f x CPU per query (lower is better)\n", fq / nq, fc / nc
  }'
done
