#!/bin/bash
# STARTTLS + AUTH PLAIN + one 1 KB message per session: mailsrv against Postfix with TLS and Cyrus SASL
# (sasldb), the same ECDSA P-256 certificate from the lab CA, in one run.
#   bench/tls_bench.sh [SECONDS=15] [REPS=3] [BUILD=build]
# Load: bench/tls_load.py, 20 client processes (Python smtplib; the certificate chain is verified).
# Both servers deliver locally to Maildir with fsync. Server CPU: the whole process tree.
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
SECS=${1:-15} REPS=${2:-3} BUILD=${3:-build}
scripts/setup-deps >/dev/null
for p in postfix sasl2-bin libsasl2-modules; do
  dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q "install ok installed" && continue
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $p >/dev/null
done
[ -x "$BUILD/apps/mailsrv" ] || scripts/build "$BUILD"

RUN=$(mktemp -d /tmp/mw-bench-tls.XXXX)
chmod 755 "$RUN"
MWPID=""
cleanup() {
  [ -n "$MWPID" ] && kill "$MWPID" 2>/dev/null
  wait 2>/dev/null
  bench/postfix.sh stop >/dev/null 2>&1
  [ -f /etc/postfix/master.cf.orig-mailworld ] && cp -p /etc/postfix/master.cf.orig-mailworld /etc/postfix/master.cf
  rm -f /etc/postfix/sasl/smtpd.conf /etc/postfix/mw-bench-*.pem
  rm -rf "$RUN" /home/mbench/.bench-trash
}
trap cleanup EXIT
results=()

PORT=$(free_port)
bench_config "$PORT" "[paths]
var = \"$RUN/var\"
" > "$RUN/config.toml"
echo "== mailsrv"
(cd "$RUN" && exec nice -n -10 "$OLDPWD/$BUILD/apps/mailsrv" -n bench -c config.toml 2>mailsrv.log) &
MWPID=$!
for _ in $(seq 100); do grep -q event=listening "$RUN/mailsrv.log" && break; sleep 0.05; done
CA="$RUN/var/ca/ca.pem"
for _ in $(seq "$REPS"); do
  note "$(nice -n -10 python3 bench/tls_load.py mailsrv "$PORT" 20 "$SECS" "$CA" mbench@localhost pw mbench@localhost $MWPID)"
done
kill $MWPID; wait $MWPID 2>/dev/null; MWPID=""

echo "== postfix with TLS (the same lab-issued ECDSA certificate) and Cyrus SASL (sasldb)"
cp "$RUN/var/bench/tls/cert.pem" /etc/postfix/mw-bench-cert.pem
cp "$RUN/var/bench/tls/key.pem" /etc/postfix/mw-bench-key.pem
chmod 600 /etc/postfix/mw-bench-key.pem
echo pw | saslpasswd2 -p -c -f /etc/sasldb2 -u localhost mbench
chown root:postfix /etc/sasldb2 && chmod 640 /etc/sasldb2
mkdir -p /etc/postfix/sasl
printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\n' > /etc/postfix/sasl/smtpd.conf
bench/postfix.sh start 20 >/dev/null 2>&1 || { echo "postfix did not start"; exit 1; }
postconf -e "smtpd_tls_security_level = may" "smtpd_tls_cert_file = /etc/postfix/mw-bench-cert.pem" \
  "smtpd_tls_key_file = /etc/postfix/mw-bench-key.pem" "smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = cyrus" \
  "smtpd_sasl_path = smtpd" "smtpd_sasl_local_domain = localhost" "smtpd_tls_auth_only = yes" \
  "smtpd_relay_restrictions = permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination"
postconf -M "2525/inet=2525 inet n - n - - smtpd"  # not chrooted: Cyrus reads /etc/sasldb2
postfix reload >/dev/null 2>&1; sleep 2
install -d -o mbench -g mbench /home/mbench/Maildir /home/mbench/Maildir/tmp /home/mbench/Maildir/new /home/mbench/Maildir/cur
PFPID=$(tr -d ' ' < /var/spool/postfix/pid/master.pid)
for _ in $(seq "$REPS"); do
  note "$(nice -n -10 python3 bench/tls_load.py postfix 2525 20 "$SECS" "$CA" mbench@localhost pw mbench@localhost $PFPID)"
done

echo "== summary (medians of $REPS runs)"
printf '%s\n' "${results[@]}" | awk '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } s = v["server"]; n[s]++; S[s, n[s]] = v["sessions_per_s"]; C[s, n[s]] = v["cpu_ms_per_session"]; E[s] += v["errors"] }
  function med(A, s,   i, j, t, w, c) {
    c = n[s]; for (i = 1; i <= c; i++) w[i] = A[s, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (w[j] + 0 < w[i] + 0) { t = w[i]; w[i] = w[j]; w[j] = t }
    return (c % 2) ? w[(c + 1) / 2] : (w[c / 2] + w[c / 2 + 1]) / 2
  }
  END {
    printf "mailsrv %d sessions/s, %.2f ms CPU/session (errors %d) | postfix %d sessions/s, %.2f ms CPU/session (errors %d) | ratio %.1fx, %.1fx less CPU\n",
      med(S, "mailsrv"), med(C, "mailsrv"), E["mailsrv"], med(S, "postfix"), med(C, "postfix"), E["postfix"],
      med(S, "mailsrv") / med(S, "postfix"), med(C, "postfix") / med(C, "mailsrv")
  }'
