#!/usr/bin/python3
"""Where a VM exit's ticks go: boots LHV in Bochs (1 CPU, where one TSC tick
is one instruction) with one exit benchmark selected, stops in the guest's
measuring function, traces the instructions the debugger executes and cuts
out one RDTSC..RDTSC window (the second, so nothing runs for the first
time). Prints that window's instructions per function, in order and in
total; with --list, the instructions themselves. The total equals the
benchmark's printed figure (docs/performance.md, "The VM-exit path").

Standard library only; needs the tree built (make), Bochs 2.7 and nm.
Each benchmark is one Bochs boot of ~3 s."""

import argparse
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEST3 = os.path.join(ROOT, ".jenkins", "test3.py")
sys.path.insert(0, os.path.join(ROOT, ".jenkins"))
import lhvtest  # noqa: E402  (the runner's package, .jenkins/lhvtest: what test3.py runs)

# benchmark name -> (the test that measures it, the guest function holding the RDTSC window)
BENCHMARKS = {
    "vmcall": ("vmx/vmcall-roundtrip", "guest_vmcall_cost"),
    "cpuid": ("bench/vmx-exit-costs", "guest_bench_cpuid"),
    "rdmsr-bitmap-hit": ("bench/vmx-exit-costs", "guest_bench_rdmsr"),
    "ept-violation": ("bench/vmx-exit-costs", "guest_bench_ept"),
}
STEPS = 1200  # instructions traced from the breakpoint: covers three windows
# One traced instruction: "(0).[ticks] [0xphys] sel:linear (ctxt): text ; bytes"
TRACE_LINE = re.compile(r"^\(\d+\)\.\[\d+\] \[0x[0-9a-f]+\] [0-9a-f]{4}:([0-9a-f]+) \([^)]*\): (.*)$")


def symbols(elf):
    """(addresses, names) of the text symbols, sorted by address."""
    out = subprocess.run(["nm", "-n", elf], capture_output=True, text=True, check=True).stdout
    pairs = [(int(p[0], 16), p[2]) for p in (l.split() for l in out.splitlines())
             if len(p) == 3 and p[1] in "tTW"]
    return [a for a, _ in pairs], [n for _, n in pairs]


def trace(subarch, test, address, model, work):
    """The traced instructions, as (linear address, text), from the first
    time the guest reaches `address`."""
    name = "exit-trace-%s" % subarch
    run = subprocess.run([sys.executable, TEST3, "--subarch", subarch, "--emulator", "bochs",
                          "--bochs-cpu", model, "--cmdline", "lhv.tests=" + test,
                          "--name", name, "--skip-test"], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit("exit_trace: test3.py could not make the boot image: %s" % run.stderr.strip())
    iso = run.stdout.strip().splitlines()[-1]
    bochsrc = os.path.join(work, "bochsrc")
    with open(bochsrc, "w") as f:
        f.write(lhvtest.bochsrc_text(model, 1, 512, iso, os.path.join(work, "com1.out"),
                                          os.path.join(work, "bochs.log")))
    rc = os.path.join(work, "debugger.rc")
    with open(rc, "w") as f:
        f.write("lb 0x%x\nc\ntrace on\ns %d\nquit\n" % (address, STEPS))
    out = subprocess.run(["bochs", "-q", "-f", bochsrc, "-rc", rc], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, LC_ALL="C")).stdout
    return [(int(m.group(1), 16), m.group(2)) for m in map(TRACE_LINE.match, out.splitlines())
            if m]


def window(steps):
    """The second RDTSC..RDTSC window: from the third RDTSC (included) to
    the fourth (not included), which is what the guest's difference counts."""
    at = [i for i, (_, text) in enumerate(steps) if text.startswith("rdtsc")]
    if len(at) < 4:
        return None
    return steps[at[2]:at[3]]


def report(name, subarch, steps, addrs, names, listing):
    runs, total = [], collections.Counter()
    for address, text in steps:
        fn = names[bisect.bisect_right(addrs, address) - 1]
        if listing:
            print("  %-24s %x  %s" % (fn, address, text.split(";")[0].rstrip()))
        if not runs or runs[-1][0] != fn:
            runs.append([fn, 0])
        runs[-1][1] += 1
        total[fn] += 1
    print("%s %s: %d ticks" % (subarch, name, len(steps)))
    print("  path: " + " -> ".join("%s %d" % (fn, n) for fn, n in runs))
    for fn, n in total.most_common():
        print("  %-28s %3d" % (fn, n))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subarch", choices=("amd64", "i386"), action="append",
                   help="subarch to trace (default both; repeatable)")
    p.add_argument("--bench", choices=sorted(BENCHMARKS), action="append",
                   help="benchmark to trace (default vmcall and cpuid; repeatable)")
    p.add_argument("--bochs-cpu", default="tigerlake", help="Bochs CPU model (default tigerlake)")
    p.add_argument("--list", action="store_true", help="print every instruction of the window")
    args = p.parse_args()
    for subarch in args.subarch or ("amd64", "i386"):
        elf = os.path.join(ROOT, "build", subarch, "runtime.elf")
        if not os.path.isfile(elf):
            sys.exit("exit_trace: %s missing: run make first" % elf)
        addrs, names = symbols(elf)
        for name in args.bench or ("vmcall", "cpuid"):
            test, function = BENCHMARKS[name]
            if function not in names:
                sys.exit("exit_trace: no function %s in %s" % (function, elf))
            with tempfile.TemporaryDirectory(prefix="exit-trace-") as work:
                steps = window(trace(subarch, test, addrs[names.index(function)],
                                     args.bochs_cpu, work))
            if steps is None:
                sys.exit("exit_trace: %s %s: fewer than four RDTSCs traced (did %s run?)"
                         % (subarch, name, test))
            report(name, subarch, steps, addrs, names, args.list)
    return 0


if __name__ == "__main__":
    sys.exit(main())
