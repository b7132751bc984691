#!/usr/bin/env python3
"""Checks that every library under lib/ includes only what docs/architecture.md allows it to.

The rules are read from the block between the `<!-- layers -->` and `<!-- /layers -->` markers of
docs/architecture.md (one line per library: `name: the libraries it may include [asio]`), so the page
and the code cannot drift apart: an include across a floor fails this test until the page allows it,
and a rule the code no longer needs fails too, so the page says what the code does.
usage: check_layers.py REPO_ROOT | check_layers.py --self-test"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'\s*#\s*include\s*([<"])([^>"]+)[>"]')


def rules_of(page):
    block = re.search(r"<!-- layers -->(.*?)<!-- /layers -->", page, re.S)
    if not block:
        return None
    rules = {}
    for line in block.group(1).splitlines():
        m = re.match(r"^\s*([a-z0-9_]+):\s*(.*?)\s*$", line)
        if m:
            rules[m.group(1)] = set(m.group(2).split())
    return rules


def problems(root):
    """The broken rules under ROOT, as lines."""
    page_path = os.path.join(root, "docs", "architecture.md")
    rules = rules_of(open(page_path, encoding="utf-8").read())
    if rules is None:
        return ["docs/architecture.md has no <!-- layers --> block"]
    lib = os.path.join(root, "lib")
    bad = []
    for name in sorted(os.listdir(lib)):
        folder = os.path.join(lib, name)
        if not os.path.isdir(folder):
            continue
        if name not in rules:
            bad.append(f"lib/{name}: not in the layers of docs/architecture.md")
            continue
        allowed = rules[name] | {name}
        used = set()
        for where, _, files in sorted(os.walk(folder)):
            for f in sorted(files):
                if not f.endswith((".hpp", ".cpp")):
                    continue
                rel = os.path.relpath(os.path.join(where, f), root)
                for n, text in enumerate(open(os.path.join(where, f), encoding="utf-8"), 1):
                    m = INCLUDE.match(text)
                    if not m:
                        continue
                    inc = m.group(2)
                    if m.group(1) == '"' and "/" in inc:
                        dep = inc.split("/", 1)[0]
                        used.add(dep)
                        if dep not in allowed:
                            bad.append(f"{rel}:{n}: includes {inc} ({name} may not include {dep})")
                    elif m.group(1) == "<" and (inc == "asio.hpp" or inc.startswith("asio/")):
                        used.add("asio")
                        if "asio" not in allowed:
                            bad.append(f"{rel}:{n}: includes <{inc}> (only libraries marked asio may)")
        for extra in sorted(rules[name] - used):
            bad.append(f"lib/{name}: docs/architecture.md allows {extra}, which it does not include")
    for name in sorted(set(rules) - set(os.listdir(lib))):
        bad.append(f"docs/architecture.md: lib/{name} does not exist")
    return bad


def self_test():
    """The check catches what it is for: a tree with a floor crossed, an Asio include, a stale rule."""
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "docs"))
        for d in ("lib/util", "lib/smtp/sub", "lib/net"):
            os.makedirs(os.path.join(root, d))
        with open(os.path.join(root, "docs", "architecture.md"), "w") as f:
            f.write("<!-- layers -->\nutil:\nsmtp: util\nnet: smtp util asio\n<!-- /layers -->\n")

        def write(path, text):
            with open(os.path.join(root, path), "w") as f:
                f.write(text)

        write("lib/util/a.hpp", "#include <string>\n")
        write("lib/smtp/sub/b.cpp", '#include "util/a.hpp"\n')
        write("lib/net/c.cpp", '#include <asio/post.hpp>\n#include "smtp/sub/b.hpp"\n#include "util/a.hpp"\n')
        assert problems(root) == [], problems(root)
        write("lib/util/a.hpp", '#include "smtp/sub/b.hpp"\n')
        write("lib/smtp/sub/b.cpp", '#include "util/a.hpp"\n#include <asio.hpp>\n')
        found = problems(root)
        assert any("lib/util/a.hpp:1" in p and "util may not include smtp" in p for p in found), found
        assert any("lib/smtp/sub/b.cpp:2" in p and "asio" in p for p in found), found
        write("lib/net/c.cpp", '#include <asio/post.hpp>\n#include "smtp/sub/b.hpp"\n')
        assert any("net: docs/architecture.md allows util" in p for p in problems(root)), problems(root)
    print("ok: the layer check finds a crossed floor, an Asio include and a stale rule")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--self-test":
        self_test()
        sys.exit(0)
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[-1])
    found = problems(sys.argv[1])
    for p in found:
        print("FAIL:", p)
    if found:
        sys.exit(1)
    print("ok: every library under lib/ includes only what docs/architecture.md allows")
