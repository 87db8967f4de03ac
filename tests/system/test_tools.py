#!/usr/bin/python3
"""Tests of the small tools around the build: tools/compile_commands.py
(unity sources expand to their files), the Makefile's generated files (only
rewritten when their text changes), make clean with other goals,
tools/mkiso.py (an xorriso crash is tried again), tools/bench/bench.py's
target verdicts, tools/bench/exit_trace.py's trace window and
tests/fuzz/mkseeds.py (--help prints usage instead of writing seeds into a
directory named --help)."""

import contextlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compile_commands = load("compile_commands", "tools/compile_commands.py")
mkiso = load("mkiso", "tools/mkiso.py")
bench = load("bench", "tools/bench/bench.py")

MAKE_N = """gcc -m64 -O2 -iquote . -c -o build/amd64/unity/lhv.o build/unity/lhv.c
gcc -m32 -c -o build/common32/init/entry.o xmhf/init/entry.S
ld -o x.elf build/amd64/unity/lhv.o
"""


class CompileCommands(unittest.TestCase):
    def test_unity_source_lists_its_files(self):
        with tempfile.TemporaryDirectory() as src:
            os.makedirs(os.path.join(src, "build/unity"))
            with open(os.path.join(src, "build/unity/lhv.c"), "w") as f:
                f.write('#include "lhv/a.c"\n#include "lhv/b.c"\n')
            db = compile_commands.entries(MAKE_N, src)
        self.assertEqual([e["file"] for e in db], ["lhv/a.c", "lhv/b.c", "xmhf/init/entry.S"])
        self.assertEqual(db[0]["arguments"][-1], "lhv/a.c")
        self.assertIn("-m64", db[1]["arguments"])
        self.assertEqual(db[1]["output"], "build/amd64/unity/lhv.o")

    def test_the_real_makefile(self):
        make = subprocess.run(["make", "--no-print-directory", "-n", "-B", "V=1", "all"],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        files = {e["file"] for e in compile_commands.entries(make.stdout, ROOT)}
        self.assertIn("lhv/vmx/guest.c", files)
        self.assertIn("xmhf/lib/printf.c", files)
        self.assertIn("lhv/vmx/enter-amd64.S", files)
        self.assertFalse([f for f in files if f.startswith("build/unity/")])


def copy_tree(dest):
    """The files git knows, as they are in the working tree, into dest."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        if os.path.isfile(os.path.join(ROOT, f)):
            os.makedirs(os.path.join(dest, os.path.dirname(f)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, f), os.path.join(dest, f))


class GeneratedFiles(unittest.TestCase):
    """The Makefile writes the unity sources and buildinfo.h when it is
    read, each only when its text changes: a DEBUG=1 build in between must
    not make the release build's files new (that recompiled everything)."""

    def make_n(self, tree, *variables):
        subprocess.run(["make", "--no-print-directory", "-n", "all"] + list(variables),
                       cwd=tree, capture_output=True, check=True)

    def test_debug_build_leaves_release_files_alone(self):
        with tempfile.TemporaryDirectory() as tree:
            copy_tree(tree)
            watched = ["build/amd64/buildinfo.h", "build/i386/buildinfo.h",
                       "build/unity/lhv.c", "build/unity/lhv-asm-amd64.S"]
            self.make_n(tree)
            before = {f: os.stat(os.path.join(tree, f)).st_mtime_ns for f in watched}
            self.make_n(tree, "DEBUG=1")
            self.make_n(tree)
            after = {f: os.stat(os.path.join(tree, f)).st_mtime_ns for f in watched}
            self.assertEqual(before, after)
            with open(os.path.join(tree, "build/amd64/buildinfo.h")) as f:
                self.assertIn('#define LHV_SUBARCH_NAME "amd64"', f.read())
            with open(os.path.join(tree, "build/unity/lhv.c")) as f:
                self.assertIn('#include "lhv/main.c"\n', f.read())


class CleanWithOtherGoals(unittest.TestCase):
    """make clean GOAL builds GOAL after cleaning (it once failed: the
    directories and generated sources made when make read the Makefile were
    gone), and make GOAL clean ends clean."""

    def make(self, tree, *goals):
        return subprocess.run(["make", "--no-print-directory", "SUBARCHS=amd64"] + list(goals),
                              cwd=tree, capture_output=True, text=True)

    def test_goal_after_clean_is_made(self):
        obj = "build/amd64/unity/runtime.o"
        with tempfile.TemporaryDirectory() as tree:
            copy_tree(tree)
            run = self.make(tree, "clean", obj)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            self.assertTrue(os.path.exists(os.path.join(tree, obj)))
            run = self.make(tree, obj, "clean")
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
            self.assertFalse(os.path.exists(os.path.join(tree, "build")))


class MkisoRetry(unittest.TestCase):
    """xorriso sometimes crashes (SIGSEGV) as it exits: mkiso tries again,
    and gives up with grub-mkrescue's output on any other failure."""

    def fake_mkrescue(self, bin_dir, crashes, other_failure=False):
        """A grub-mkrescue that crashes `crashes` times, then succeeds (or
        fails for another reason)."""
        script = os.path.join(bin_dir, "grub-mkrescue")
        with open(script, "w") as f:
            f.write("""#!/bin/sh
n=$(cat "$0.count" 2>/dev/null || echo 0); echo $((n + 1)) > "$0.count"
if [ "$n" -lt %d ]; then echo 'UNIX-SIGNAL:  SIGSEGV  errno= 0'; exit 1; fi
if [ %d = 1 ]; then echo 'xorriso : FAILURE : no space'; exit 1; fi
exit 0
""" % (crashes, int(other_failure)))
        os.chmod(script, 0o755)
        return script + ".count"

    def run_with(self, bin_dir):
        path = os.environ["PATH"]
        os.environ["PATH"] = bin_dir + os.pathsep + path
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                mkiso.run_mkrescue("/nonexistent", os.path.join(bin_dir, "x.iso"))
        finally:
            os.environ["PATH"] = path

    def calls(self, count_file):
        with open(count_file) as f:
            return int(f.read())

    def test_crash_is_tried_again(self):
        with tempfile.TemporaryDirectory() as d:
            count = self.fake_mkrescue(d, crashes=2)
            self.run_with(d)
            self.assertEqual(self.calls(count), 3)

    def test_other_failure_is_not(self):
        with tempfile.TemporaryDirectory() as d:
            count = self.fake_mkrescue(d, crashes=0, other_failure=True)
            with self.assertRaises(mkiso.MkisoError) as e:
                self.run_with(d)
            self.assertIn("no space", str(e.exception))
            self.assertEqual(self.calls(count), 1)

    def test_gives_up_after_three_crashes(self):
        with tempfile.TemporaryDirectory() as d:
            count = self.fake_mkrescue(d, crashes=5)
            with self.assertRaises(mkiso.MkisoError):
                self.run_with(d)
            self.assertEqual(self.calls(count), 3)


class BenchTargets(unittest.TestCase):
    """make bench judges issue #7's targets on the medians it measured."""

    def figures(self, grub=0.9, **override):
        medians = {"size/amd64/image": 200000, "size/i386/image": 210000,
                   "build/clean-both-subarchs": 2.5}
        for boot, one in (("grub", grub), ("direct", 0.5)):
            stem = "boot/qemu-%s-amd64-smp" % boot
            medians.update({stem + "1-512M/summary": one, stem + "1-2G/summary": one,
                            stem + "1-8G/summary": one * 1.04,
                            stem + "8-512M/summary": one * 1.09})
        medians.update(override)
        return {name: {"median": v, "min": v} for name, v in medians.items()}

    def verdicts(self, figures):
        return [t["met"] for t in bench.check_targets(figures)]

    def test_all_met(self):
        self.assertEqual(self.verdicts(self.figures()), [True] * 7)

    def test_each_limit(self):
        cases = [({"size/i386/image": 262144}, 0), ({"build/clean-both-subarchs": 3.0}, 1),
                 ({"grub": 1.0}, 2),
                 ({"boot/qemu-grub-amd64-smp1-8G/summary": 0.85}, 3),  # -5.6 %: flat both ways
                 ({"boot/qemu-direct-amd64-smp8-512M/summary": 0.55}, 6)]
        for override, index in cases:
            with self.subTest(override=override):
                expected = [True] * 7
                expected[index] = False
                self.assertEqual(self.verdicts(self.figures(**override)), expected)

    def test_not_measured(self):
        figures = self.figures()
        del figures["build/clean-both-subarchs"]
        figures["boot/qemu-direct-amd64-smp8-512M/summary"]["median"] = None
        self.assertEqual(self.verdicts(figures), [True, None, True, True, True, True, None])

    def test_ratio_on_the_fastest_runs_too(self):
        figures = self.figures()
        figures["boot/qemu-grub-amd64-smp8-512M/summary"]["min"] = 0.99
        cpus = bench.check_targets(figures)[4]
        self.assertEqual((cpus["values"], cpus["fastest"]), ([9.0], [10.0]))
        self.assertEqual((cpus["met"], cpus["unclear"]), (None, True))
        figures["build/clean-both-subarchs"] = {"median": 3.9, "min": 3.8}
        out = io.StringIO()
        bench.print_targets(bench.check_targets(figures), out)
        self.assertIn("NOT MET      clean build of both subarchs under 3 s: 3.900 s", out.getvalue())
        self.assertIn("UNCLEAR      grub boot growing under 10 % from 1 to 8 CPUs: +9.0 % (fastest "
                      "runs: +10.0 %): medians and fastest runs disagree", out.getvalue())
        self.assertIn("met          direct boot growing under 10 % from 1 to 8 CPUs: +9.0 % "
                      "(fastest runs: +9.0 %)\n", out.getvalue())


class MkSeeds(unittest.TestCase):
    def test_help_writes_nothing(self):
        with tempfile.TemporaryDirectory() as tmp:
            run = subprocess.run([sys.executable, os.path.join(ROOT, "tests/fuzz/mkseeds.py"),
                                  "--help"], cwd=tmp, capture_output=True, text=True)
            self.assertEqual(run.returncode, 0)
            self.assertIn("usage:", run.stdout)
            self.assertEqual(os.listdir(tmp), [])


class ExitTrace(unittest.TestCase):
    """tools/bench/exit_trace.py reads Bochs' trace lines and counts the
    window the guest's own RDTSC difference counts."""

    tools = load("exit_trace", "tools/bench/exit_trace.py")

    def test_trace_line(self):
        for line, address, text in (
                ("(0).[98588232] [0x00001000c2d8] 0008:000000001000c2d8 (unk. ctxt): "
                 "rdtsc                     ; 0f31", 0x1000c2d8, "rdtsc"),
                ("(0).[7] [0x000010008bd0] 0008:10008bd0 (unk. ctxt): push ebp ; 55",
                 0x10008bd0, "push ebp")):
            m = self.tools.TRACE_LINE.match(line)
            self.assertEqual((int(m.group(1), 16), m.group(2).split(";")[0].rstrip()),
                             (address, text))

    def test_window_is_the_second_one(self):
        steps = list(enumerate(["rdtsc", "a", "rdtsc", "b", "rdtsc", "c", "d", "rdtsc", "e"]))
        self.assertEqual([t for _, t in self.tools.window(steps)], ["rdtsc", "c", "d"])

    def test_window_needs_four_rdtscs(self):
        self.assertIsNone(self.tools.window(list(enumerate(["rdtsc", "x", "rdtsc", "rdtsc"]))))


if __name__ == "__main__":
    unittest.main()
