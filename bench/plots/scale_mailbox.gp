# series: mailsrv, login+STAT+LIST+QUIT | Dovecot tuned, login+STAT+LIST+QUIT | Dovecot tuned, first login (index build) | mailsrv, UIDL | Dovecot tuned, UIDL
load dir."/common.gp"
set terminal svg size 720,480 dynamic noenhanced font "sans,12" background "white"
set output out
set title "POP3 on one maildrop of N messages of 2 KB, the same Maildir for both servers"
set logscale xy
set format x "10^{%L}"
set xlabel "messages in the maildrop"
set ylabel "milliseconds (median)"
set xrange [50:200000]
set linetype 4 lc rgb "#1f6fb4" lw 1.5 pt 6 dt 2
set linetype 5 lc rgb "#d9541e" lw 1.5 pt 4 dt 2
set linetype 6 lc rgb "#7f7f7f" lw 1.5 pt 8 dt 3
f = raw."/scale_mailbox.tsv"
plot f using "msgs":(sel("mailsrv", "login_stat_list_ms")) lt MW title "mailsrv, login+STAT+LIST+QUIT", \
     f using "msgs":(sel("dovecot-tuned", "login_stat_list_ms")) lt PEER title "Dovecot tuned, login+STAT+LIST+QUIT", \
     f using "msgs":(sel("dovecot-tuned", "first_ms")) lt 6 title "Dovecot tuned, first login (index build)", \
     f using "msgs":(sel("mailsrv", "uidl_ms")) lt 4 title "mailsrv, UIDL", \
     f using "msgs":(sel("dovecot-tuned", "uidl_ms")) lt 5 title "Dovecot tuned, UIDL"
