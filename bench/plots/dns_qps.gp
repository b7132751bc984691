# series: fdns | NSD 4.6
load dir."/common.gp"
set title "DNS on loopback: queries/s vs dnsperf clients (-q 100 outstanding, same zone data)"
set logscale x
set xlabel "dnsperf clients (-c)"
set xtics (1, 2, 5, 10, 20)
set xrange [0.8:25]
set ylabel "queries/second"
set yrange [0:*]
plot med."/dns.tsv" using "clients":(sel("fdns", "qps")) lt MW title "fdns", \
     ''             using "clients":(sel("nsd", "qps")) lt PEER title "NSD 4.6", \
     raw."/dns.tsv" using "clients":(sel("fdns", "qps")) with points lt MW pt 1 notitle, \
     ''             using "clients":(sel("nsd", "qps")) with points lt PEER pt 1 notitle
