#!/usr/bin/env python3
"""Fails when an include points up the layers (docs/design.md §1: dependencies run one way),
or when the suite defines its own copy of an architectural constant (one hardware vocabulary).

The layers, bottom up: xmhf/ (boot chain, lib, includes), the lhv platform
(lhv/*.c, *.h, *.S, *.inc), lhv/vmx/, lhv/l0/, lhv/suite/. A file may include
from its own layer and the ones below, never from one above:
  - xmhf/ includes nothing from lhv/;
  - the platform includes nothing from lhv/vmx/, lhv/l0/ or lhv/suite/;
  - lhv/vmx/ includes nothing from lhv/l0/ or lhv/suite/; lhv/l0/ nothing from lhv/suite/.
One file is exempt: lhv/main.c, lhv_main, the top that wires the layers together
(the runtime's one call into LHV).

The suite (lhv/suite/) may not #define a name that a shared header defines
(SHARED: xmhf/include/x86.h, lhv/vmx/vmcs.h, and the platform's lhv/desc.h and
lhv/lapic.h), nor a name with an architectural prefix (ARCH_PREFIXES: CR0_,
EFER_, MSR_, AR_, INTR_INFO_, ...): such a constant belongs in x86.h or vmcs.h
with the SDM's name, once.

The build gives each layer its own include path (the Makefile's build/layers/),
so the usual spellings of an upward include ("vmx/vmx.h" in the platform,
"suite/suite.h" in lhv/vmx) do not compile; this check finds every spelling,
in every file, compiled or not. Each #include "X" (and .include "X") is
resolved generously: the including file's directory, then xmhf/include, lhv
and the tree root; a file found there that belongs to a higher layer fails. `--self-test` plants upward includes
and private architectural #defines in a scratch tree and checks that each is reported.
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
DEFINE = re.compile(r'^\s*#\s*define\s+(\w+)', re.M)
SHARED = ("xmhf/include/x86.h", "lhv/vmx/vmcs.h", "lhv/desc.h", "lhv/lapic.h")
ARCH_PREFIXES = ("CR0_", "CR4_", "EFER_", "RFLAGS_", "EFLAGS_", "MSR_", "AR_",
                 "INTR_INFO_", "INTR_TYPE_", "INTR_BLOCKING_", "EXIT_REASON_", "CPUID1_",
                 "CPUID7_", "CPUID80000001_", "VMX_BASIC_", "VMX_MISC_", "IO_QUAL_", "VEC_")

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


def shared_names(root):
    """{name: header} for every #define in the shared headers (include guards left out)."""
    names = {}
    for rel in SHARED:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            for name in DEFINE.findall(f.read()):
                if not name.endswith("_H"):
                    names.setdefault(name, rel)
    return names


def private_constants(root):
    """(file:line, name, why) for every #define in lhv/suite/ that copies the shared vocabulary."""
    shared, found = shared_names(root), []
    for rel in sources(root):
        if not rel.startswith("lhv/suite/"):
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in DEFINE.finditer(text):
            name, line = m.group(1), text.count("\n", 0, m.start()) + 1
            if name in shared:
                why = "%s defines it: use that" % shared[name]
            elif name.startswith(ARCH_PREFIXES):
                why = ("an architectural name (%s...): define it once, with the SDM's name, in "
                       "xmhf/include/x86.h or lhv/vmx/vmcs.h"
                       % next(p for p in ARCH_PREFIXES if name.startswith(p)))
            else:
                continue
            found.append(("%s:%d" % (rel, line), name, why))
    return found


def report(root):
    found, count = violations(root)
    for rel, name, target in found:
        print('FAIL layers: %s includes "%s" (%s): %s must not depend on %s'
              % (rel, name, target, NAMES[layer(rel)], NAMES[layer(target)]))
    print("layers: %d files, %d upward includes" % (count, len(found)))
    private = private_constants(root)
    for where, name, why in private:
        print("FAIL vocabulary: %s defines %s: %s" % (where, name, why))
    print("vocabulary: %d private architectural #defines in lhv/suite/" % len(private))
    bad = {v[0] for v in found} | {v[0].rsplit(":", 1)[0] for v in private}
    return count - len(bad), len(found) + len(private)


def self_test():
    """Plants one upward include per rule in a copy of xmhf/ and lhv/: each must be found,
    and the unplanted tree must be clean."""
    plants = (("lhv/trap.c", "vmx/vmx.h"), ("lhv/trap.h", "suite/suite.h"),
              ("lhv/isr-amd64.S", "vmx/vmcs.h"), ("lhv/vmx/guest.c", "suite/suite.h"),
              ("xmhf/lib/string.c", "trap.h"), ("xmhf/runtime/runtime.c", "lhv/vmx/vmx.h"),
              ("lhv/l0/l0.c", "suite/suite.h"), ("lhv/vmx/ept.c", "l0/l0.h"),
              ("lhv/smp.c", "l0/l0.h"))
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
        for rel, line in DEFINE_PLANTS:
            path = os.path.join(tmp, rel)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            with open(path, "w", encoding="utf-8") as f:
                f.write(line + "\n" + text)
            name = DEFINE.match(line).group(1)
            caught = any(v[0].startswith(rel + ":") and v[1] == name for v in private_constants(tmp))
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print("%s self-test: planted %s in %s" % ("ok" if caught else "FAIL", line, rel))
            failed += not caught
        clean = not private_constants(tmp)
        print("%s self-test: the suite as it is defines no architectural constant"
              % ("ok" if clean else "FAIL"))
        failed += not clean
    total = len(plants) + len(DEFINE_PLANTS) + 1
    print("%d passed, %d failed" % (total - failed, failed))
    return 1 if failed else 0


# one per rule: a name x86.h defines, one vmcs.h defines, and architectural prefixes
DEFINE_PLANTS = (("lhv/suite/vmx/guest/protected_mode.c", "#define CR0_PE (1u << 0)"),
                 ("lhv/suite/vmx/exits/io_bitmap.c", "#define HOST_RSP 0x6c14"),
                 ("lhv/suite/vmx/events/injection.c", "#define INTR_INFO_ERR (1u << 11)"),
                 ("lhv/suite/platform/timer_legacy_pit.c", "#define MSR_IA32_TSC_DEADLINE 0x6e0"),
                 ("lhv/suite/vmx/entry/guest_state.c", "#define AR_PRESENT (1u << 7)"))


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
