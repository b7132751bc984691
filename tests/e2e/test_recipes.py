"""The recipes of docs/testing-with-mailworld.md run as written, each in a fresh world.

A recipe is a transcript fenced right after a line `<!-- recipe NAME [log="TEXT"]... -->`, in the
README's transcript format (test_readme.py: `$ ` commands, then what they print, with `<size>`,
`<pid>`, ... placeholders and `...` lines). Each recipe gets its own world: the README's run command
(scripts/run-world) on the real config/config.toml and fdns/fdns.toml with free ports, in a temporary
copy of the repository's layout that also holds config/faults/. Every command must print what the
recipe says and exit 0; each `log="TEXT"` must then appear in the world's log (the lines a reader sees
in the terminal running scripts/world). A block marked `<!-- file PATH -->` must equal that file of the
repository, so the rule files the page shows are the ones the recipes install.
"""
import os
import re
import shutil
import unittest

import test_readme
from test_readme import FENCE, matches, normalise, run_on_pty, substitute, transcript
from world import SOURCE, World

DOC = os.path.join(SOURCE, "docs", "testing-with-mailworld.md")
RECIPE = re.compile(r'<!-- recipe (\S+)((?: log="[^"]*")*) -->$')
FILE = re.compile(r"<!-- file (\S+) -->$")
COMMAND_TIMEOUT = 90  # a recipe's `agent wait` may sit through a relay retry or two


def fenced_after(lines, i, what):
    """The lines of the fenced block that starts on line i + 1."""
    if i + 1 >= len(lines) or not lines[i + 1].startswith(FENCE):
        raise ValueError(f"{os.path.basename(DOC)}:{i + 1}: {what} not followed by a fence")
    block, j = [], i + 2
    while j < len(lines) and not lines[j].startswith(FENCE):
        block.append(lines[j])
        j += 1
    return block


def recipes(text):
    """[(name, [log texts], [(command, expected lines)])] in the order of the page."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = RECIPE.match(line)
        if m:
            logs = re.findall(r'log="([^"]*)"', m.group(2))
            out.append((m.group(1), logs, transcript(fenced_after(lines, i, "a recipe mark"))))
    return out


def shown_files(text):
    lines = text.splitlines()
    return [(m.group(1), fenced_after(lines, i, "a file mark")) for i, line in enumerate(lines)
            if (m := FILE.match(line))]


class RecipeTree(test_readme.ReadmeExamplesTest):
    """The README test's tree and world, plus the rule files of config/faults/ (not a test itself)."""

    test_examples_print_what_the_readme_says = None

    def make_tree(self, w):
        root, ports, listeners = super().make_tree(w)
        shutil.copytree(os.path.join(SOURCE, "config", "faults"), os.path.join(root, "config", "faults"))
        return root, ports, listeners


class RecipesTest(unittest.TestCase):
    def setUp(self):
        with open(DOC, encoding="utf-8") as f:
            self.text = f.read()

    def test_shown_rule_files_are_the_repositorys(self):
        files = shown_files(self.text)
        self.assertGreaterEqual(len(files), 4)
        for path, block in files:
            with open(os.path.join(SOURCE, path), encoding="utf-8") as f:
                self.assertEqual(normalise("\n".join(block)), normalise(f.read()), path)

    def test_the_page_has_the_recipes_the_issue_asks_for(self):
        names = [name for name, _, _ in recipes(self.text)]
        for wanted in ("greylisting", "flaky-dns", "full-mailbox", "server-down", "slow-receiver"):
            self.assertIn(wanted, names)

    def test_every_transcript_on_the_page_is_a_recipe(self):
        lines = self.text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith(FENCE) and i + 1 < len(lines) and lines[i + 1].startswith("$ "):
                self.assertTrue(i > 0 and RECIPE.match(lines[i - 1]), f"line {i + 1}: a transcript without a recipe mark")

    def run_recipe(self, name, logs, steps):
        tree = RecipeTree("runTest")
        with World() as w:
            root, ports, listeners = tree.make_tree(w)
            stop, log_tail = tree.start_world(root, listeners)
            try:
                for cmd, expected in steps:
                    run = substitute(cmd, ports)
                    printed = substitute("".join(l + "\n" for l in expected), ports, hex_too=True)
                    status, out = run_on_pty(run, root, "", COMMAND_TIMEOUT)
                    self.assertTrue(matches(printed, out), f"\nrecipe {name}:\n$ {run}\nthe page says it prints:\n"
                                    f"{printed}\nit printed:\n{normalise(out)}\nthe world's log:\n{log_tail()}")
                    self.assertEqual(status, 0, f"recipe {name}: `{run}` exited {status}:\n{out}")
                log = log_tail(100000)
                for text in logs:
                    self.assertIn(text, log, f"recipe {name}: the world's log lacks {text!r}")
            finally:
                tree.doCleanups()  # stops the world by PID

    def test_recipes_run_as_written(self):
        found = recipes(self.text)
        self.assertTrue(found)
        for name, logs, steps in found:
            with self.subTest(recipe=name):
                self.run_recipe(name, logs, steps)


if __name__ == "__main__":
    unittest.main()
