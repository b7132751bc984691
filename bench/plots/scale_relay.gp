# series: messages per second | CPU ms per message
# Relay with STARTTLS (bench/relay_bench.sh with RELAY_TLS_OFF=1, issue 15): one bar per pair and variant,
# the medians of the run (kind scale_relay: server, variant, msgs_per_s, cpu_ms_per_msg).
load dir."/common.gp"
set style data boxes
set style fill solid 0.8 border -1
set boxwidth 0.6
set yrange [0:*]
set xrange [-0.6:*]
set multiplot layout 1,2 title "Relay A -> B on loopback, 1 KB messages, 20 sessions (one run)"
set title "end-to-end throughput"
set ylabel "messages per second"
plot raw."/scale_relay.tsv" using 0:"msgs_per_s":xtic(strcol("server")." ".strcol("variant")) lt MW title "messages per second"
set title "server CPU (both servers, user+system)"
set ylabel "ms of CPU per message"
plot raw."/scale_relay.tsv" using 0:"cpu_ms_per_msg":xtic(strcol("server")." ".strcol("variant")) lt PEER title "CPU ms per message"
unset multiplot
