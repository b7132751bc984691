#!/usr/bin/python3
"""check.py OUT_DIR FIGURE.gp...: each figure's SVG was written and shows each series its "# series:" line
names (a titled plot group with data in it, not just its key entry), and refers to nothing outside itself.
Exits non-zero with the reasons otherwise; bench/plots.sh runs it after every rendering."""
import os
import re
import sys

GROUP = re.compile(r'<g id="gnuplot_plot_\d+" ><title>(.*?)</title>(.*?)\n\t</g>', re.S)
# A point marker (lines, linespoints) or a filled box: the key's sample is one of them, data adds more.
MARK = re.compile(r"<use xlink:href='#gpPt|<polygon ")


def unescape(t):
    return t.replace("&lt;", "<").replace("&gt;", ">").replace("&apos;", "'").replace("&quot;", '"').replace("&amp;", "&")


def check(out, gp):
    name = os.path.splitext(os.path.basename(gp))[0]
    with open(gp) as f:
        line = next((l for l in f if l.startswith("# series:")), None)
    if line is None:
        return [f"{gp}: no '# series:' line"]
    want = [s.strip() for s in line.split(":", 1)[1].split("|")]
    svg = os.path.join(out, f"{name}.svg")
    if not os.path.exists(svg):
        return [f"{svg}: not written"]
    with open(svg) as f:
        text = f.read()
    errs = []
    if not text.rstrip().endswith("</svg>"):
        errs.append(f"{svg}: not a complete SVG")
    outside = [u for u in re.findall(r'(?:href|src)\s*=\s*["\']([^"\'#][^"\']*)', text)]
    if outside:
        errs.append(f"{svg}: refers to {outside[:3]}")
    groups = {}
    for m in GROUP.finditer(text):
        groups[unescape(m.group(1))] = len(MARK.findall(m.group(2)))
    for s in want:
        if s not in groups:
            errs.append(f"{svg}: no series '{s}' (has {sorted(groups)})")
        elif groups[s] < 2:
            errs.append(f"{svg}: series '{s}' has no data points")
    return errs


if __name__ == "__main__":
    errs = [e for gp in sys.argv[2:] for e in check(sys.argv[1], gp)]
    for e in errs:
        print("check.py:", e, file=sys.stderr)
    sys.exit(1 if errs else 0)
