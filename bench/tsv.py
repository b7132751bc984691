#!/usr/bin/python3
"""The bench tools' result lines, also as TSV for bench/plots.sh.

As a module:   emit(kind, [("key", value), ...]) prints the usual one line of key=value and, when the
               environment has BENCH_TSV_DIR, appends the same values as a row of BENCH_TSV_DIR/KIND.tsv
               (a header of the keys first when the file is new; a file with other columns is an error).
As a command:  tsv.py KIND key=value...   the same, for the shell scripts."""
import os
import sys


def emit(kind, fields):
    print(" ".join(f"{k}={v}" for k, v in fields), flush=True)
    out = os.environ.get("BENCH_TSV_DIR")
    if not out:
        return
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{kind}.tsv")
    head = "\t".join(k for k, _ in fields)
    if os.path.exists(path):
        with open(path) as f:
            have = f.readline().rstrip("\n")
        if have != head:
            sys.exit(f"tsv.py: {path} has columns [{have}], this row [{head}]")
        head = None
    with open(path, "a") as f:
        if head:
            f.write(head + "\n")
        f.write("\t".join(str(v) for _, v in fields) + "\n")


if __name__ == "__main__":
    emit(sys.argv[1], [tuple(a.split("=", 1)) for a in sys.argv[2:]])
