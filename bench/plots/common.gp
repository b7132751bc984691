# Shared by the figures of bench/plots.sh. Set on the command line: med (the medians folder,
# bench/plots/medians.py), raw (the folder of one row per run), out (the SVG to write), dir (this folder).
# Every figure's "# series:" line names its titled series; bench/plots/check.py looks for each in the SVG.
set terminal svg size 720,430 dynamic noenhanced font "sans,12" background "white"
set output out
set datafile separator "\t"
set datafile columnheaders
set key tmargin center horizontal box
set grid
set style data linespoints
set pointsize 1.1
# column c (a header name) of the rows of server s, undefined on the other rows
sel(s, c) = (strcol("server") eq s) ? column(c) : NaN
# mailworld in one colour, the peer in another, in every figure
MW = 1; PEER = 2; PEER2 = 3
set linetype 1 lc rgb "#1f6fb4" lw 2 pt 7
set linetype 2 lc rgb "#d9541e" lw 2 pt 5
set linetype 3 lc rgb "#7f7f7f" lw 2 pt 9
