#!/bin/bash
# Two Postfix instances relaying to each other on loopback (postmulti), for bench/relay_bench.sh:
#   postfix-mwa on 127.0.0.1:2601: "mail.sustech.edu.cn" side, relays gmail.com to the other instance
#                                  (transport_maps: gmail.com -> smtp:[127.0.0.1]:2602);
#   postfix-mwb on 127.0.0.1:2602: final destination of gmail.com, local(8) into ~mbench/Maildir/
#                                  (local_destination_concurrency_limit = 20, the fair setting of issue 3).
# The relay hop uses STARTTLS as mailsrv's does by default: postfix-mwb offers it (a self-signed
# certificate made here, smtpd_tls_security_level = may) and postfix-mwa uses it when offered
# (smtp_tls_security_level = may); each side keeps its TLS session cache through tlsmgr(8)
# (smtp_tls_session_cache_database / smtpd_tls_session_cache_database), as a stock install does.
# Submission to postfix-mwa on 2601 stays plaintext, as it is for mailsrv in bench/relay_bench.sh.
#   postfix_pair.sh start | stop
set -e
case "$1" in
start)
  id mbench >/dev/null 2>&1 || useradd -m -d /home/mbench -s /usr/sbin/nologin mbench
  [ -f /etc/postfix/main.cf.orig-mailworld ] || cp -p /etc/postfix/main.cf /etc/postfix/main.cf.orig-mailworld
  postconf -e "inet_interfaces = loopback-only" "inet_protocols = ipv4"
  grep -q '^multi_instance_enable *= *yes' /etc/postfix/main.cf || postmulti -e init
  for i in mwa mwb; do [ -d /etc/postfix-$i ] || postmulti -I postfix-$i -e create; done
  # (Registered again: `stop` restores the package's main.cf, which forgets them.)
  postconf -e "multi_instance_directories = /etc/postfix-mwa /etc/postfix-mwb"
  common=("master_service_disable =" "inet_interfaces = loopback-only" "inet_protocols = ipv4"
          "default_process_limit = 600"
          "mynetworks = 127.0.0.0/8" "message_size_limit = 10240000")
  if [ ! -s /etc/postfix-mwb/mw-tls.pem ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mwb.localdomain \
      -keyout /etc/postfix-mwb/mw-tls.key -out /etc/postfix-mwb/mw-tls.pem 2>/dev/null
    chmod 600 /etc/postfix-mwb/mw-tls.key
  fi
  postconf -c /etc/postfix-mwa -e "${common[@]}" "myhostname = mwa.localdomain" "mydestination =" \
    "smtp_tls_security_level = may" "smtp_tls_loglevel = 1" "smtp_tls_session_cache_database = btree:\${data_directory}/smtp_scache" \
    "transport_maps = hash:/etc/postfix-mwa/transport" "maillog_file = /var/log/postfix-mwa.log"
  echo "gmail.com smtp:[127.0.0.1]:2602" > /etc/postfix-mwa/transport
  postmap /etc/postfix-mwa/transport
  postconf -c /etc/postfix-mwb -e "${common[@]}" "myhostname = mwb.localdomain" "mydestination = gmail.com" \
    "home_mailbox = Maildir/" "mailbox_size_limit = 0" "local_destination_concurrency_limit = 20" \
    "alias_maps =" "alias_database =" "maillog_file = /var/log/postfix-mwb.log" \
    "smtpd_tls_security_level = may" "smtpd_tls_cert_file = /etc/postfix-mwb/mw-tls.pem" \
    "smtpd_tls_key_file = /etc/postfix-mwb/mw-tls.key" \
    "smtpd_tls_session_cache_database = btree:\${data_directory}/smtpd_scache" "smtpd_tls_loglevel = 1"
  postconf -c /etc/postfix-mwa -MX smtp/inet 2>/dev/null || true
  postconf -c /etc/postfix-mwb -MX smtp/inet 2>/dev/null || true
  postconf -c /etc/postfix-mwa -M "2601/inet=2601 inet n - y - - smtpd"
  postconf -c /etc/postfix-mwb -M "2602/inet=2602 inet n - y - - smtpd"
  for i in mwa mwb; do
    postmulti -i postfix-$i -e enable
    postfix -c /etc/postfix-$i check
    postfix -c /etc/postfix-$i start
  done
  sleep 1
  ss -ltn | grep -E ':260[12] ' ;;
stop)
  for i in mwa mwb; do [ -d /etc/postfix-$i ] && postfix -c /etc/postfix-$i stop 2>/dev/null; done
  sleep 1
  [ -f /etc/postfix/main.cf.orig-mailworld ] && cp -p /etc/postfix/main.cf.orig-mailworld /etc/postfix/main.cf
  true ;;
esac
