# series: mailsrv | Dovecot 2.3 (tuned) | Dovecot 2.3 (default)
load dir."/common.gp"
set title "POP3: logins/s (connect, USER, PASS, STAT, QUIT) vs client processes"
set logscale x
set logscale y
set xlabel "client processes, one account each"
set xtics (1, 5, 20)
set xrange [0.8:25]
set ylabel "sessions/second (log scale)"
plot med."/pop3_login.tsv" using "clients":(sel("mailsrv", "sessions_per_s")) lt MW title "mailsrv", \
     ''                    using "clients":(sel("dovecot-tuned", "sessions_per_s")) lt PEER title "Dovecot 2.3 (tuned)", \
     ''                    using "clients":(sel("dovecot-default", "sessions_per_s")) lt PEER2 title "Dovecot 2.3 (default)", \
     raw."/pop3_login.tsv" using "clients":(sel("mailsrv", "sessions_per_s")) with points lt MW pt 1 notitle, \
     ''                    using "clients":(sel("dovecot-tuned", "sessions_per_s")) with points lt PEER pt 1 notitle, \
     ''                    using "clients":(sel("dovecot-default", "sessions_per_s")) with points lt PEER2 pt 1 notitle
