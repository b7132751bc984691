#!/usr/bin/python3
"""medians.py DATA_DIR OUT_DIR: the median of each measure per point, from the raw rows bench/plots.sh collected.

DATA_DIR holds the TSV files the bench tools wrote (bench/tsv.py), one row per run; every file of KINDS
must be there. OUT_DIR/KIND.tsv gets one row per (server, x): the point's columns, then `runs` and the
median of each measure; servers in the order of their first run, x ascending. The gnuplot scripts
(bench/plots/*.gp) read these. Exits non-zero on a missing file or column."""
import csv
import os
import statistics
import sys

# kind: (the x column or None, the measures)
KINDS = {
    "smtp": ("conc", ["e2e_rate", "accept_rate", "cpu_ms_per_msg", "peak_pss_kb"]),
    "smtp_idle": ("conns", ["pss_kb_per_conn", "rss_kb_per_conn"]),
    "dns": ("clients", ["qps", "cpu_us_per_query"]),
    "pop3_login": ("clients", ["sessions_per_s", "cpu_ms_per_session"]),
    "pop3_retr": (None, ["msgs_per_s", "cpu_us_per_retr"]),
    "pop3_retrpipe": (None, ["msgs_per_s", "cpu_us_per_retr"]),
    "pop3_mem": (None, ["pss_kb_per_session"]),
}


def main(data, out):
    os.makedirs(out, exist_ok=True)
    for kind, (xcol, measures) in KINDS.items():
        path = os.path.join(data, f"{kind}.tsv")
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            sys.exit(f"medians.py: {path} has no rows")
        missing = [c for c in ["server"] + ([xcol] if xcol else []) + measures if c not in rows[0]]
        if missing:
            sys.exit(f"medians.py: {path} lacks the columns {missing}")
        servers, points = [], {}
        for r in rows:
            if r["server"] not in servers:
                servers.append(r["server"])
            points.setdefault((r["server"], float(r[xcol]) if xcol else 0), []).append(r)
        order = sorted(points, key=lambda k: (servers.index(k[0]), k[1]))
        with open(os.path.join(out, f"{kind}.tsv"), "w") as f:
            f.write("\t".join(["server"] + ([xcol] if xcol else []) + ["runs"] + measures) + "\n")
            for key in order:
                runs = points[key]
                vals = [f"{statistics.median(float(r[m]) for r in runs):g}" for m in measures]
                f.write("\t".join([key[0]] + ([runs[0][xcol]] if xcol else []) + [str(len(runs))] + vals) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
