# series: delivery p50 (ms) | delivery p99 (ms) | memory of all servers (MB, right axis) | CPU per message (ms x 10, right axis)
# A generated world at 10, 50, 100 servers under the same traffic (bench/scale_world.sh).
load dir."/common.gp"
set title "A world of N servers (10 domains each, 10,000 accounts): the same traffic"
set xlabel "mail servers in the world"
set ylabel "delivery latency, ms"
set y2label "MB (memory) / ms x 10 (CPU per message)"
set xtics (10, 50, 100)
set y2tics
set ytics nomirror
set yrange [0:*]
set y2range [0:*]
set xrange [0:110]
plot raw."/scale_world.tsv" using "servers":"p50_ms" lt MW title "delivery p50 (ms)", \
     raw."/scale_world.tsv" using "servers":"p99_ms" lt PEER title "delivery p99 (ms)", \
     raw."/scale_world.tsv" using "servers":"peak_pss_mb" axes x1y2 lt PEER2 title "memory of all servers (MB, right axis)", \
     raw."/scale_world.tsv" using "servers":(column("cpu_ms_per_msg") * 10) axes x1y2 lc rgb "#2ca02c" lw 2 pt 11 title "CPU per message (ms x 10, right axis)"
