#!/usr/bin/env python3
"""Fails when the docs drift from the code: every test name (TEST(...), VMX_TEST(...) and
their _ALL_CPUS forms in lhv/suite, the boot checks in xmhf/runtime/selftest.c, L0_TEST(...)
in lhv/l0) must appear in
docs/tests.md, and every row of its tables must name a test that exists;
README.md's count of tests and groups must be the code's; every lhv. option
(xmhf/lib/options.c) and every build.sh flag must appear in docs/options.md.
Ends with the plain line `N passed, N failed`."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def test_names():
    names = set()
    suite = os.path.join(ROOT, "lhv", "suite")
    for d, _, files in sorted(os.walk(suite)):  # the theme folders too
        for f in sorted(files):
            if f.endswith(".c"):
                text = read(os.path.relpath(os.path.join(d, f), ROOT))
                names.update(re.findall(r'(?:VMX_)?TEST(?:_ALL_CPUS(?:_AFTER)?)?\("([^"]+)"',
                                        text))
    names.update(re.findall(r'\{"(boot/[^"]+)"', read("xmhf/runtime/selftest.c")))
    l0 = os.path.join(ROOT, "lhv", "l0")  # LHV as L0's own tests (docs/l0.md)
    for f in sorted(os.listdir(l0)) if os.path.isdir(l0) else ():
        if f.endswith(".c"):
            names.update(re.findall(r'L0_TEST\("([^"]+)"\)', read(os.path.join("lhv", "l0", f))))
    return names


def option_names():
    src = read("xmhf/lib/options.c")
    return set(re.findall(r'"(lhv\.[a-z0-9_.]+)"', src)) | {"serial=", "boot_drive="}


def build_flags():
    return set(re.findall(r"^\s+(--[a-z-]+)(?: \||\))", read("build.sh"), re.M))


TEST_ROW_RE = re.compile(r"^\| `([a-z0-9-]+/[a-z0-9-]+)` \|", re.M)
README_COUNT_RE = re.compile(r"\*\*(\d+) tests\*\* in (\d+) groups")


def check_rows(names, doc="docs/tests.md"):
    """Each table row of doc names a test that exists (a renamed or removed
    test must not stay documented)."""
    stale = sorted(set(TEST_ROW_RE.findall(read(doc))) - names)
    for n in stale:
        print("FAIL docs/tests: %s has a row for %s, which no TEST() defines" % (doc, n))
    return 1 - bool(stale), len(stale)


def check_readme_count(names, doc="README.md"):
    """README.md says '**N tests** in G groups': N and G must be the code's."""
    groups = len({n.split("/", 1)[0] for n in names})
    m = README_COUNT_RE.search(read(doc))
    if not m:
        print("FAIL docs/readme: %s has no '**N tests** in G groups' sentence" % doc)
        return 0, 1
    said = (int(m.group(1)), int(m.group(2)))
    if said != (len(names), groups):
        print("FAIL docs/readme: %s says **%d tests** in %d groups; the code has **%d tests** "
              "in %d groups: write that" % ((doc,) + said + (len(names), groups)))
        return 0, 1
    return 1, 0


def check(kind, names, doc):
    text = read(doc)
    missing = sorted(n for n in names if n.rstrip("=") not in text)
    for n in missing:
        print("FAIL docs/%s: %s is not documented in %s" % (kind, n, doc))
    return len(names) - len(missing), len(missing)


def main():
    passed = failed = 0
    for kind, names, doc in (("tests", test_names(), "docs/tests.md"),
                             ("options", option_names(), "docs/options.md"),
                             ("build-flags", build_flags(), "docs/options.md")):
        p, f = check(kind, names, doc)
        print("%s: %d documented, %d missing" % (kind, p, f))
        passed, failed = passed + p, failed + f
    for p, f in (check_rows(test_names()), check_readme_count(test_names())):
        passed, failed = passed + p, failed + f
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
