# series: mailsrv SMTP | Postfix SMTP | mailsrv relay (STARTTLS) | Postfix pair relay (no TLS) | mailsrv RETR | Dovecot RETR
# bench/scale_bigmsg.sh: MB/s and the server's peak RSS growth against the message size (mean of the runs;
# the 1 KB rows, a base line for memory, only in the memory panel).
load dir."/common.gp"
set terminal svg size 1040,460 dynamic noenhanced font "sans,12" background "white"
set output out
# column c of the rows of server s on path p, undefined on the other rows
selp(s, p, c) = (strcol("server") eq s && strcol("path") eq p) ? column(c) : NaN
f = raw."/scale_bigmsg.tsv"
set logscale x
set xrange [0.7:40]
set xtics ("1 MB" 1, "10 MB" 10, "25 MB" 25)
set xlabel "message size"
set multiplot layout 1,2
set title "throughput, MB/s (10^6 octets) of the message"
set yrange [0:*]
set ylabel "MB/s"
set key top left inside vertical box font "sans,10"
plot f using "size_mb":(selp("mailsrv", "smtp", "mb_per_s")) smooth unique with linespoints lt MW pt 7 title "mailsrv SMTP", \
     f using "size_mb":(selp("postfix", "smtp", "mb_per_s")) smooth unique with linespoints lt PEER pt 5 title "Postfix SMTP", \
     f using "size_mb":(selp("mailsrv", "relay", "mb_per_s")) smooth unique with linespoints lt MW dt 2 pt 9 title "mailsrv relay (STARTTLS)", \
     f using "size_mb":(selp("postfix", "relay", "mb_per_s")) smooth unique with linespoints lt PEER dt 2 pt 11 title "Postfix pair relay (no TLS)", \
     f using "size_mb":(selp("mailsrv", "retr", "mb_per_s")) smooth unique with linespoints lt MW dt 3 pt 13 title "mailsrv RETR", \
     f using "size_mb":(selp("dovecot", "retr", "mb_per_s")) smooth unique with linespoints lt PEER dt 3 pt 15 title "Dovecot RETR"
set title "server peak RSS growth during the transfer, KiB (goal: < 4096)"
set xrange [0.0006:40]
set xtics ("1 KB" 0.001, "10 KB" 0.01, "100 KB" 0.1, "1 MB" 1, "10" 10, "25 MB" 25)
set yrange [0:*]
set ylabel "KiB"
set key off
plot f using "size_mb":(selp("mailsrv", "smtp", "rss_growth_kb")) smooth unique with linespoints lt MW pt 7 notitle, \
     f using "size_mb":(selp("postfix", "smtp", "rss_growth_kb")) smooth unique with linespoints lt PEER pt 5 notitle, \
     f using "size_mb":(selp("mailsrv", "relay", "rss_growth_kb")) smooth unique with linespoints lt MW dt 2 pt 9 notitle, \
     f using "size_mb":(selp("postfix", "relay", "rss_growth_kb")) smooth unique with linespoints lt PEER dt 2 pt 11 notitle, \
     f using "size_mb":(selp("mailsrv", "retr", "rss_growth_kb")) smooth unique with linespoints lt MW dt 3 pt 13 notitle, \
     f using "size_mb":(selp("dovecot", "retr", "rss_growth_kb")) smooth unique with linespoints lt PEER dt 3 pt 15 notitle
unset multiplot
