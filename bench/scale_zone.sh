#!/bin/bash
# Growth with a large zone (issue 15, item 3): fdns against NSD with the same N names, in one run.
#   bench/scale_zone.sh [SIZES="10000 100000 1000000"] [SECONDS=10] [BUILD=build]
# Zone of N names: N/2 mail domains dI.bench. with an MX (pref 10) to mxI.bench., and the N/2 hosts
# mxI.bench. with an A (127.0.0.1), as fdns.toml and as an NSD zone file "bench." (plus its SOA and NS).
# Per server and size: load = start until the first answer (a query for the last domain, polled every
# 10 ms), and the CPU the server's process tree used until then (the steadier figure on a busy machine), RSS and PSS of the process tree after loading (NSD: main, xfrd and one server process), and
# queries/second with dnsperf -c 10 -q 100 -l SECONDS over 20,000 queries drawn at random from the zone
# (MX of a domain or A of a host, half each; the reference load of bench/dns_bench.sh), and the CPU per
# query. The two servers run one after the other at each size (each alone on the machine while measured).
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
SIZES=${1:-"10000 100000 1000000"} D=${2:-10} BUILD=${3:-build}
for p in nsd dnsperf; do
  command -v $p >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $p >/dev/null
done
[ -x "$BUILD/apps/fdns" ] || scripts/build "$BUILD"
systemctl stop nsd 2>/dev/null || true   # the package starts one on port 53; we use our own
scale_begin

RUN=$(mktemp -d /tmp/mw-scale-zone.XXXX)
chmod 755 "$RUN"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$RUN"; }
trap cleanup EXIT

# zone N: writes $RUN/fdns.toml, $RUN/bench.zone and $RUN/queries.txt for N names.
zone() { /usr/bin/python3 - "$RUN" "$1" <<'PY'
import random, sys
run, n = sys.argv[1], int(sys.argv[2]) // 2
with open(f"{run}/fdns.toml", "w") as f:
    f.write("ttl = 3600\n[MX]\n")
    f.writelines(f'"d{i}.bench." = "mx{i}.bench."\n' for i in range(n))
    f.write("[A]\n")
    f.writelines(f'"mx{i}.bench." = "127.0.0.1"\n' for i in range(n))
with open(f"{run}/bench.zone", "w") as f:
    f.write("$ORIGIN bench.\n$TTL 3600\n@ IN SOA ns1.bench. hostmaster.bench. ( 1 3600 900 604800 300 )\n"
            "@ IN NS ns1.bench.\nns1 IN A 127.0.0.1\n")
    for i in range(n):
        f.write(f"d{i} IN MX 10 mx{i}\nmx{i} IN A 127.0.0.1\n")
rnd = random.Random(15)
with open(f"{run}/queries.txt", "w") as f:
    for _ in range(20000):
        i = rnd.randrange(n)
        f.write(f"d{i}.bench MX\n" if rnd.random() < 0.5 else f"mx{i}.bench A\n")
PY
}
# first_answer PORT NAME: seconds until the server answers NAME MX with NOERROR and an answer (or -1 after 600 s).
first_answer() { /usr/bin/python3 - "$1" "$2" <<'PY'
import socket, struct, sys, time
port, name = int(sys.argv[1]), sys.argv[2]
q = struct.pack(">HHHHHH", 0x1515, 0, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 15, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.01)
t0 = time.time()
while time.time() - t0 < 600:
    try:
        s.sendto(q, ("127.0.0.1", port))
        r = s.recv(4096)
        if r[:2] == q[:2] and (r[3] & 15) == 0 and struct.unpack(">H", r[6:8])[0] > 0:
            print(f"{time.time() - t0:.3f}"); sys.exit(0)
    except OSError:
        pass
print(-1)
PY
}
mem() { /usr/bin/python3 -c "import sys; sys.path.insert(0, 'bench'); from cpu import tree_mem; n, r, p = tree_mem({$1}); print(r, p)"; }

# measure NAME N PORT PID: the row of one server at one size (its load time in $LOAD).
measure() {
  local m c0 c1 out qps done lost
  m=$(mem "$4")
  c0=$(bench/cpu.py "$4")
  out=$(dnsperf -s 127.0.0.1 -p "$3" -d "$RUN/queries.txt" -l "$D" -c 10 -q 100 2>&1)
  c1=$(bench/cpu.py "$4")
  qps=$(awk '/Queries per second/ {print $4}' <<<"$out")
  done=$(awk '/Queries completed/ {print $3}' <<<"$out")
  lost=$(awk '/Queries lost/ {print $3}' <<<"$out")
  bench/tsv.py scale_zone $(awk -v s="$1" -v n="$2" -v l="$LOAD" -v lc="$LOADCPU" -v m="$m" -v q="$qps" -v a="$c0" -v b="$c1" -v d="$done" -v x="$lost" \
    'BEGIN { split(m, M, " "); printf "server=%s names=%d load_s=%s load_cpu_s=%.2f rss_kb=%d pss_kb=%d qps=%.0f cpu_us_per_query=%.2f lost=%d\n",
             s, n, l, lc, M[1], M[2], q, (b - a) * 1e6 / (d ? d : 1), x }')
}

echo "== bench/scale_zone.sh: sizes $SIZES, dnsperf ${D}s, load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $SIZES; do
  zone "$n"
  last="d$((n / 2 - 1)).bench"
  PORT=$(free_port)
  "$BUILD/apps/fdns" -z "$RUN/fdns.toml" -l "127.0.0.1:$PORT" 2>"$RUN/fdns.log" &
  pid=$!; PIDS+=($pid)
  LOAD=$(first_answer "$PORT" "$last"); LOADCPU=$(bench/cpu.py "$pid")
  [ "$LOAD" != -1 ] || { echo "fdns did not answer"; cat "$RUN/fdns.log"; exit 1; }
  measure fdns "$n" "$PORT" "$pid"
  kill "$pid"; wait "$pid" 2>/dev/null

  PORT=$(free_port)
  sed -e "s|@PORT@|$PORT|" -e "s|@ZONES@|$RUN|" -e "s|@RUN@|$RUN|g" -e '/^zone:/,$d' bench/dns/nsd.conf > "$RUN/nsd.conf"
  printf 'zone:\n    name: "bench"\n    zonefile: "bench.zone"\n' >> "$RUN/nsd.conf"
  rm -f "$RUN/zone.list" "$RUN/xfrd.state"
  chown -R nsd: "$RUN" 2>/dev/null
  nsd -d -c "$RUN/nsd.conf" &
  pid=$!; PIDS+=($pid)
  LOAD=$(first_answer "$PORT" "$last"); LOADCPU=$(bench/cpu.py "$pid")
  [ "$LOAD" != -1 ] || { echo "nsd did not answer"; cat "$RUN/nsd.log"; exit 1; }
  measure nsd "$n" "$PORT" "$pid"
  kill "$pid"; wait "$pid" 2>/dev/null
done
[ "${PUBLISH:-1}" = 1 ] && scale_publish zone
