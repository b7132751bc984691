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

# A Postfix instance of a growth bench's own: pf_instance NAME PORT [main.cf settings...] writes
# /etc/postfix-NAME (from the package's main.cf and master.cf) with its queue in /var/spool/postfix-NAME,
# smtpd on 127.0.0.1:PORT, relaying for 127.0.0.0/8, no TLS, and checks it; not registered in
# /etc/postfix/main.cf (postfix -c works for root without), so it never meets bench/postfix_pair.sh.
# Start with `postfix -c /etc/postfix-NAME start`; pf_remove NAME stops it and deletes its folders.
pf_instance() {
  local name=$1 port=$2 c=/etc/postfix-$1 q=/var/spool/postfix-$1
  shift 2
  pf_remove "$name"
  mkdir -p "$c" "$q" "/var/lib/postfix-$name"
  chown postfix "/var/lib/postfix-$name"
  cp /etc/postfix/master.cf "$c/master.cf"
  cp /etc/postfix/main.cf.orig-mailworld "$c/main.cf" 2>/dev/null || cp /etc/postfix/main.cf "$c/main.cf"
  postconf -c "$c" -e "queue_directory = $q" "data_directory = /var/lib/postfix-$name" \
    "multi_instance_name = postfix-$name" "multi_instance_enable = yes" "multi_instance_directories =" \
    "master_service_disable =" "inet_interfaces = loopback-only" "inet_protocols = ipv4" \
    "myhostname = $name.localdomain" "mydestination =" "mynetworks = 127.0.0.0/8" "default_process_limit = 600" \
    "smtpd_tls_security_level = none" "smtp_tls_security_level = none" "message_size_limit = 10240000" \
    "maillog_file = /var/log/postfix-$name.log" "alias_maps =" "alias_database =" "$@"
  postconf -c "$c" -MX smtp/inet
  postconf -c "$c" -M "$port/inet=$port inet n - y - - smtpd"
  postfix -c "$c" check
}
pf_remove() {
  local pid= f=/var/spool/postfix-$1/pid/master.pid
  [ -f "$f" ] && pid=$(tr -d ' ' < "$f")
  [ -d "/etc/postfix-$1" ] && postfix -c "/etc/postfix-$1" stop >/dev/null 2>&1
  while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done  # its master has exited
  rm -rf "/etc/postfix-$1" "/var/spool/postfix-$1" "/var/lib/postfix-$1"
}
# The relay benches' world: exmail.qq.com (account sender@mail.sustech.edu.cn) relaying to gmail.com
# (mbench@gmail.com) through fdns. relay_pair_world DIR DNS QS QP GS GP LIMITS writes
# DIR/config/config.toml (LIMITS: lines under [limits], more tables may follow) and DIR/fdns/fdns.toml.
relay_pair_world() {
  mkdir -p "$1/config" "$1/fdns"
  cat > "$1/config/config.toml" <<CFG
[server]
"exmail.qq.com" = { smtp = $3, pop = $4 }
"gmail.com" = { smtp = $5, pop = $6 }
[accounts."exmail.qq.com"]
"sender@mail.sustech.edu.cn" = "pw"
[accounts."gmail.com"]
"mbench@gmail.com" = "pw"
[fdns]
listen = "127.0.0.1:$2"
[limits]
$7
CFG
  cat > "$1/fdns/fdns.toml" <<ZONE
[MX]
"mail.sustech.edu.cn." = "mxbiz1.qq.com."
"gmail.com." = "gmail-smtp-in.l.google.com."
[P]
"mxbiz1.qq.com." = $3
"gmail-smtp-in.l.google.com." = $5
ZONE
}
