# series: mailsrv | Postfix 3.7
load dir."/common.gp"
set title "SMTP: memory per idle session (EHLO'd, held open), PSS of the whole process tree"
set logscale x
set logscale y
set xlabel "idle sessions held open"
set xtics (50, 100, 200, 400, 1000, 2000)
set xrange [40:2500]
set ylabel "KB PSS per session (log scale)"
plot med."/smtp_idle.tsv" using "conns":(sel("mailsrv", "pss_kb_per_conn")) lt MW title "mailsrv", \
     ''                   using "conns":(sel("postfix-lc20", "pss_kb_per_conn")) lt PEER title "Postfix 3.7"
