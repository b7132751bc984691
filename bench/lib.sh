# Sourced by the bench/*_bench.sh scripts.
# A TCP port free on 127.0.0.1 right now.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Prints a result line and keeps it for the summary (in the caller's `results` array).
note() { echo "$1"; results+=("$1"); }
# The one-server world every mailsrv bench runs: server "bench" on SMTP port $1 (POP3 on a free port),
# one account mbench@localhost, room for 20,000 sessions; $2, when given, is appended (more tables).
bench_config() {
  printf '[server]\n"bench" = { smtp = %s, pop = %s }\n[accounts."bench"]\n"mbench@localhost" = "pw"\n' "$1" "$(free_port)"
  printf '[limits]\nsessions = 20000\n%s' "${2:-}"
}

# The growth benches (bench/scale_*.sh, issue 15). scale_begin: rows go to a fresh folder (BENCH_TSV_DIR, as
# bench/tsv.py writes them) unless the caller set one. scale_publish NAME: after a complete run, its rows
# (scale_NAME*.tsv) replace those in docs/plots/scale/ and bench/plots/scale_NAME.gp is rendered into
# docs/plots/scale_NAME.svg (bench/plots.sh --render-scale NAME). An interrupted run publishes nothing.
scale_begin() {
  if [ -z "${BENCH_TSV_DIR:-}" ]; then
    BENCH_TSV_DIR=$(mktemp -d /tmp/mw-scale-rows.XXXX)
    SCALE_OWN_ROWS=1
  fi
  export BENCH_TSV_DIR
}
scale_publish() {
  local f
  mkdir -p docs/plots/scale
  for f in "$BENCH_TSV_DIR"/scale_"$1"*.tsv; do
    [ -e "$f" ] && cp "$f" docs/plots/scale/
  done
  echo "# $1: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >> docs/plots/scale/README.txt
  [ "${SCALE_OWN_ROWS:-0}" = 1 ] && rm -rf "$BENCH_TSV_DIR"
  bench/plots.sh --render-scale "$1"
}
