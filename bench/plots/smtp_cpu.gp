# series: mailsrv | Postfix 3.7
load dir."/common.gp"
set title "SMTP: server CPU (user+system, whole process tree) per message"
set logscale x
set xtics (1, 5, 20, 50, 100)
set xrange [0.8:125]
set logscale y
set xlabel "concurrent sessions (smtp-source -s)"
set ylabel "ms of CPU per message (log scale)"
plot med."/smtp.tsv" using "conc":(sel("mailsrv", "cpu_ms_per_msg")) lt MW title "mailsrv", \
     ''              using "conc":(sel("postfix-lc20", "cpu_ms_per_msg")) lt PEER title "Postfix 3.7", \
     raw."/smtp.tsv" using "conc":(sel("mailsrv", "cpu_ms_per_msg")) with points lt MW pt 1 notitle, \
     ''              using "conc":(sel("postfix-lc20", "cpu_ms_per_msg")) with points lt PEER pt 1 notitle
