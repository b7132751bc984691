# series: mailsrv start-up | Postfix start-up | mailsrv drain | Postfix drain | mailsrv memory | Postfix memory (PSS, all processes)
load dir."/common.gp"
set datafile missing NaN  # the other server's rows: skipped, lines not broken
set terminal svg size 960,430 dynamic noenhanced font "sans,12" background "white"
set output out
set multiplot layout 1,2 title "A long queue for a down destination (bench/scale_queue.sh)"
set logscale xy
set xlabel "queued entries"
set xtics (1000, 10000, 100000)
set xrange [700:140000]
set key inside top left box
set title "start (until the greeting) and drain (start until all delivered)"
set ylabel "seconds"
plot raw."/scale_queue.tsv" using "entries":(sel("mailsrv", "startup_s")) lt MW title "mailsrv start-up", \
     ''                     using "entries":(sel("postfix", "startup_s")) lt PEER title "Postfix start-up", \
     ''                     using "entries":(sel("mailsrv", "drain_s")) lt MW dt 2 pt 6 title "mailsrv drain", \
     ''                     using "entries":(sel("postfix", "drain_s")) lt PEER dt 2 pt 4 title "Postfix drain"
set title "memory while idle with the backlog"
set ylabel "MiB"
plot raw."/scale_queue.tsv" using "entries":(sel("mailsrv", "pss_kb")/1024) lt MW title "mailsrv memory", \
     ''                     using "entries":(sel("postfix", "pss_kb")/1024) lt PEER title "Postfix memory (PSS, all processes)"
unset multiplot
