# series: mailsrv, login+STAT+LIST+QUIT | Dovecot tuned, login+STAT+LIST+QUIT | mailsrv, its CPU for that | Dovecot tuned, its CPU for that | Dovecot tuned, first login (index build) | mailsrv, UIDL | Dovecot tuned, UIDL
load dir."/common.gp"
set terminal svg size 760,540 dynamic noenhanced font "sans,12" background "white"
set output out
set title "POP3 on one maildrop of N messages of 2 KB, the same Maildir for both servers"
set logscale xy
set xtics ("100" 100, "1,000" 1000, "10,000" 10000, "100,000" 100000)
set xlabel "messages in the maildrop"
set ylabel "milliseconds (median)"
set xrange [50:200000]
set linetype 4 lc rgb "#1f6fb4" lw 1.5 pt 6 dt 2
set linetype 5 lc rgb "#d9541e" lw 1.5 pt 4 dt 2
set linetype 6 lc rgb "#7f7f7f" lw 1.5 pt 8 dt 3
set linetype 7 lc rgb "#1f6fb4" lw 1 pt 1 dt 3
set linetype 8 lc rgb "#d9541e" lw 1 pt 2 dt 3
f = raw."/scale_mailbox.tsv"
# the rows alternate between the servers (sizes ascending): one server's rows at a time, so that its
# points join up
rows(s) = sprintf("< awk -F'\t' 'NR == 1 || $1 == \"%s\"' '%s'", s, f)
plot rows("mailsrv") using "msgs":"login_stat_list_ms" lt MW title "mailsrv, login+STAT+LIST+QUIT", \
     rows("dovecot-tuned") using "msgs":"login_stat_list_ms" lt PEER title "Dovecot tuned, login+STAT+LIST+QUIT", \
     rows("mailsrv") using "msgs":"cpu_ms" lt 7 title "mailsrv, its CPU for that", \
     rows("dovecot-tuned") using "msgs":"cpu_ms" lt 8 title "Dovecot tuned, its CPU for that", \
     rows("dovecot-tuned") using "msgs":"first_ms" lt 6 title "Dovecot tuned, first login (index build)", \
     rows("mailsrv") using "msgs":"uidl_ms" lt 4 title "mailsrv, UIDL", \
     rows("dovecot-tuned") using "msgs":"uidl_ms" lt 5 title "Dovecot tuned, UIDL"
