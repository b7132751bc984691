# series: mailsrv | Postfix 3.7
load dir."/common.gp"
set title "SMTP into a durable Maildir: messages/s vs concurrent sessions (1 KB, a connection per message)"
set logscale x
set xtics (1, 5, 20, 50, 100)
set xrange [0.8:125]
set xlabel "concurrent sessions (smtp-source -s)"
set ylabel "messages/second, end to end"
set yrange [0:*]
plot med."/smtp.tsv" using "conc":(sel("mailsrv", "e2e_rate")) lt MW title "mailsrv", \
     ''              using "conc":(sel("postfix-lc20", "e2e_rate")) lt PEER title "Postfix 3.7", \
     raw."/smtp.tsv" using "conc":(sel("mailsrv", "e2e_rate")) with points lt MW pt 1 notitle, \
     ''              using "conc":(sel("postfix-lc20", "e2e_rate")) with points lt PEER pt 1 notitle
