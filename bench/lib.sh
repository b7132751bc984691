# Sourced by the bench/*_bench.sh scripts.
# A TCP port free on 127.0.0.1 right now.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Prints a result line and keeps it for the summary (in the caller's `results` array).
note() { echo "$1"; results+=("$1"); }
