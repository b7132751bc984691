#!/usr/bin/python3
"""check.py OUT_DIR FIGURE.gp...: each figure's SVG was written and shows each series its "# series:" line
names (a titled plot group with data in it, not just its key entry), and refers to nothing outside itself.
Exits non-zero with the reasons otherwise; bench/plots.sh runs it after every rendering."""
import os
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"


def series(root):
    """{title: marks} of the plotted series: gnuplot writes a group per series, and with an opaque key a
    second one of the same id for its key entry. A mark is a point marker (lines, linespoints) or a filled
    box; the key's sample is one, so a series with data has at least two."""
    titles, marks = {}, {}
    for g in root.iter(NS + "g"):
        gid = g.get("id", "")
        if not gid.startswith("gnuplot_plot_"):
            continue
        marks[gid] = marks.get(gid, 0) + sum(1 for e in g.iter() if e.tag in (NS + "use", NS + "polygon"))
        for t in g.iter(NS + "text"):
            titles.setdefault(gid, "".join(t.itertext()))
    return {t: marks[gid] for gid, t in titles.items()}


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
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        return [f"{svg}: not a complete SVG ({e})"]
    outside = [v for e in root.iter() for k, v in e.attrib.items()
               if k in (XLINK, "href", "src") and not v.startswith("#")]
    if outside:
        errs.append(f"{svg}: refers to {outside[:3]}")
    groups = series(root)
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
