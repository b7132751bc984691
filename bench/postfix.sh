#!/bin/bash
# Configure the Debian postfix package (3.7) for the loopback-only benchmark and start it
# (the reference set-up behind the peers' figures, docs/benchmarks.md).
#   postfix_setup.sh start [LOCAL_CONC]   |   postfix_setup.sh stop
# Listens on 127.0.0.1:2525 only; final delivery by local(8) to ~mbench/Maildir/ (home_mailbox = Maildir/).
set -e
PORT=2525
case "$1" in
start)
  LOCAL_CONC=${2:-2}   # 2 = Postfix default local_destination_concurrency_limit
  id mbench >/dev/null 2>&1 || useradd -m -d /home/mbench -s /usr/sbin/nologin mbench
  [ -f /etc/postfix/main.cf.orig-mailworld ] || cp -p /etc/postfix/main.cf /etc/postfix/main.cf.orig-mailworld
  [ -f /etc/postfix/master.cf.orig-mailworld ] || cp -p /etc/postfix/master.cf /etc/postfix/master.cf.orig-mailworld
  cp -p /etc/postfix/master.cf.orig-mailworld /etc/postfix/master.cf
  grep -q '^root:' /etc/aliases || echo 'root: mbench' >> /etc/aliases
  postconf -e \
    "inet_interfaces = loopback-only" \
    "inet_protocols = ipv4" \
    "myhostname = vm.localdomain" \
    "mydestination = localhost, localhost.localdomain, vm, vm.localdomain" \
    "mynetworks = 127.0.0.0/8" \
    "home_mailbox = Maildir/" \
    "mailbox_size_limit = 0" \
    "message_size_limit = 10240000" \
    "default_process_limit = 600" \
    "local_destination_concurrency_limit = $LOCAL_CONC" \
    "maillog_file = /var/log/postfix-mailworld.log" \
    "smtpd_tls_security_level = none" \
    "smtp_tls_security_level = none" \
    "delay_logging_resolution_limit = 3"
  # SMTP listener on port 2525 instead of 25 (same smtpd service line as Debian's default, chrooted)
  postconf -MX smtp/inet
  postconf -M "$PORT/inet=$PORT inet n - y - - smtpd"
  newaliases
  /usr/lib/postfix/configure-instance.sh -
  postfix check
  postfix start
  sleep 1
  postfix status
  ss -ltnp | grep ":$PORT " ;;
stop)
  postfix stop || true
  sleep 1
  # restore the package's config files
  [ -f /etc/postfix/main.cf.orig-mailworld ] && cp -p /etc/postfix/main.cf.orig-mailworld /etc/postfix/main.cf
  [ -f /etc/postfix/master.cf.orig-mailworld ] && cp -p /etc/postfix/master.cf.orig-mailworld /etc/postfix/master.cf
  true ;;
esac
