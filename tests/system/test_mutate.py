#!/usr/bin/python3
"""Tests of tools/mutate.py (make mutate) without an emulator: the list's
parsing, the test3.py command a test line becomes, the score and exit
status, and a whole run on a small fake tree whose tests are host commands
(caught, survived, invalid, broken by a text that occurs twice or not at
all, broken by a test that fails without the mutation, a test that hangs, Ctrl-C)."""

import contextlib
import importlib.util
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("mutate", os.path.join(ROOT, "tools/mutate.py"))
mutate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutate)


class ListParsing(unittest.TestCase):
    def test_the_tree_list_parses_and_every_entry_matches_once(self):
        with open(os.path.join(ROOT, mutate.DEFAULT_LIST)) as f:
            mutations = mutate.parse_list(f.read())
        self.assertGreaterEqual(len(mutations), 25)
        self.assertEqual(len({m.id for m in mutations}), len(mutations))
        for m in mutations:
            self.assertIsNone(mutate.match_problem(ROOT, m), m.id)

    def test_quoted_values_keep_spaces_and_newlines(self):
        (m,) = mutate.parse_list('[a]\nfile = f.c\nfrom = "  x;\\n}"\nto =\n'
                                 'tests = host true\n  host make unit\nnote = two\n  lines\n')
        self.assertEqual(m.old, "  x;\n}")
        self.assertEqual(m.new, "")
        self.assertEqual([t.line for t in m.tests], ["host true", "host make unit"])
        self.assertEqual(m.note, "two lines")

    def test_bad_entries_are_named(self):
        for text, what in [("[a]\nfile = f\nfrom = x\ntests = host true\n", "no to"),
                           ("[a]\nfile = f\nfrom = x\nto = x\ntests = host true\n", "the same"),
                           ("[a]\nfile = f\nfrom = x\nto = y\ntests = kvm amd64\n", "qemu, bochs"),
                           ("[a]\nfile = f\nfrom = x\nto = y\ntests = bochs arm\n", "subarch"),
                           ("[a]\nfile = f\nfrom = x\nto = y\ntests = bochs i386 boot=direct\n",
                            "GRUB image only"),
                           ("[a]\nfile = f\nfrom = x\nto = y\ntests = qemu i386 smp=x\n", "number"),
                           ("[a]\nfile = f\nfrom = x\nto = y\ntests = qemu i386 foo=1\n", "KEY"),
                           ("[a]\nfile = f\nfrom = x\nto = y\nfiel = g\ntests = host true\n",
                            "unknown key")]:
            with self.assertRaises(mutate.ListError) as e:
                mutate.parse_list(text)
            self.assertIn("[a]", str(e.exception))
            self.assertIn(what, str(e.exception))


class TestLines(unittest.TestCase):
    def test_emulator_line_becomes_a_test3_command(self):
        t = mutate.Test("bochs amd64 smp=2 cpu=tigerlake tests=vmx/a,vmx/b* cmdline=lhv.e9=1")
        argv = t.argv(45)
        joined = " ".join(argv)
        self.assertIn("--emulator bochs --boot grub --smp 2 --timeout 45", joined)
        self.assertIn("--bochs-cpu tigerlake", joined)
        self.assertEqual(argv[argv.index("--cmdline") + 1],
                         mutate.DEFAULT_CMDLINE + " lhv.tests=vmx/a,vmx/b* lhv.e9=1")
        # exact names must PASS (a SKIP is caught), globs need not
        self.assertEqual([argv[i + 1] for i, a in enumerate(argv) if a == "--require-pass"],
                         ["vmx/a"])

    def test_pass_overrides(self):
        self.assertEqual(mutate.Test("qemu i386 tests=a/b pass=none").required_passes(), [])
        self.assertEqual(mutate.Test("qemu i386 tests=a/* pass=a/c").required_passes(), ["a/c"])
        self.assertIn("--cpu", mutate.Test("qemu i386 cpu=Haswell").argv(1))

    def test_host_line(self):
        t = mutate.Test("host timeout=300 make unit V=1")
        self.assertEqual((t.command, t.opts), ("make unit V=1", {"timeout": "300"}))
        self.assertEqual(mutate.Test("host  grep -q 'a b' f").command, "grep -q 'a b' f")
        for bad in ("host", "host timeout=300", "host timeout=x make"):
            self.assertRaises(ValueError, mutate.Test, bad)

    def test_baseline_merges_boots_that_differ_only_in_their_selection(self):
        lines = ["bochs i386 tests=vmx/a", "bochs i386 tests=vmx/b* timeout=90",
                 "bochs i386 smp=2 tests=vmx/a", "qemu i386 tests=x/y pass=none",
                 "host make unit", "host make unit V=1"]
        runs = mutate.merged_runs([mutate.Test(l) for l in lines])
        self.assertEqual([(r.line, [t.line for t in m]) for r, m in runs], [
            ("bochs i386 tests=vmx/a,vmx/b* pass=vmx/a timeout=90", lines[0:2]),
            (lines[2], [lines[2]]), (lines[3], [lines[3]]),
            (lines[4], [lines[4]]), (lines[5], [lines[5]])])
        # lhv.tests= takes at most 255 characters: longer unions are split
        many = [mutate.Test("qemu amd64 tests=g/%s%d" % ("n" * 60, i)) for i in range(8)]
        runs = mutate.merged_runs(many)
        self.assertEqual(sum(len(m) for _, m in runs), 8)
        self.assertTrue(all(len(r.opts["tests"]) <= 255 for r, _ in runs))
        self.assertGreater(len(runs), 1)

    def test_first_failure(self):
        out = "[ 1.0] PASS: a/b\n[ 2.0] FAIL: a/c: wrong\n[ 3.0] FATAL: x\n1 passed, 1 failed\n"
        self.assertEqual(mutate.first_failure(out), "FAIL: a/c: wrong")
        self.assertEqual(mutate.first_failure("make: *** Error 1\n\n"), "make: *** Error 1")


class Score(unittest.TestCase):
    def results(self, **counts):
        return [mutate.Result(None, k) for k, n in counts.items() for _ in range(n)]

    def test_score_is_caught_over_caught_and_survived(self):
        r = self.results(caught=9, survived=1)
        self.assertEqual(mutate.score_line(r)[0],
                         "mutate: 9 caught, 1 survived, 0 invalid, 0 broken, score 90 %")
        self.assertEqual(mutate.exit_status(r, 90), 0)
        r = self.results(caught=2, survived=1)  # 66.7 %: rounded down
        self.assertEqual(mutate.score_line(r)[0],
                         "mutate: 2 caught, 1 survived, 0 invalid, 0 broken, score 66 %")
        self.assertEqual(mutate.exit_status(r, 66), 0)
        self.assertEqual(mutate.exit_status(r, 67), 1)

    def test_invalid_and_broken_fail_the_run(self):
        self.assertEqual(mutate.exit_status(self.results(caught=3, invalid=1), 90), 1)
        self.assertEqual(mutate.exit_status(self.results(caught=3, broken=1), 90), 1)
        self.assertEqual(mutate.score_line(self.results(broken=1))[0],
                         "mutate: 0 caught, 0 survived, 0 invalid, 1 broken, score n/a")
        self.assertEqual(mutate.exit_status(self.results(broken=1), 0), 1)


SOURCE = "x = 1;\ny = 2;\nz = 3;\nz = 3;\n"
LIST = """
[caught]
file = a.c
from = x = 1
to = x = 9
tests = host true
  host grep -q 'x = 1' a.c

[survived]
file = a.c
from = y = 2
to = y = 8
tests = host grep -q 'x = 1' a.c

[invalid]
file = a.c
from = y = 2
to = SYNTAX
tests = host true

[twice]
file = a.c
from = z = 3
to = z = 4
tests = host true

[absent]
file = a.c
from = w = 4
to = w = 5
tests = host true

[baseline-fails]
file = a.c
from = x = 1
to = x = 7
tests = host grep -q 'y = 8' a.c

[hangs]
file = a.c
from = x = 1
to = x = 6
tests = host if grep -q 'x = 6' a.c; then sleep 20; fi
"""


class FakeTree(unittest.TestCase):
    """A git tree whose `make all` fails on the word SYNTAX."""

    def run_mutate(self, *args):
        tree = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ["rm", "-rf", tree])
        with open(os.path.join(tree, "a.c"), "w") as f:
            f.write(SOURCE)
        with open(os.path.join(tree, "Makefile"), "w") as f:
            f.write("all:\n\t@! grep -q SYNTAX a.c || { echo 'a.c:1: error: SYNTAX'; false; }\n")
        with open(os.path.join(tree, "mutations.ini"), "w") as f:
            f.write(LIST)
        subprocess.run(["git", "init", "-q", tree], check=True)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = mutate.main(["--root", tree, "--file", "mutations.ini", "--timeout", "1"]
                                 + list(args))
        return tree, status, out.getvalue()

    def test_each_outcome(self):
        tree, status, out = self.run_mutate("-j", "2")
        got = {l.split()[1]: l for l in out.splitlines() if l.split()[0] in
               ("caught", "survived", "invalid", "broken")}
        self.assertTrue(got["caught"].startswith("caught"), out)
        self.assertIn("host grep -q 'x = 1' a.c: ", got["caught"])
        self.assertTrue(got["survived"].startswith("survived"), out)
        self.assertTrue(got["invalid"].startswith("invalid"), out)
        self.assertIn("error: SYNTAX", got["invalid"])
        self.assertRegex(got["twice"], r"^broken .*occurs 2 times, not once")
        self.assertRegex(got["absent"], r"^broken .*occurs 0 times, not once")
        self.assertRegex(got["baseline-fails"], r"^broken .*fails without the mutation")
        self.assertRegex(got["hangs"], r"^caught .*timed out after 1 s")
        self.assertIn("mutate: 2 caught, 1 survived, 1 invalid, 3 broken, score 66 %", out)
        self.assertEqual(status, 1)
        # the tree itself and the scratch copies hold the original text again
        for d in (tree, os.path.join(tree, "build/mutate/w0"), os.path.join(tree, "build/mutate/w1")):
            with open(os.path.join(d, "a.c")) as f:
                self.assertEqual(f.read(), SOURCE, d)

    def test_only_and_min_score(self):
        _, status, out = self.run_mutate("--only", "caught")
        self.assertIn("mutate: 1 caught, 0 survived, 0 invalid, 0 broken, score 100 %", out)
        self.assertEqual(status, 0)
        _, status, out = self.run_mutate("--only", "caught,survived", "--min-score", "50")
        self.assertIn("score 50 %", out)
        self.assertEqual(status, 0)
        _, status, out = self.run_mutate("--only", "nosuch")
        self.assertIn("FATAL: mutate: no mutation nosuch", out)
        self.assertEqual(status, 2)

    def test_ctrl_c_restores_the_copy_and_ends_the_test(self):
        tree = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ["rm", "-rf", tree])
        with open(os.path.join(tree, "a.c"), "w") as f:
            f.write(SOURCE)
        with open(os.path.join(tree, "Makefile"), "w") as f:
            f.write("all:\n\ttrue\n")
        with open(os.path.join(tree, "m.ini"), "w") as f:
            f.write("[h]\nfile = a.c\nfrom = x = 1\nto = x = 2\n"
                    "tests = host echo $$ > ../test.pid; exec sleep 30\n")
        subprocess.run(["git", "init", "-q", tree], check=True)
        p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools/mutate.py"), "--root", tree,
                              "--file", "m.ini", "--no-baseline"], stdout=subprocess.PIPE,
                             text=True, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                         signal.SIG_DFL))
        pidfile = os.path.join(tree, "build/mutate/test.pid")
        for _ in range(100):
            if os.path.exists(pidfile) and os.path.getsize(pidfile):
                break
            time.sleep(0.05)
        with open(pidfile) as f:
            pid = int(f.read())
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 130)
        self.assertIn("mutate: interrupted", out)
        self.assertNotIn("caught", out)
        with open(os.path.join(tree, "build/mutate/w0/a.c")) as f:
            self.assertEqual(f.read(), SOURCE)
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)

    def test_list_names_broken_entries(self):
        _, status, out = self.run_mutate("--list")
        self.assertEqual(status, 0)
        self.assertIn("BROKEN: a.c: the from text occurs 2 times, not once", out)


if __name__ == "__main__":
    unittest.main()
