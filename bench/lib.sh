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
