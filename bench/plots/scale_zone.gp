# series: fdns load | NSD load | fdns memory | NSD memory (PSS) | fdns qps | NSD qps
load dir."/common.gp"
set datafile missing NaN  # the other server's rows: skipped, lines not broken
set terminal svg size 1140,430 dynamic noenhanced font "sans,12" background "white"
set output out
set multiplot layout 1,3 title "Large zones: N names, half MX and half A (bench/scale_zone.sh)"
set logscale x
set xlabel "names in the zone"
set xtics (10000, 100000, 1000000)
set xrange [7000:1400000]
set key inside top left box
set logscale y
set title "load: CPU seconds until the first answer"
set ylabel "CPU seconds"
plot raw."/scale_zone.tsv" using "names":(sel("fdns", "load_cpu_s")) lt MW title "fdns load", \
     ''                    using "names":(sel("nsd", "load_cpu_s")) lt PEER title "NSD load"
set title "memory after loading"
set ylabel "MiB"
plot raw."/scale_zone.tsv" using "names":(sel("fdns", "pss_kb")/1024) lt MW title "fdns memory", \
     ''                    using "names":(sel("nsd", "pss_kb")/1024) lt PEER title "NSD memory (PSS)"
unset logscale y
set yrange [0:*]
set title "queries/s, dnsperf -c 10 -q 100"
set ylabel "queries/second"
plot raw."/scale_zone.tsv" using "names":(sel("fdns", "qps")) lt MW title "fdns qps", \
     ''                    using "names":(sel("nsd", "qps")) lt PEER title "NSD qps"
unset multiplot
