#!/usr/bin/python3
"""make mutate: mutation testing of LHV (issue 15).

Applies each mutation of tests/mutations.ini (a realistic one-line bug: a
text in one file replaced by another) to a scratch copy of the tree, builds
it, runs the tests the entry names and says whether they noticed:

  caught    a listed test failed (the first failing verdict line is shown)
  survived  the tree built and every listed test passed
  invalid   the mutated tree does not build (it measures nothing: fix it)
  broken    the text does not occur exactly once in the file, or a listed
            test already fails on the unmutated tree (baseline)

then `mutate: N caught, M survived, K invalid, B broken, score X %`, where
the score is caught / (caught + survived). The exit status is 1 when the
score is below --min-score (default 90) or any entry is invalid or broken.

Scratch copies (build/mutate/wN, one per worker, -j) hold the files git
knows (tracked and untracked-not-ignored) as they are in the working tree;
a file is copied only when its text changed, so the copies' build
directories stay and each mutation costs one incremental rebuild (of the
subarchs its tests boot): the mutated file's unit, and the restored one at
the next mutation. Before the mutations, their tests run once on the
unmutated copy (the baseline). docs/tests.md describes the list's format."""

import argparse
import ast
import configparser
import contextlib
import filecmp
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LIST = "tests/mutations.ini"
DEFAULT_CMDLINE = "serial=115200,8n1,0x3f8 boot_drive=0x80"
EMULATORS = ("qemu", "bochs")
SUBARCHS = ("amd64", "i386")
TEST_KEYS = ("boot", "smp", "cpu", "memory", "tests", "cmdline", "pass", "timeout")
TESTS_MAX = 255  # longest lhv.tests= value (xmhf/lib/options.c)
FAIL_RE = re.compile(r"\b(FAIL|FATAL|XPASS): .*")
MANIFEST = ".mutate-files"
# Variables of the make that runs this script: a child make in a scratch copy
# must not inherit its job server (closed here) or its level.
MAKE_ENV = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


class ListError(Exception):
    """The mutation list cannot be read: names the entry and what is wrong."""


# ---------------------------------------------------------------------------
# The list

class Test:
    """One test of a mutation: an emulator run of .jenkins/test3.py or a
    host command, both run in the scratch copy."""

    def __init__(self, line):
        self.line = line
        words = shlex.split(line)
        if not words:
            raise ValueError("empty test line")
        self.kind = words[0]
        if self.kind == "host":
            self.opts, rest = {}, line.split(None, 1)[1] if len(words) > 1 else ""
            while rest.startswith("timeout="):  # host timeout=S COMMAND
                first, _, rest = rest.partition(" ")
                self.opts["timeout"] = first[len("timeout="):]
                rest = rest.lstrip()
            if not self.opts.get("timeout", "0").isdigit():
                raise ValueError("timeout= takes a number")
            if not rest:
                raise ValueError("'host' needs a command")
            self.command = rest
            return
        if self.kind not in EMULATORS:
            raise ValueError("a test starts with qemu, bochs or host, not %r" % self.kind)
        if len(words) < 2 or words[1] not in SUBARCHS:
            raise ValueError("the subarch (amd64 or i386) follows %s" % self.kind)
        self.subarch = words[1]
        self.opts = {}
        for w in words[2:]:
            key, eq, value = w.partition("=")
            if not eq or key not in TEST_KEYS:
                raise ValueError("%r: expected KEY=VALUE with KEY one of %s"
                                 % (w, ", ".join(TEST_KEYS)))
            self.opts[key] = value
        if self.opts.get("boot", "grub") not in ("grub", "direct"):
            raise ValueError("boot= is grub or direct")
        if self.kind == "bochs" and self.opts.get("boot", "grub") != "grub":
            raise ValueError("Bochs boots the GRUB image only")
        for key in ("smp", "timeout"):
            if key in self.opts and not self.opts[key].isdigit():
                raise ValueError("%s= takes a number" % key)

    def required_passes(self):
        """The tests that must PASS: pass=A,B (pass=none: none), else every
        name in tests= that is not a glob (a mutation that turns PASS into
        SKIP is caught)."""
        if "pass" in self.opts:
            return [] if self.opts["pass"] == "none" else self.opts["pass"].split(",")
        return [n for n in self.opts.get("tests", "").split(",")
                if n and not any(c in n for c in "*?[")]

    def argv(self, timeout):
        """The test3.py command line of an emulator test."""
        args = [sys.executable, ".jenkins/test3.py", "--subarch", self.subarch,
                "--emulator", self.kind, "--boot", self.opts.get("boot", "grub"),
                "--smp", self.opts.get("smp", "1"), "--timeout", str(timeout),
                "--name", "mutate-%s-%s" % (self.kind, self.subarch)]
        if "cpu" in self.opts:
            args += ["--bochs-cpu" if self.kind == "bochs" else "--cpu", self.opts["cpu"]]
        if "memory" in self.opts:
            args += ["--memory", self.opts["memory"]]
        cmdline = DEFAULT_CMDLINE
        if "tests" in self.opts:
            cmdline += " lhv.tests=" + self.opts["tests"]
        if "cmdline" in self.opts:
            cmdline += " " + self.opts["cmdline"]
        args += ["--cmdline", cmdline]
        for name in self.required_passes():
            args += ["--require-pass", name]
        return args


class Mutation:
    def __init__(self, ident, file, old, new, tests, note):
        self.id, self.file, self.old, self.new = ident, file, old, new
        self.tests, self.note = tests, note


def text_value(raw):
    """A list value as text: a Python string literal ("...", '...') keeps
    its spaces and escapes (\\n, \\t); anything else is taken as written."""
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        value = ast.literal_eval(raw)
        if not isinstance(value, str):
            raise ValueError("not a string")
        return value
    return raw


def parse_list(text, source="mutations"):
    """The mutations of an INI text, in order (ListError on the first bad
    entry)."""
    parser = configparser.ConfigParser(interpolation=None, comment_prefixes=("#",),
                                       inline_comment_prefixes=None, empty_lines_in_values=False)
    parser.optionxform = str
    try:
        parser.read_string(text, source)
    except configparser.Error as e:
        raise ListError("%s: %s" % (source, str(e).splitlines()[0]))
    mutations = []
    for ident in parser.sections():
        s = parser[ident]
        unknown = set(s) - {"file", "from", "to", "tests", "note"}
        if unknown:
            raise ListError("%s: [%s]: unknown key %s (file, from, to, tests, note)"
                            % (source, ident, ", ".join(sorted(unknown))))
        for key in ("file", "from", "to", "tests"):
            if key not in s:
                raise ListError("%s: [%s]: no %s =" % (source, ident, key))
        try:
            old, new = text_value(s["from"]), text_value(s["to"])
            tests = [Test(line.strip()) for line in s["tests"].splitlines() if line.strip()]
        except (ValueError, SyntaxError) as e:
            raise ListError("%s: [%s]: %s" % (source, ident, e))
        if not old:
            raise ListError("%s: [%s]: from = is empty" % (source, ident))
        if old == new:
            raise ListError("%s: [%s]: from and to are the same" % (source, ident))
        if not tests:
            raise ListError("%s: [%s]: tests = names no test" % (source, ident))
        mutations.append(Mutation(ident, s["file"].strip(), old, new, tests,
                                  " ".join(s.get("note", "").split())))
    return mutations


# ---------------------------------------------------------------------------
# Results

class Result:
    def __init__(self, mutation, status, detail="", seconds=0.0):
        self.mutation, self.status, self.detail, self.seconds = mutation, status, detail, seconds


def score_line(results):
    """The closing line and the score in percent (None when nothing was
    caught or survived)."""
    count = {k: sum(1 for r in results if r.status == k)
             for k in ("caught", "survived", "invalid", "broken")}
    judged = count["caught"] + count["survived"]
    score = 100.0 * count["caught"] / judged if judged else None
    line = "mutate: %d caught, %d survived, %d invalid, %d broken, score %s" % (
        count["caught"], count["survived"], count["invalid"], count["broken"],
        "%d %%" % int(score) if score is not None else "n/a")
    return line, score


def exit_status(results, min_score):
    _, score = score_line(results)
    if any(r.status in ("invalid", "broken") for r in results):
        return 1
    return 1 if score is None or score < min_score else 0


def first_failure(output):
    """The first failing verdict line of a test's output, else its last
    line."""
    lines = [l.strip() for l in output.splitlines() if l.strip()]
    for line in lines:
        m = FAIL_RE.search(line)
        if m:
            return m.group(0)
    return lines[-1] if lines else "(no output)"


# ---------------------------------------------------------------------------
# Scratch copies

def child_env(scratch_parent):
    env = {k: v for k, v in os.environ.items() if k not in MAKE_ENV}
    # git must not find the real repository above the copy: `git describe
    # --dirty` would put its state in buildinfo.h.
    env["GIT_CEILING_DIRECTORIES"] = os.path.abspath(scratch_parent)
    env["LC_ALL"] = "C"
    return env


def tree_files(root):
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=root, capture_output=True, check=True).stdout.decode()
    return sorted(f for f in set(out.split("\0")) if f and os.path.isfile(os.path.join(root, f)))


def sync(root, dest):
    """dest holds root's files as they are now; unchanged files keep their
    times (incremental builds), files gone from root go."""
    os.makedirs(dest, exist_ok=True)
    files = tree_files(root)
    manifest = os.path.join(dest, MANIFEST)
    if os.path.exists(manifest):
        with open(manifest) as f:
            for old in set(f.read().splitlines()) - set(files):
                if os.path.isfile(os.path.join(dest, old)):
                    os.remove(os.path.join(dest, old))
    for f in files:
        src, dst = os.path.join(root, f), os.path.join(dest, f)
        if os.path.isfile(dst) and filecmp.cmp(src, dst, shallow=False):
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
        os.utime(dst)  # newer than the objects built from the old text
    with open(manifest, "w") as f:
        f.write("\n".join(files) + "\n")


def merged_runs(tests):
    """The baseline's runs: emulator tests that differ only in tests=, pass=
    and timeout= share one boot (the union of their selections); returns
    [(run, [tests it stands for])]. A merged run that fails is repeated
    test by test to find the failing lines."""
    groups = {}
    for t in tests:
        key = (t.line,) if t.kind == "host" else (t.kind, t.subarch) + tuple(sorted(
            (k, v) for k, v in t.opts.items() if k not in ("tests", "pass", "timeout")))
        chunks = groups.setdefault(key, [[]])
        selection = {g for u in chunks[-1] + [t] for g in u.opts.get("tests", "").split(",")}
        if len(",".join(selection)) > TESTS_MAX:
            chunks.append([])
        chunks[-1].append(t)
    runs = []
    for members in (c for chunks in groups.values() for c in chunks):
        if len(members) == 1:
            runs.append((members[0], members))
            continue
        first = members[0]
        words = [first.kind, first.subarch] + ["%s=%s" % (k, shlex.quote(v)) for k, v in
                                               sorted(first.opts.items())
                                               if k not in ("tests", "pass", "timeout")]
        if all("tests" in t.opts for t in members):
            globs = sorted({g for t in members for g in t.opts["tests"].split(",") if g})
            words.append("tests=" + ",".join(globs))
        passes = sorted({n for t in members for n in t.required_passes()})
        words.append("pass=" + (",".join(passes) or "none"))
        timeouts = [int(t.opts["timeout"]) for t in members if "timeout" in t.opts]
        if timeouts:
            words.append("timeout=%d" % max(timeouts))
        runs.append((Test(" ".join(words)), members))
    return runs


def match_problem(root, m):
    """Why m cannot be applied to the tree at root, or None."""
    try:
        with open(os.path.join(root, m.file), newline="") as f:
            n = f.read().count(m.old)
    except OSError:
        return "%s: no such file" % m.file
    return None if n == 1 else "%s: the from text occurs %d times, not once" % (m.file, n)


class Worker:
    def __init__(self, index, root, scratch_parent, timeout, verbose):
        self.dir = os.path.join(scratch_parent, "w%d" % index)
        self.root, self.timeout, self.verbose = root, timeout, verbose
        self.env = child_env(scratch_parent)
        self.child = None
        self.interrupted = False  # Ctrl-C: what runs now is killed, not judged

    def run(self, argv, timeout, shell=False):
        """(ok, output) of a command in the copy; a timeout is a failure
        and ends the command's whole process group (test3.py's emulator
        too)."""
        p = subprocess.Popen(argv, cwd=self.dir, env=self.env, shell=shell,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, errors="replace",
                             start_new_session=True)
        self.child = p
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            out, _ = p.communicate()
            return False, (out or "") + "\nFAIL: mutate: timed out after %d s" % timeout
        finally:
            self.child = None
        return p.returncode == 0, out

    def stop(self):
        """Ends the running command with its process group (its own
        session: a Ctrl-C on the terminal does not reach it)."""
        p = self.child
        if p and p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)

    def build(self, subarchs=SUBARCHS):
        return self.run(["make", "--no-print-directory", "SUBARCHS=" + " ".join(subarchs), "all"],
                        600)

    def run_test(self, test):
        """(ok, first failing line) of one test."""
        timeout = int(test.opts.get("timeout", self.timeout))
        if test.kind == "host":
            ok, out = self.run(test.command, timeout, shell=True)
        else:  # test3.py stops the emulator itself; the margin covers its build of the ISO
            ok, out = self.run(test.argv(timeout), timeout + 30)
        if self.verbose:
            sys.stderr.write("--- %s: %s\n%s\n" % (self.dir, test.line, out))
        return ok, ("" if ok else first_failure(out))

    def mutate(self, m):
        start = time.monotonic()
        problem = match_problem(self.dir, m)
        if problem:
            return Result(m, "broken", problem)
        path = os.path.join(self.dir, m.file)
        with open(path, newline="") as f:
            original = f.read()
        try:
            with open(path, "w", newline="") as f:
                f.write(original.replace(m.old, m.new))
            # Only the subarchs the tests boot (both for host commands).
            ok, out = self.build(sorted({t.subarch for t in m.tests if t.kind != "host"})
                                 if all(t.kind != "host" for t in m.tests) else SUBARCHS)
            if not ok:
                errors = [l for l in out.splitlines() if "error" in l.lower()]
                return Result(m, "invalid", "build fails: " + (errors or ["(see make)"])[0].strip(),
                              time.monotonic() - start)
            for t in m.tests:
                ok, line = self.run_test(t)
                if not ok:
                    return Result(m, "caught", "%s: %s" % (t.line, line), time.monotonic() - start)
            return Result(m, "survived", "", time.monotonic() - start)
        finally:
            with open(path, "w", newline="") as f:
                f.write(original)


# ---------------------------------------------------------------------------
# The run

def run_parallel(jobs, workers, fn):
    """fn(worker, job) for every job, each worker taking the next job."""
    todo = queue.Queue()
    for j in jobs:
        todo.put(j)
    results = {}
    finished = [threading.Event() for _ in workers]

    def loop(w, done):
        try:
            while True:
                try:
                    j = todo.get_nowait()
                except queue.Empty:
                    return
                results[id(j)] = fn(w, j)
        finally:
            done.set()

    threads = [threading.Thread(target=loop, args=a) for a in zip(workers, finished)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        # Ctrl-C: no new job, the running ones killed; each worker's finally
        # puts its mutated file back before its thread ends. (Events, not
        # is_alive(): after an interrupted join() Python 3.11 may call a
        # running thread stopped.)
        while not todo.empty():
            todo.get_nowait()
        while not all(e.is_set() for e in finished):
            for w in workers:
                w.interrupted = True
                w.stop()
            time.sleep(0.1)
        raise
    return [results[id(j)] for j in jobs]


def report(result, lock):
    with lock:
        print("%-9s %-28s %5.1f s  %s" % (result.status, result.mutation.id, result.seconds,
                                          result.detail), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Mutation testing: apply each mutation of the list to a scratch copy of "
                    "the tree, build, run its tests; print caught/survived/invalid/broken per "
                    "mutation and the score.",
        epilog="The list's format and how to add a mutation: docs/tests.md (Mutation testing).")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    ap.add_argument("--only", metavar="ID", action="append", default=[],
                    help="run only these mutations (repeatable, or ID,ID)")
    ap.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                    help="mutations at a time, each worker with its own scratch copy (default 1)")
    ap.add_argument("--timeout", type=int, default=60, metavar="S",
                    help="seconds per test run (test3.py --timeout; default 60)")
    ap.add_argument("--min-score", type=float, default=90.0, metavar="PERCENT",
                    help="exit status 1 below this score (default 90)")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip running each test on the unmutated tree first")
    ap.add_argument("--file", default=DEFAULT_LIST, metavar="LIST",
                    help="the mutation list, relative to the tree (default %s)" % DEFAULT_LIST)
    ap.add_argument("--root", default=ROOT, metavar="DIR",
                    help="the tree to mutate (default: this script's tree)")
    ap.add_argument("--scratch", metavar="DIR",
                    help="where the scratch copies go (default ROOT/build/mutate)")
    ap.add_argument("--verbose", action="store_true", help="show every test's output")
    args = ap.parse_args(argv)
    if args.jobs < 1 or args.timeout < 1:
        ap.error("-j and --timeout take a positive number")

    try:
        with open(os.path.join(args.root, args.file)) as f:
            mutations = parse_list(f.read(), args.file)
    except OSError as e:
        print("FATAL: mutate: cannot read the list: %s" % e)
        return 2
    except ListError as e:
        print("FATAL: mutate: %s: fix the entry" % e)
        return 2
    if args.list:
        for m in mutations:
            problem = match_problem(args.root, m)
            print("%-28s %s%s%s" % (m.id, m.file, "  (%s)" % m.note if m.note else "",
                                    "\n    BROKEN: " + problem if problem else ""))
            for t in m.tests:
                print("    %s" % t.line)
        return 0
    only = {i for o in args.only for i in o.split(",") if i}
    if only:
        unknown = only - {m.id for m in mutations}
        if unknown:
            print("FATAL: mutate: no mutation %s in %s (--list shows them)"
                  % (", ".join(sorted(unknown)), args.file))
            return 2
        mutations = [m for m in mutations if m.id in only]

    start = time.monotonic()
    scratch = os.path.abspath(args.scratch or os.path.join(args.root, "build", "mutate"))
    workers = [Worker(i, args.root, scratch, args.timeout, args.verbose)
               for i in range(min(args.jobs, len(mutations)) or 1)]
    for w in workers:
        sync(args.root, w.dir)
    built = run_parallel(workers, workers, lambda w, _: w.build())
    for ok, out in built:
        if not ok:
            print(out[-3000:])
            print("FATAL: mutate: the unmutated tree does not build in %s: fix the build first"
                  % workers[0].dir)
            return 2
    print("mutate: %d mutations, %d workers, scratch copies in %s (built in %.0f s)"
          % (len(mutations), len(workers), scratch, time.monotonic() - start), flush=True)

    failing = {}
    if not args.no_baseline:
        tests = [t for _, t in sorted({t.line: t for m in mutations for t in m.tests}.items())]
        runs = merged_runs(tests)

        def baseline(w, run):
            merged, members = run
            ok, why = w.run_test(merged)
            if ok or len(members) == 1:
                return {members[0].line: why} if not ok else {}
            return {t.line: why for t in members for ok, why in [w.run_test(t)] if not ok}

        for bad in run_parallel(runs, workers, baseline):
            failing.update(bad)
        print("mutate: baseline: %d tests in %d runs on the unmutated tree, %d failing (%.0f s)"
              % (len(tests), len(runs), len(failing), time.monotonic() - start), flush=True)
        for line, why in failing.items():
            print("mutate: baseline: %s: %s" % (line, why))

    lock = threading.Lock()

    def one(w, m):
        bad = [t.line for t in m.tests if t.line in failing]
        if bad:
            r = Result(m, "broken", "fails without the mutation: %s" % bad[0])
        else:
            r = w.mutate(m)
        if not w.interrupted:
            report(r, lock)
        return r

    results = run_parallel(mutations, workers, one)
    survivors = [r.mutation.id for r in results if r.status == "survived"]
    if survivors:
        print("mutate: survived: %s" % ", ".join(survivors))
    line, _ = score_line(results)
    print("%s (%.0f s)" % (line, time.monotonic() - start))
    return exit_status(results, args.min_score)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("mutate: interrupted; the scratch copies hold the unmutated sources again")
        sys.exit(130)
