# series: mailsrv p50 | mailsrv p99 | Postfix p50 | Postfix p99 | mailsrv | Postfix
load dir."/common.gp"
set datafile missing NaN  # the other server's rows: skipped, lines not broken
set terminal svg size 960,430 dynamic noenhanced font "sans,12" background "white"
set output out
set multiplot layout 1,2 title "Many slow SMTP sessions, a NOOP every 5 s each (bench/scale_sessions.sh)"
set logscale xy
set xlabel "concurrent sessions"
set xtics (1000, 10000)
set xrange [700:14000]
set key inside top left box
set title "NOOP round trip of one more session"
set ylabel "milliseconds"
plot raw."/scale_sessions.tsv" using "sessions":(sel("mailsrv", "noop_p50_ms")) lt MW title "mailsrv p50", \
     ''                        using "sessions":(sel("mailsrv", "noop_p99_ms")) lt MW dt 2 pt 6 title "mailsrv p99", \
     ''                        using "sessions":(sel("postfix", "noop_p50_ms")) lt PEER title "Postfix p50", \
     ''                        using "sessions":(sel("postfix", "noop_p99_ms")) lt PEER dt 2 pt 4 title "Postfix p99"
set title "server memory per session (PSS)"
set ylabel "KiB per session"
plot raw."/scale_sessions.tsv" using "sessions":(sel("mailsrv", "kb_per_session")) lt MW title "mailsrv", \
     ''                        using "sessions":(sel("postfix", "kb_per_session")) with points lt PEER title "Postfix"
unset multiplot
