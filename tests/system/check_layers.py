#!/usr/bin/env python3
"""Fails when an include points up the layers (docs/design.md §1: dependencies run one way).

The layers, bottom up: xmhf/ (boot chain, lib, includes), the lhv platform
(lhv/*.c, *.h, *.S, *.inc), lhv/vmx/, lhv/l0/, lhv/suite/. A file may include
from its own layer and the ones below, never from one above:
  - xmhf/ includes nothing from lhv/;
  - the platform includes nothing from lhv/vmx/, lhv/l0/ or lhv/suite/;
  - lhv/vmx/ includes nothing from lhv/l0/ or lhv/suite/; lhv/l0/ nothing from lhv/suite/.
One file is exempt: lhv/main.c, lhv_main, the top that wires the layers together
(the runtime's one call into LHV).

Each #include "X" (and .include "X") is resolved the way the build does: the
including file's directory, then the -iquote directories in the Makefile's
order (xmhf/include, lhv, the tree root). `--self-test` plants upward includes
in a scratch tree and checks that each is reported.
Ends with the plain line `N passed, N failed`."""
import os
import re
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEARCH = ("xmhf/include", "lhv", ".")
SOURCES = (".c", ".h", ".S", ".inc")
EXEMPT = {"lhv/main.c"}
INCLUDE = re.compile(r'^\s*[#.]\s*include\s+"([^"]+)"', re.M)

# layer rank: a file may include only files of a rank <= its own
RANKS = (("lhv/suite/", 4), ("lhv/l0/", 3), ("lhv/vmx/", 2), ("lhv/", 1), ("xmhf/", 0))
NAMES = {0: "xmhf/", 1: "the lhv platform", 2: "lhv/vmx/", 3: "lhv/l0/", 4: "lhv/suite/"}


def layer(rel):
    for prefix, rank in RANKS:
        if rel.startswith(prefix):
            return rank
    return None


def sources(root):
    for top in ("xmhf", "lhv"):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if f.endswith(SOURCES):
                    yield os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/")


def resolve(root, rel, name):
    """The file #include "name" in rel finds, relative to root, or None."""
    for d in (os.path.dirname(rel),) + SEARCH:
        path = os.path.normpath(os.path.join(d, name)).replace(os.sep, "/")
        if not path.startswith("..") and os.path.isfile(os.path.join(root, path)):
            return path
    return None  # generated (build/) or missing: the build says so


def violations(root):
    """(file, include, target) for every include that points up, and the file count."""
    found, count = [], 0
    for rel in sources(root):
        count += 1
        if rel in EXEMPT:
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for name in INCLUDE.findall(text):
            target = resolve(root, rel, name)
            if target and layer(target) is not None and layer(target) > layer(rel):
                found.append((rel, name, target))
    return found, count


def report(root):
    found, count = violations(root)
    for rel, name, target in found:
        print('FAIL layers: %s includes "%s" (%s): %s must not depend on %s'
              % (rel, name, target, NAMES[layer(rel)], NAMES[layer(target)]))
    print("layers: %d files, %d upward includes" % (count, len(found)))
    return count - len({v[0] for v in found}), len(found)


def self_test():
    """Plants one upward include per rule in a copy of xmhf/ and lhv/: each must be found,
    and the unplanted tree must be clean."""
    plants = (("lhv/trap.c", "vmx/vmx.h"), ("lhv/trap.h", "suite/suite.h"),
              ("lhv/isr-amd64.S", "vmx/vmcs.h"), ("lhv/vmx/guest.c", "suite/suite.h"),
              ("xmhf/lib/string.c", "trap.h"), ("xmhf/runtime/runtime.c", "lhv/vmx/vmx.h"))
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for top in ("xmhf", "lhv"):
            shutil.copytree(os.path.join(ROOT, top), os.path.join(tmp, top))
        base = set(violations(tmp)[0])
        for rel, name in plants:
            path = os.path.join(tmp, rel)
            if not os.path.isfile(path):
                print("FAIL self-test: %s is gone; update the plants" % rel)
                failed += 1
                continue
            with open(path, encoding="utf-8") as f:
                text = f.read()
            with open(path, "w", encoding="utf-8") as f:
                f.write('#include "%s"\n' % name + text)
            caught = any(v[0] == rel and v[1] == name for v in set(violations(tmp)[0]) - base)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print("%s self-test: planted %s in %s" % ("ok" if caught else "FAIL", name, rel))
            failed += not caught
    print("%d passed, %d failed" % (len(plants) - failed, failed))
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if sys.argv[1:]:
        print("usage: check_layers.py [--self-test]", file=sys.stderr)
        return 2
    passed, failed = report(ROOT)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
