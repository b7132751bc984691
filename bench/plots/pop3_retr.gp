# series: RETR, one at a time (poplib) | RETR, pipelined 100 at a time
load dir."/common.gp"
set title "POP3: RETR of 2 KB messages in one session, messages/s"
set style fill solid 0.85 border -1
set boxwidth 0.38
set xrange [-0.6:2.6]
set yrange [0:*]
set ylabel "messages/second"
set grid noxtics
set xtics nomirror
set offsets 0, 0, graph 0.05, 0
# the bar of each server: the medians files list them in this order
idx(s) = (s eq "mailsrv") ? 0 : (s eq "dovecot-default") ? 1 : 2
lab(s) = (s eq "dovecot-default") ? "Dovecot 2.3 (default)" : (s eq "dovecot-tuned") ? "Dovecot 2.3 (tuned)" : s
plot med."/pop3_retr.tsv" using ($0 - 0.2):"msgs_per_s":xtic(lab(strcol("server"))) with boxes lt MW title "RETR, one at a time (poplib)", \
     med."/pop3_retrpipe.tsv" using ($0 + 0.2):"msgs_per_s" with boxes lt PEER title "RETR, pipelined 100 at a time", \
     raw."/pop3_retr.tsv" using (idx(strcol("server")) - 0.2):"msgs_per_s" with points lc rgb "black" pt 1 notitle, \
     raw."/pop3_retrpipe.tsv" using (idx(strcol("server")) + 0.2):"msgs_per_s" with points lc rgb "black" pt 1 notitle
