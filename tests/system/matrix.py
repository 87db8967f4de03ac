#!/usr/bin/python3
"""The boot matrix 'make test' runs: LHV booted under QEMU in every
combination that matters, plus bad inputs that must end in one FATAL line
and QEMU's exit. Each case is one .jenkins/test3.py run (its package,
.jenkins/lhvtest, imported; test3.py's options reused); a failing case prints
the test3.py command that reproduces it.

    tests/system/matrix.py            # all cases, 2 at a time
    tests/system/matrix.py --quick    # one case per subarch and boot method + 2 bad inputs
    tests/system/matrix.py --full     # also every Bochs CPU model, soak runs, more sizes
    tests/system/matrix.py --list --filter bad-
"""

import argparse
import concurrent.futures
import dataclasses
import os
import shlex
import struct
import sys
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BAD_INPUT_TIMEOUT = "10"  # a FATAL comes within a second or two
TEST3_PATH = os.path.join(ROOT, ".jenkins", "test3.py")  # the command a failing case prints
sys.path.insert(0, os.path.join(ROOT, ".jenkins"))
import lhvtest as test3  # noqa: E402  (the runner's package: .jenkins/lhvtest)


@dataclasses.dataclass
class Case:
    name: str
    args: list           # test3.py options
    quick: bool = False  # part of --quick
    fatal_within: float = 0  # bad input: the FATAL must come this soon (seconds)
    full: bool = False   # only with --full (make test-full)


# The guest's tests that pass on the L0's nested VMX today (docs/l0.md "Nested VMX")
L0_NESTED_TESTS = ("vmx/vmxon", "vmx/vmcs-lifecycle", "vmx/vmxoff-vmxon", "vmx/vmread-vmwrite-widths",
                   "vmx/vmwrite-read-only", "vmx/vmclear-writes-vmcs", "vmx/vmxon-region-checks",
                   "vmx/vmread-vmwrite-memory-operand-faults",
                   # Bochs deviations' PASS paths (docs/l0-deviations.md, "LHV L0 (nested)")
                   "vmx/xsetbv-cpl3", "vmx/entry-checks-guest-state")
# ... and with 2 CPUs, L1's cross-CPU events (a case of their own, l0_nested_smp_case): the
# INIT the L0 holds for a CPU whose L1 is in VMX operation (lhv/l0/nested_init.c), an NMI
# IPI to a CPU whose L2 exits on NMIs, the IPI storm between two L2s (each IPI a reflected
# external-interrupt exit: 1000 round trips per CPU in 2 s of Bochs time)
L0_NESTED_SMP_TESTS = ("vmx/init-signal-exit", "vmx/nmi-ipi-from-other-cpu", "vmx/multi-ipi-storm")
# ... and on its secondary controls (EPT02, VPID02, INVEPT/INVVPID: lhv/l0/nested_ept.c,
# nested_inv.c): the pattern for lhv.tests (256 characters at most; vmx/ept-paging-walk*
# left out: the guest page walk through EPT02 is Bochs' own, docs/l0-deviations.md), the tests that must
# PASS, and those that must SKIP naming the capability the L0 does not offer
L0_NESTED_EPT_PATTERN = ("vmx/ept-*,-vmx/ept-paging-walk*,vmx/invept-*,vmx/invvpid-operands,vmx/vpid-*,vmx/isolation-ept,"
                         "vmx/unrestricted-guest*,vmx/pml-*,vmx/vmfunc-*,vmx/pae-pdptes,"
                         "vmx/instruction-exits,vmx/xsaves-enable")
L0_NESTED_EPT_TESTS = ("vmx/ept-identity", "vmx/ept-switch-invept", "vmx/invept-single-context",
                       "vmx/invept-all-context", "vmx/invvpid-operands", "vmx/isolation-ept",
                       "vmx/ept-2mb-pages", "vmx/ept-memory-type", "vmx/ept-misconfig",
                       "vmx/ept-1g-pages", "vmx/ept-permission-matrix", "vmx/ept-violation",
                       "vmx/ept-execute-only", "vmx/vpid-invvpid", "vmx/vpid-stale-translations",
                       "vmx/unrestricted-guest", "vmx/unrestricted-guest-unpaged", "vmx/pae-pdptes",
                       "vmx/instruction-exits", "vmx/xsaves-enable")
L0_NESTED_EPT_SKIPS = ("vmx/ept-accessed-dirty:EPT_VPID_CAP bit 21", "vmx/pml-log:EPT_VPID_CAP bit 21",
                       "vmx/pml-log-full:EPT_VPID_CAP bit 21",
                       "vmx/ept-mode-based-execute:PROCBASED_CTLS2 bit 22",
                       "vmx/ept-violation-ve:PROCBASED_CTLS2 bit 18",
                       "vmx/vmfunc-eptp-switch:PROCBASED_CTLS2 bit 13")
# ... and the controls, MSR areas and events beyond them (docs/l0.md "Nested VMX"): the
# globs that run them (lhv.tests is at most 256 characters) and the tests that must PASS
L0_NESTED_CTL_GLOBS = ("vmx/exc*,vmx/exit-*,vmx/inter*,vmx/ext*,vmx/hlt-*,vmx/idt-*,vmx/inj*,"
                       "vmx/entry-int*,vmx/pend*,vmx/pre*,vmx/nmi-w*,vmx/nmi-i*,vmx/cr*,"
                       "vmx/mov-dr-*,vmx/io-*,vmx/tsc-*,vmx/rdtsc-*,vmx/msr-*,vmx/store-*,"
                       "vmx/entry-load-*,vmx/activity-s*")
L0_NESTED_CTL_TESTS = (
    "vmx/activity-shutdown", "vmx/exception-bitmap-all-vectors", "vmx/exit-after-delivery",
    "vmx/interrupt-to-guest", "vmx/external-interrupt-exiting", "vmx/hlt-exiting",
    "vmx/idt-vectoring-info", "vmx/inject-external-interrupt",
    "vmx/inject-exception-with-error-code", "vmx/inject-software-interrupt",
    "vmx/interrupt-window-exiting", "vmx/entry-interrupt-shadow",
    "vmx/exit-saves-interrupt-shadow", "vmx/pending-debug-exceptions", "vmx/preemption-timer-rate",
    "vmx/preemption-timer-hlt", "vmx/nmi-window-exiting", "vmx/nmi-inject", "vmx/nmi-inject-virtual",
    "vmx/cr4-guest-host-mask", "vmx/cr-masks-shadows", "vmx/cr3-exiting", "vmx/mov-dr-exiting",
    "vmx/exception-bitmap-pf-mask-match", "vmx/cr3-pcid-load", "vmx/io-bitmaps",
    "vmx/io-unconditional", "vmx/io-bitmap-wraparound", "vmx/msr-bitmap",
    "vmx/preemption-timer-single-step", "vmx/tsc-offsetting", "vmx/rdtsc-exiting",
    "vmx/msr-load-store", "vmx/store-tsc-msr-area", "vmx/msr-area-max-count",
    "vmx/entry-load-pat-efer", "vmx/exit-save-load-pat-efer")
# ... and Bochs deviations' PASS paths that need those controls (docs/l0-deviations.md)
# ... and in the whole suite as L1: the PASS paths of Bochs deviations the L0
# corrects that the lists above have no room for (docs/l0-deviations.md)
L0_NESTED_WHOLE_TESTS = ("vmx/debugctl-load-save",)
L0_NESTED_CTL_GLOBS += ",vmx/nmi-exiting"
L0_NESTED_CTL_TESTS += ("vmx/nmi-exiting",)

def boot_cases():
    """Both subarchs x GRUB/direct x 1/4 CPUs x 512M/2G, and amd64 with 6G
    (the RAM above 4 GiB must be mapped)."""
    cases = []
    for sub in test3.SUBARCHS:
        for boot in ("grub", "direct"):
            for smp in (1, 4):
                for mem in ("512M", "2G"):
                    cases.append(Case("%s-%s-smp%d-%s" % (sub, boot, smp, mem),
                                      ["--subarch", sub, "--boot", boot, "--smp", str(smp),
                                       "--memory", mem],
                                      quick=(smp, mem) == (1, "512M")))
    # edge inputs that are not errors: a command line of exactly 4 KiB, and
    # lhv.cpus above the number of CPUs
    cmdline_4k = (" ".join("p%03d" % i for i in range(819)) + " xx")[:4096]
    assert len(cmdline_4k) == 4096
    cases.append(Case("amd64-direct-cmdline-4k", ["--subarch", "amd64", "--boot", "direct",
                                                   "--cmdline", cmdline_4k]))
    cases.append(Case("amd64-direct-cpus-above-count",
                      ["--subarch", "amd64", "--boot", "direct", "--smp", "2",
                       "--cmdline", "lhv.cpus=8", "--require-pass", "smp/all-cpus-online"]))
    # no ACPI tables: one CPU, no PM timer (its tests SKIP saying so), no failure
    cases.append(Case("amd64-direct-no-acpi",
                      ["--subarch", "amd64", "--boot", "direct", "--smp", "2",
                       "--extra-qemu-args", "-machine acpi=off",
                       "--require-skip", "timer/lapic-calibration:no ACPI PM timer"]))
    # a busy host: QEMU stopped for 70 ms every 250 ms (longer than a wrap of
    # the PIT's 16-bit counter) must not skew the LAPIC calibration (it made
    # the PIT's figure 55 % high before the windows were checked against the PM
    # timer) nor fail a timer test (lost interrupts may XFAIL, with evidence)
    cases.append(Case("amd64-direct-host-stalls",
                      ["--subarch", "amd64", "--boot", "direct", "--host-stalls", "70:250",
                       "--cmdline", "lhv.tests=timer/*",
                       "--require-pass", "timer/lapic-calibration"]))
    # one vCPU the host kept off between arming its LAPIC timer and reading
    # it (CI: 8 CPUs on 2 cores, "reloaded within 5.456 ms"): a stretched try,
    # not a verdict
    cases.append(Case("amd64-direct-smp8-vcpu-stall",
                      ["--subarch", "amd64", "--boot", "direct", "--smp", "8",
                       "--cmdline", "lhv.inject=vcpu-stall lhv.tests=timer/lapic-periodic",
                       "--require-pass", "timer/lapic-periodic"]))
    # every CPU count the platform issue names: 2 and 8 as well, direct boot
    for sub in test3.SUBARCHS:
        for smp in (2, 8):
            cases.append(Case("%s-direct-smp%d-512M" % (sub, smp),
                              ["--subarch", sub, "--boot", "direct", "--smp", str(smp)]))
    for boot in ("grub", "direct"):
        cases.append(Case("amd64-%s-6G" % boot,
                          ["--subarch", "amd64", "--boot", boot, "--memory", "6G",
                           "--require-pass", "boot/high-memory"]))
    # UEFI: GRUB's EFI build boots init through multiboot2 under OVMF; the
    # ACPI RSDP comes from its tag (2 CPUs from the MADT), no VGA text mode
    cases.append(Case("amd64-uefi-512M",
                      ["--subarch", "amd64", "--boot", "uefi", "--smp", "2",
                       "--require-pass", "boot/params", "--require-pass", "smp/all-cpus-online",
                       "--require-skip", "vga/console-mirror:no VGA"], quick=True))
    # lhv.console=vga: no serial output after the platform is up; the runner
    # reads port 0xe9 and saves the screen (build/test3/NAME/screen.png)
    cases.append(Case("amd64-grub-vga-console",
                      ["--subarch", "amd64", "--cmdline", "lhv.console=vga",
                       "--require-pass", "vga/console-mirror"]))
    # QEMU TCG has no VMX: every VMX test says so and the run still ends
    for sub in test3.SUBARCHS:
        cases.append(Case("%s-direct-vmx-skips" % sub,
                          ["--subarch", sub, "--boot", "direct"] +
                          [a for t in VMX_CORE_TESTS
                           for a in ("--require-skip", t + ":CPU has no VMX")], quick=True))
    return cases


# Tests that must PASS wherever VMX is, and SKIP ("CPU has no VMX") elsewhere
VMX_CORE_TESTS = ("vmx/vmxon", "vmx/vmcall-roundtrip", "vmx/cpuid-exiting", "hypapp/hypercall")
# EPT features tigerlake offers (PML's log full, #VE aside: XFAIL), which must
# PASS there rather than SKIP; mode-based execute and PML's log only on Bochs 3.0, where
# mode-based execute XFAILs (its read/write qualification, docs/l0-deviations.md)
TIGERLAKE_TESTS = ("vmx/ept-accessed-dirty", "vmx/vmfunc-eptp-switch", "vmx/ept-1g-pages",
                   "vmx/invept-single-context", "vmx/invept-all-context")
TIGERLAKE3_TESTS = ("vmx/pml-log",)
TIGERLAKE3_XFAILS = ("vmx/ept-mode-based-execute:user-mode execute \\(bit 6\\) only for fetches",)


def bochs_cases():
    """VMX runs in Bochs on corei7_skylake_x and tigerlake: both subarchs
    with 1 and 2 CPUs must pass the VMX tests (any FAIL fails the case);
    atom_n270 has no VMX (i386: the VMX tests SKIP) and no long mode (amd64:
    init says so)."""
    vmx = [a for t in VMX_CORE_TESTS for a in ("--require-pass", t)]
    cases = [Case("%s-bochs-smp%d" % (sub, smp),
                  ["--subarch", sub, "--emulator", "bochs", "--smp", str(smp)] + vmx,
                  quick=smp == 1)
             for sub in test3.SUBARCHS for smp in (1, 2)]
    tiger = [a for t in TIGERLAKE_TESTS for a in ("--require-pass", t)]
    cases += [Case("%s-bochs-tigerlake-smp2" % sub,
                   ["--subarch", sub, "--emulator", "bochs", "--bochs-cpu", "tigerlake",
                    "--smp", "2"] + vmx + tiger)
              for sub in test3.SUBARCHS]
    # the suite twice: a test must leave the machine as it found it (a test
    # that left interrupts off once made the next keyboard test fail)
    cases.append(Case("amd64-bochs-iterations2",
                      ["--subarch", "amd64", "--emulator", "bochs", "--cmdline",
                       "lhv.iterations=2"]))
    # the PIT's period against the PM timer, 20 times: with the PIT's IRQ0
    # allowed inside a stamp, 3 of 20 FAILed on one layout (timer_measure.h)
    cases.append(Case("amd64-bochs-pit-period-x20",
                      ["--subarch", "amd64", "--emulator", "bochs", "--cmdline",
                       "lhv.iterations=20 lhv.tests=timer/pit-clock-rate"]))
    # lhv.console=vga in Bochs: the verdicts come from port_e9_hack's output
    cases.append(Case("i386-bochs-vga-console",
                      ["--subarch", "i386", "--emulator", "bochs", "--cmdline",
                       "lhv.console=vga lhv.tests=vga/*,vmx/vmcall-roundtrip",
                       "--require-pass", "vga/console-mirror",
                       "--require-pass", "vmx/vmcall-roundtrip"]))
    # a slow serial line (Bochs sends at the programmed rate): the last line
    # must arrive whole, the UART's FIFO emptied before the power-off; on
    # the normal end and on a FATAL in init
    cases.append(Case("amd64-bochs-serial-9600",
                      ["--subarch", "amd64", "--emulator", "bochs", "--cmdline",
                       "serial=9600,8n1,0x3f8 lhv.tests=boot/*"]))
    cases.append(Case("bad-i386-bochs-serial-9600-unknown-option",
                      ["--subarch", "i386", "--emulator", "bochs", "--cmdline",
                       "serial=9600,8n1,0x3f8 lhv.bogus=1", "--expect-fatal", "unknown option"]))
    cases.append(Case("i386-bochs-atom-no-vmx",
                      ["--subarch", "i386", "--emulator", "bochs", "--bochs-cpu", "atom_n270"] +
                      [a for t in VMX_CORE_TESTS
                       for a in ("--require-skip", t + ":CPU has no VMX")]))
    cases.append(Case("bad-amd64-bochs-atom-no-long-mode",
                      ["--subarch", "amd64", "--emulator", "bochs", "--bochs-cpu", "atom_n270",
                       "--expect-fatal", "long mode"]))
    return cases


# Bochs 2.7's other Intel models with VMX, oldest first (make test-full)
BOCHS_VMX_MODELS = ("core2_penryn_t9600", "corei5_lynnfield_750", "corei5_arrandale_m520",
                    "corei7_sandy_bridge_2600k", "corei7_ivy_bridge_3770k",
                    "corei7_haswell_4770", "broadwell_ult", "corei3_cnl", "corei7_icelake_u")


def full_cases():
    """The longer matrix behind make test-full: every other Bochs CPU model
    with VMX (each VMX test passes or SKIPs naming what that model lacks),
    an AMD model (no VMX), suite repetitions (lhv.iterations) in Bochs and
    QEMU, 10^6 VM exits per CPU (lhv.soak) in Bochs, and QEMU with 8 CPUs
    and 8 GiB."""
    vmx = [a for t in VMX_CORE_TESTS for a in ("--require-pass", t)]
    cases = [Case("%s-bochs-%s-smp2" % (sub, model),
                  ["--subarch", sub, "--emulator", "bochs", "--bochs-cpu", model, "--smp", "2"] +
                  vmx, full=True)
             for model in BOCHS_VMX_MODELS for sub in test3.SUBARCHS]
    cases.append(Case("amd64-bochs-ryzen-no-vmx",
                      ["--subarch", "amd64", "--emulator", "bochs", "--bochs-cpu", "ryzen"] +
                      [a for t in VMX_CORE_TESTS
                       for a in ("--require-skip", t + ":CPU has no VMX")], full=True))
    for sub in test3.SUBARCHS:
        cases.append(Case("%s-bochs-smp2-iterations3" % sub,
                          ["--subarch", sub, "--emulator", "bochs", "--smp", "2",
                           "--cmdline", "lhv.iterations=3", "--timeout", "300"], full=True))
        cases.append(Case("%s-grub-smp8-iterations5" % sub,
                          ["--subarch", sub, "--boot", "grub", "--smp", "8", "--memory", "2G",
                           "--cmdline", "lhv.iterations=5", "--timeout", "120"], full=True))
    # soak: 10^5 VM exits per CPU in make test (the suite's default run makes
    # 1,000: each exit costs Bochs 2.7 ~10 us of wall time), 10^6 in test-full,
    # counted by host and guest
    for sub in test3.SUBARCHS:
        cases.append(Case("%s-bochs-smp2-soak100k" % sub,
                          ["--subarch", sub, "--emulator", "bochs", "--smp", "2", "--cmdline",
                           "lhv.tests=vmx/soak-exits lhv.soak=100000", "--require-pass",
                           "vmx/soak-exits"]))
        cases.append(Case("%s-bochs-smp2-soak1m" % sub,
                          ["--subarch", sub, "--emulator", "bochs", "--smp", "2", "--cmdline",
                           "lhv.tests=vmx/soak-exits lhv.soak=1000000", "--require-pass",
                           "vmx/soak-exits", "--timeout", "300"], full=True))
    cases.append(Case("amd64-grub-smp8-8G",
                      ["--subarch", "amd64", "--boot", "grub", "--smp", "8", "--memory", "8G",
                       "--require-pass", "boot/high-memory"], full=True))
    return cases


def bochs3_cases():
    """Bochs 3.0 (tools/bochs3.sh, issue #16) beside 2.7: the whole suite on
    tigerlake, amd64 with 2 CPUs and i386 with 1 (any FAIL fails the case);
    with --full every model with VMX, as on 2.7."""
    vmx = [a for t in VMX_CORE_TESTS for a in ("--require-pass", t)]
    v3 = ["--emulator", "bochs", "--bochs-version", "3.0"]
    tiger = [a for t in TIGERLAKE_TESTS + TIGERLAKE3_TESTS for a in ("--require-pass", t)]
    tiger += [a for t in TIGERLAKE3_XFAILS for a in ("--require-xfail", t)]
    cases = [Case("%s-bochs3-tigerlake-smp%d" % (sub, smp),
                  ["--subarch", sub] + v3 + ["--bochs-cpu", "tigerlake", "--smp", str(smp)] +
                  vmx + tiger)
             for sub, smp in (("amd64", 2), ("i386", 1))]
    cases += [Case("%s-bochs3-%s-smp2" % (sub, model),
                   ["--subarch", sub] + v3 + ["--bochs-cpu", model, "--smp", "2"] + vmx,
                   full=True)
              for model in ("corei7_skylake_x",) + BOCHS_VMX_MODELS + ("sapphire_rapids",)
              for sub in test3.SUBARCHS]
    return cases


def bad_file(work, kind, sub):
    """Path of a corrupt module made at run time (see make_bad_files)."""
    return os.path.join(work, "inputs", "%s-%s.bin" % (kind, sub))


# Bad input must end in its FATAL within 2 s of QEMU's start (issue #8)
BAD_INPUT_DEADLINE = 2.0


def bad_case(what, sub, boot, regex, args, quick=False):
    return Case("bad-%s-%s-%s" % (sub, boot, what),
                ["--subarch", sub, "--boot", boot, "--timeout", BAD_INPUT_TIMEOUT,
                 "--expect-fatal", regex] + args, quick, BAD_INPUT_DEADLINE)


def bad_input_cases(work, bin_dir):
    """Each must end in one FATAL naming the problem, then QEMU's exit."""
    long_cmdline = " ".join("pad%04d" % i for i in range(640))  # 5 KiB of ignored words
    return [
        bad_case("no-module", "amd64", "direct", "no module", ["--no-module"], quick=True),
        # UEFI: OVMF takes ~5 s before init runs, so a later deadline
        Case("bad-amd64-uefi-no-module",
             ["--subarch", "amd64", "--boot", "uefi", "--timeout", "30", "--no-module",
              "--expect-fatal", "no module.*'module2 /boot/hypervisor-x86-amd64.bin.gz'"],
             False, 15.0),
        bad_case("truncated", "amd64", "direct", "truncated",
                 ["--module", bad_file(work, "truncated", "amd64")], quick=True),
        bad_case("flipped-byte", "amd64", "direct", "crc32",
                 ["--module", bad_file(work, "flipped", "amd64")]),
        bad_case("packed-runtime", "amd64", "direct",
                 "packed runtime: a match reaches before the start",
                 ["--module", bad_file(work, "badpacked", "amd64")]),
        bad_case("packed-runtime", "i386", "direct",
                 "packed runtime: a match reaches before the start",
                 ["--module", bad_file(work, "badpacked", "i386")]),
        bad_case("wrong-subarch", "amd64", "direct", "subarch",
                 ["--module", os.path.join(bin_dir, "hypervisor-x86-i386.bin")]),
        bad_case("gzip-module", "amd64", "direct", "gzip",
                 ["--module", os.path.join(bin_dir, "hypervisor-x86-amd64.bin.gz")]),
        bad_case("unknown-option", "amd64", "direct", "unknown option lhv.bogus",
                 ["--cmdline", "lhv.bogus=1"]),
        bad_case("long-cmdline", "amd64", "direct", "command line",
                 ["--cmdline", long_cmdline]),
        bad_case("128M", "amd64", "direct", "RAM|memory", ["--memory", "128M"]),
        bad_case("truncated", "i386", "direct", "truncated",
                 ["--module", bad_file(work, "truncated", "i386")]),
        bad_case("unknown-option", "i386", "direct", "unknown option lhv.bogus",
                 ["--cmdline", "lhv.bogus=1"]),
        bad_case("empty-module", "amd64", "direct", "truncated: 0 of",
                 ["--module", bad_file(work, "empty", "amd64")]),
        bad_case("one-byte-module", "amd64", "direct", "truncated: 1 of",
                 ["--module", bad_file(work, "onebyte", "amd64")]),
        bad_case("bad-serial-port", "amd64", "direct", "serial=",
                 ["--cmdline", "serial=115200,8n1,0x0"]),
        bad_case("bad-serial-baud", "amd64", "direct", "serial=",
                 ["--cmdline", "serial=12345,8n1,0x3f8"]),
        bad_case("zero-cpus", "amd64", "direct", "lhv.cpus=0", ["--cmdline", "lhv.cpus=0"]),
        bad_case("tests-none", "amd64", "direct", "names no test",
                 ["--cmdline", "lhv.tests=no/such-test"]),
        bad_case("tests-none", "i386", "direct", "names no test",
                 ["--cmdline", "lhv.tests=no/such-test"]),
        bad_case("no-module", "amd64", "grub", "no module", ["--no-module"]),
        bad_case("unknown-option", "amd64", "grub", "unknown option lhv.bogus",
                 ["--cmdline", "lhv.bogus=1"]),
    ]


def l0_nested_case(guest, version, model, smp, full=False):
    """L1 (the `guest` build) on the amd64 L0 with lhv.l0.nested=1: each of
    L0_NESTED_TESTS must PASS."""
    return Case("l0-nested-%s-bochs%s-%s-smp%d" % (guest, "" if version == "2.7" else "3",
                                                   model, smp),
                ["--subarch", "amd64", "--emulator", "bochs", "--bochs-version", version,
                 "--bochs-cpu", model, "--smp", str(smp), "--l0", guest, "--cmdline",
                 "serial=115200,8n1,0x3f8 lhv.l0=1 lhv.l0.nested=1", "--l0-cmdline",
                 "serial=115200,8n1,0x3f8 lhv.tests=" + ",".join(L0_NESTED_TESTS)] +
                [a for t in L0_NESTED_TESTS for a in ("--require-pass", t)], full=full)


def l0_nested_smp_case(guest, full=False):
    """L1 with 2 CPUs on the L0 (Bochs 2.7 tigerlake): L0_NESTED_SMP_TESTS must PASS."""
    return Case("l0-nested-smp-%s-bochs-tigerlake-smp2" % guest,
                ["--subarch", "amd64", "--emulator", "bochs", "--bochs-cpu", "tigerlake",
                 "--smp", "2", "--l0", guest, "--cmdline",
                 "serial=115200,8n1,0x3f8 lhv.l0=1 lhv.l0.nested=1", "--l0-cmdline",
                 "serial=115200,8n1,0x3f8 lhv.tests=" + ",".join(L0_NESTED_SMP_TESTS)] +
                [a for t in L0_NESTED_SMP_TESTS for a in ("--require-pass", t)], full=full)


# make test-full's nested configurations (issue #20): Bochs 3.0, the
# other model the L0 runs on, an i386 guest with 2 CPUs (its
# vmx/vmread-vmwrite-memory-operand-faults, which FAILed there once with a
# VMREAD's #PF on CPU 0, PASSes since the operand walk's fault state is per CPU)
L0_NESTED_FULL = (("amd64", "3.0", "tigerlake", 1), ("i386", "3.0", "tigerlake", 1),
                  ("amd64", "2.7", "corei7_icelake_u", 1), ("i386", "2.7", "corei7_icelake_u", 1),
                  ("i386", "2.7", "tigerlake", 2))


def l0_cases(work, bin_dir):
    """LHV as L0 (docs/l0.md): the unchanged LHV as its guest on every CPU in Bochs
    tigerlake (VMX with EPT, unrestricted guest, wait-for-SIPI), both SUMMARYs judged;
    the bad module lists in QEMU, where each FATAL comes before the L0 would say it
    needs VMX (which a good list gets there)."""
    cases = [Case("l0-amd64-bochs-tigerlake-smp2",
                  ["--subarch", "amd64", "--emulator", "bochs", "--bochs-cpu", "tigerlake",
                   "--smp", "2", "--l0", "amd64"]),
             Case("l0-i386-bochs-tigerlake-smp1",
                  ["--subarch", "amd64", "--emulator", "bochs", "--bochs-cpu", "tigerlake",
                   "--smp", "1", "--l0", "i386"]),
             # nested VMX (lhv.l0.nested=1): the guest's own VMX basics on the L0's
             # emulated VMX instructions, their guests (L2) entered through VMCS02; one
             # configuration per guest subarch and amd64 with two CPUs (L1's AP runs its
             # own VMXON and L2s on CPU 1) here, the others with --full
             ] + [l0_nested_case(guest, "2.7", "tigerlake", smp)
                  for guest, smp in (("amd64", 1), ("i386", 1), ("amd64", 2))] + [
             # ... and L2 on EPT02 (EPT12 composed with the L0's EPT), VPID02, INVEPT/INVVPID
             Case("l0-nested-ept-%s-bochs-tigerlake-smp1" % guest,
                  ["--subarch", "amd64", "--emulator", "bochs", "--bochs-cpu", "tigerlake",
                   "--smp", "1", "--l0", guest, "--cmdline",
                   "serial=115200,8n1,0x3f8 lhv.l0=1 lhv.l0.nested=1", "--l0-cmdline",
                   "serial=115200,8n1,0x3f8 lhv.tests=" + L0_NESTED_EPT_PATTERN] +
                  [a for t in L0_NESTED_EPT_TESTS for a in ("--require-pass", t)] +
                  [a for t in L0_NESTED_EPT_SKIPS for a in ("--require-skip", t)])
             for guest in ("amd64", "i386")] + [
             Case("l0-nested-ctl-%s-bochs-tigerlake-smp1" % guest,
                  ["--subarch", "amd64", "--emulator", "bochs", "--bochs-cpu", "tigerlake",
                   "--smp", "1", "--l0", guest, "--cmdline",
                   "serial=115200,8n1,0x3f8 lhv.l0=1 lhv.l0.nested=1", "--l0-cmdline",
                   "serial=115200,8n1,0x3f8 lhv.tests=" + L0_NESTED_CTL_GLOBS] +
                  [a for t in L0_NESTED_CTL_TESTS for a in ("--require-pass", t)])
             for guest in ("amd64", "i386")] + [
             # IA32_FEATURE_CONTROL left unlocked to the guest (firmware that does not
             # lock it): the guest's VMXON before it locks the MSR must raise #GP(0)
             # (kvm-unit-tests' test_vmx_feature_control), then VMX works as ever
             Case("l0-nested-fc-%s-bochs-tigerlake-smp1" % guest,
                  ["--subarch", "amd64", "--emulator", "bochs", "--bochs-cpu", "tigerlake",
                   "--smp", "1", "--l0", guest, "--cmdline",
                   "serial=115200,8n1,0x3f8 lhv.l0=1 lhv.l0.nested=1 lhv.l0.feature-control=unlocked",
                   "--l0-cmdline", "serial=115200,8n1,0x3f8 "
                   "lhv.tests=vmx/vmxon,vmx/feature-control-unlocked,vmx/vmcall-roundtrip",
                   "--require-pass", "vmx/feature-control-unlocked", "--require-pass", "vmx/vmxon",
                   "--require-pass", "vmx/vmcall-roundtrip"])
             for guest in ("amd64", "i386")] + [
             # the whole suite as L1 (issue #20: an amd64 L1 with 2 CPUs, an i386 L1 with
             # 1): its SUMMARY with 0 FAIL; a Bochs deviation in how Bochs runs L2 (VMCS02)
             # XFAILs "through LHV's L0" (docs/l0-deviations.md, last column, which
             # check_deviations.py holds these logs to)
             Case("l0-nested-whole-%s-bochs-tigerlake-smp%d" % (guest, smp),
                  ["--subarch", "amd64", "--emulator", "bochs", "--bochs-cpu", "tigerlake",
                   "--smp", str(smp), "--l0", guest, "--timeout", "300", "--cmdline",
                   "serial=115200,8n1,0x3f8 lhv.l0=1 lhv.l0.nested=1", "--l0-cmdline",
                   "serial=115200,8n1,0x3f8"] +
                  [a for t in L0_NESTED_TESTS + L0_NESTED_WHOLE_TESTS
                   for a in ("--require-pass", t)])
             for guest, smp in (("amd64", 2), ("i386", 1))] + [
             # the guest's first instruction reads the hidden range: FATAL naming it
             Case("l0-amd64-bochs-hidden-access",
                  ["--subarch", "amd64", "--emulator", "bochs", "--bochs-cpu", "tigerlake",
                   "--l0", "amd64", "--cmdline",
                   "serial=115200,8n1,0x3f8 lhv.l0=1 lhv.inject=l0-hidden-access",
                   "--expect-fatal", r"guest on CPU 0 touched guest-physical 0x[0-9a-f]+ "
                   r"\(read\), which is not its memory.*guest RIP 0x7000"])]
    cases += [l0_nested_case(*c, full=True) for c in L0_NESTED_FULL]
    cases += [l0_nested_smp_case("amd64"), l0_nested_smp_case("i386", full=True)]
    cases += [
        bad_case("l0-no-guest", "amd64", "direct", "lhv.l0=1: no guest kernel",
                 ["--l0", "amd64", "--l0-no-guest"]),
        bad_case("l0-not-multiboot", "amd64", "direct", "lhv.l0=1: module 1 .* is not a "
                 "multiboot kernel", ["--l0", "amd64", "--l0-kernel",
                                      os.path.join(bin_dir, "hypervisor-x86-amd64.bin")]),
        bad_case("l0-does-not-fit", "amd64", "direct", "lhv.l0=1: the guest kernel does not "
                 "fit", ["--l0", "amd64", "--l0-kernel", bad_file(work, "l0-far", "amd64")]),
        bad_case("l0-on-i386", "i386", "direct", "lhv.l0=1: the L0 is amd64 only",
                 ["--l0", "amd64"]),
        # after the platform's bring-up (timer calibration): a later deadline
        Case("bad-amd64-direct-l0-no-vmx",
             ["--subarch", "amd64", "--boot", "direct", "--timeout", BAD_INPUT_TIMEOUT,
              "--l0", "amd64", "--expect-fatal", "lhv.l0=1: the L0 needs VMX"], False, 10.0),
    ]
    return cases


def fault_cases():
    """Faults caused on purpose (lhv.inject=): each must end in the exception
    report and a FATAL naming the exception and the CPU, then the power-off."""
    def case(name, sub, inject, regex, extra=()):
        return Case("fault-%s-%s" % (sub, name),
                    ["--subarch", sub, "--cmdline", "lhv.inject=" + inject,
                     "--expect-fatal", regex] + list(extra))
    cases = []
    for sub in test3.SUBARCHS:
        cases.append(case("bsp", sub, "bsp-fault", r"exception #PF .* on CPU 0",
                          ["--boot", "direct"]))
        cases.append(case("double-fault", sub, "double-fault", r"exception #DF .* on CPU 0",
                          ["--boot", "direct"]))
    cases.append(case("ap", "amd64", "ap-fault", r"exception #PF .* on CPU 1",
                      ["--boot", "direct", "--smp", "2"]))
    cases.append(case("exit-handler", "amd64", "exit-handler-fault", r"exception #PF .* on CPU 0",
                      ["--emulator", "bochs"]))
    cases.append(Case("fault-amd64-phantom-cpu",
                      ["--subarch", "amd64", "--boot", "direct", "--smp", "2",
                       "--cmdline", "lhv.inject=phantom-cpu",
                       "--expect-fail", "smp/all-cpus-online:APIC ID 254"]))
    cases.append(case("lost-cpu", "i386", "ap-hang", r"reported CPU 1 \(APIC ID 1\) lost",
                      ["--boot", "direct", "--smp", "2"]))
    return cases


def robust_cases():
    """Runs that go wrong must end by themselves (issue 15 sections 2 and 7): a hang
    on the BSP with interrupts off (QEMU: only the deadline's NMI backstop reaches it),
    a guest spinning with interrupts off (Bochs: the timer tick exits the guest), each
    with lhv.test-timeout=1 and within a short timeout; vmr() of a field the CPU lacks
    ends in FATAL, not a value, and says it needs VMX where there is none."""
    cases = []
    for sub in test3.SUBARCHS:
        cases.append(Case("hang-%s-bsp-irqs-off" % sub,
                          ["--subarch", sub, "--boot", "direct", "--timeout", "20",
                           "--cmdline", "lhv.inject=bsp-hang lhv.test-timeout=1",
                           "--expect-fatal", r"test inject/bsp-hang still running after 1 s: "
                           r"cpu 0 rip 0x[0-9a-f]+ .*on the host \(seen by the NMI backstop\)"],
                          fatal_within=10))
        cases.append(Case("hang-%s-guest-bochs" % sub,
                          ["--subarch", sub, "--emulator", "bochs", "--timeout", "60",
                           "--cmdline", "lhv.inject=guest-hang lhv.test-timeout=1",
                           "--expect-fatal", r"test inject/guest-hang still running after 1 s: "
                           r"cpu 0 rip 0x[0-9a-f]+ .*in a guest"]))
        cases.append(Case("vmread-%s-unsupported-bochs" % sub,
                          ["--subarch", sub, "--emulator", "bochs", "--timeout", "60",
                           "--cmdline", "lhv.inject=vmread-unsupported", "--expect-fatal",
                           r"VMREAD of field 0x[0-9a-f]+ failed \(VMfailValid, error 12"]))
    cases.append(Case("vmread-amd64-no-vmx",
                      ["--subarch", "amd64", "--boot", "direct", "--timeout", BAD_INPUT_TIMEOUT,
                       "--cmdline", "lhv.inject=vmread-unsupported",
                       "--expect-fatal", r"lhv.inject=vmread-unsupported needs VMX"]))
    return cases


def fuzz_cases():
    """The VM-entry fuzzer (issue 18): at length on tigerlake, one of its
    trials replayed, the harness shown to FAIL with a check taken out of
    the model, and (make test-full) every Bochs model with VMX at 200,000
    trials (their allowed settings differ, so their reachable checks do)."""
    cases = []
    tl = ["--emulator", "bochs", "--bochs-cpu", "tigerlake"]
    def replay(name, sub, trial, known=True):
        """lhv.fuzz.replay=S:T alone; known: it must meet its one known Bochs deviation"""
        return Case("fuzz-%s-bochs-replay%s" % (sub, name),
                    ["--subarch", sub] + tl + ["--cmdline",
                     "lhv.tests=vmx/fuzz-entry lhv.fuzz.replay=" + trial] +
                    (["--require-xfail", "vmx/fuzz-entry:^XFAIL: vmx/fuzz-entry: 1 disagreements"]
                     if known else []))
    # seed 1's trial 1098 on amd64 met a known Bochs deviation (pending debug
    # exceptions bits 63:32 not checked) in the campaign: it must meet it again
    cases.append(replay("", "amd64", "1:1098"))
    # two of LHV's own, found by seeds 2-4 (docs/l0-deviations.md, "The
    # fuzzer's findings that were LHV's"): TR's L bit (reserved) compared
    # after entry, and an MSR-load area moved onto memory naming MSR 0,
    # which the model took as loadable; each replay FAILed before the fix
    cases.append(replay("-tr-l", "i386", "4:680", known=False))
    cases.append(replay("-msr-area", "amd64", "2:7344"))
    # two Bochs deviations the event edges found, each FAILed before it was
    # known: an NMI injected with virtual NMIs under blocking by NMI, entered
    # (amd64 seed 4; the check commented out), and an entry with blocking by
    # MOV SS and the timer at 0 that runs a guest instruction before the
    # timer's exit (i386 seed 2)
    cases.append(replay("-vnmi", "amd64", "4:727"))
    cases.append(replay("-shadow", "i386", "2:6728"))
    # Bochs' skipped SS checks followed by an MSR-loading failure (exit 34),
    # which FAILed the 200,000-trial runs before the explanation took it
    cases.append(replay("-ss-msr", "amd64", "1:167010"))
    for sub in test3.SUBARCHS:
        # seed 0: every single-bit change of the base state, alone
        cases.append(Case("fuzz-%s-bochs-sweep" % sub,
                          ["--subarch", sub] + tl + ["--cmdline",
                           "lhv.tests=vmx/fuzz-entry lhv.fuzz.seed=0"]))
        if sub == "amd64": # and its verdict can fail
            cases.append(Case("fuzz-amd64-bochs-sweep-break",
                              ["--subarch", sub] + tl + ["--cmdline",
                               "lhv.tests=vmx/fuzz-entry lhv.fuzz.seed=0 lhv.fuzz.break=ctl.pin.allowed",
                               "--expect-fail", "vmx/fuzz-entry:disagreements with the model"]))
        # 20000 trials per subarch; a disagreement the deviation list does
        # not explain FAILs
        cases.append(Case("fuzz-%s-bochs-20k" % sub,
                          ["--subarch", sub] + tl + ["--timeout", "180",
                           "--cmdline", "lhv.tests=vmx/fuzz-entry lhv.fuzz=20000"]))
        # the verdict can fail: guest.cr0.fixed taken out of the model, the
        # L0's exit 33 for a CR0 outside the fixed bits is a disagreement
        cases.append(Case("fuzz-%s-bochs-break" % sub,
                          ["--subarch", sub] + tl + ["--cmdline",
                           "lhv.tests=vmx/fuzz-entry lhv.fuzz=1000 lhv.fuzz.break=guest.cr0.fixed",
                           "--expect-fail", "vmx/fuzz-entry:disagreements with the model"]))
    # Bochs 3.0 sapphire_rapids, its one model with 5-level paging: a guest
    # CR4.LA57 other than the host's must not be entered (Bochs panics) and
    # the addresses canonical at 57 bits, not at the 48 of Bochs' 4-level
    # host, are its known deviation (docs/l0-deviations.md), which
    # vmx/entry-canonical-la57 meets too
    cases.append(Case("fuzz-amd64-bochs3-sapphire_rapids",
                      ["--subarch", "amd64", "--emulator", "bochs", "--bochs-version", "3.0",
                       "--bochs-cpu", "sapphire_rapids", "--timeout", "180", "--cmdline",
                       "lhv.tests=vmx/fuzz-entry,vmx/entry-canonical-la57 lhv.fuzz=20000",
                       "--require-xfail", "vmx/fuzz-entry:each a known Bochs",
                       "--require-xfail", "vmx/entry-canonical-la57:checked at 48 bits"]))
    for model in ("corei7_skylake_x",) + BOCHS_VMX_MODELS:
        for sub in test3.SUBARCHS:
            cases.append(Case("fuzz-%s-bochs-%s-200k" % (sub, model),
                              ["--subarch", sub, "--emulator", "bochs", "--bochs-cpu", model,
                               "--timeout", "900", "--cmdline",
                               "lhv.tests=vmx/fuzz-entry lhv.fuzz=200000"], full=True))
            cases.append(Case("fuzz-%s-bochs-%s-sweep" % (sub, model),
                              ["--subarch", sub, "--emulator", "bochs", "--bochs-cpu", model,
                               "--cmdline", "lhv.tests=vmx/fuzz-entry lhv.fuzz.seed=0"],
                              full=True))
    cases.append(Case("fuzz-amd64-bochs-tigerlake-200k",
                      ["--subarch", "amd64"] + tl + ["--timeout", "900", "--cmdline",
                       "lhv.tests=vmx/fuzz-entry lhv.fuzz=200000"], full=True))
    cases.append(Case("fuzz-i386-bochs-tigerlake-200k",
                      ["--subarch", "i386"] + tl + ["--timeout", "900", "--cmdline",
                       "lhv.tests=vmx/fuzz-entry lhv.fuzz=200000"], full=True))
    return cases


def all_cases(work, bin_dir):
    return (bochs_cases() + bochs3_cases() + boot_cases() + fault_cases() + robust_cases() + fuzz_cases() +
            bad_input_cases(work, bin_dir) + l0_cases(work, bin_dir) + full_cases())


# Offsets of two fields of the image header (xmhf/include/image.h)
IMAGE_PACKED_OFFSET = 36
IMAGE_CRC32 = 80


def make_bad_files(work, bin_dir):
    """The corrupt modules: the first half of the image (truncated), the
    image with its middle byte flipped (CRC mismatch), and one whose packed
    runtime starts with a match from before the start, CRC made right (so
    init's unpacking must find it)."""
    os.makedirs(os.path.join(work, "inputs"), exist_ok=True)
    for sub in test3.SUBARCHS:
        path = os.path.join(bin_dir, "hypervisor-x86-%s.bin" % sub)
        if not os.path.isfile(path):
            continue  # the cases that need it fail with test3's message
        with open(path, "rb") as f:
            image = bytearray(f.read())
        with open(bad_file(work, "truncated", sub), "wb") as f:
            f.write(image[:len(image) // 2])
        with open(bad_file(work, "empty", sub), "wb") as f:
            pass
        with open(bad_file(work, "onebyte", sub), "wb") as f:
            f.write(image[:1])
        packed = struct.unpack_from("<I", image, IMAGE_PACKED_OFFSET)[0]
        bad = bytearray(image)
        bad[packed:packed + 3] = b"\x00\xff\xff"  # 0 literals, a match from 65535 back
        struct.pack_into("<I", bad, IMAGE_CRC32, 0)
        struct.pack_into("<I", bad, IMAGE_CRC32, zlib.crc32(bytes(bad)))
        with open(bad_file(work, "badpacked", sub), "wb") as f:
            f.write(bad)
        image[len(image) // 2] ^= 0xff
        with open(bad_file(work, "flipped", sub), "wb") as f:
            f.write(image)
    # A multiboot kernel (a.out kludge, flags bit 16) that wants to load at
    # 0xf0000000, where no guest RAM is: LHV as L0 must refuse it
    magic, flags = 0x1badb002, 0x00010003
    header = struct.pack("<8I", magic, flags, -(magic + flags) & 0xffffffff, 0xf0000000,
                         0xf0000000, 0, 0xf0100000, 0xf0000020)
    with open(bad_file(work, "l0-far", "amd64"), "wb") as f:
        f.write(header + b"\xf4" * 64)


def run_case(case, work, bin_dir):
    """Runs one case; returns (ok, seconds, reason, test3 argv)."""
    argv = case.args + ["--xmhf-bin", bin_dir, "--name", "matrix-" + case.name,
                        "--work-dir", os.path.join(work, case.name)]
    start = time.monotonic()
    try:
        result = test3.run_once(test3.parse_args(argv))
    except test3.SetupError as e:
        return False, time.monotonic() - start, str(e), argv
    if result.ok and case.fatal_within and result.end.time > case.fatal_within:
        return False, result.wall, "FATAL came %.2f s after the emulator started, limit %g s" % (
            result.end.time, case.fatal_within), argv
    return result.ok, result.wall, result.first_failure(), argv


def shown(path):
    """path relative to the current directory when it lies below it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def rerun_command(argv, work_dir):
    """The test3.py command that repeats a case; written to rerun.sh in the
    case's work dir, and returned as is unless it is too long to read."""
    command = shlex.join([shown(TEST3_PATH)] + argv + ["--verbose"])
    os.makedirs(work_dir, exist_ok=True)
    script = os.path.join(work_dir, "rerun.sh")
    with open(script, "w") as f:
        f.write("cd %s && %s\n" % (shlex.quote(os.getcwd()), command))
    return command if len(command) <= 240 else "sh " + shown(script)


def report(case, outcome, work):
    ok, seconds, reason, argv = outcome
    if ok:
        return "PASS matrix/%s %.2fs" % (case.name, seconds)
    rerun = rerun_command(argv, os.path.join(work, case.name))
    return "FAIL matrix/%s %.2fs: %s\n    rerun: %s" % (case.name, seconds, reason, rerun)


def select(cases, args):
    if not args.full:
        cases = [c for c in cases if not c.full]
    if args.quick:
        cases = [c for c in cases if c.quick]
    if args.filter:
        cases = [c for c in cases if args.filter in c.name]
    return cases


def main(argv=None):
    p = argparse.ArgumentParser(description="Boot matrix for LHV under QEMU (make test).")
    p.add_argument("--quick", action="store_true",
                   help="a small subset: one case per subarch and boot method, 2 bad inputs")
    p.add_argument("--full", action="store_true",
                   help="add the long cases (make test-full): every Bochs CPU model with VMX, "
                        "suite repetitions, 8 CPUs with 8 GiB")
    p.add_argument("--list", action="store_true", help="list the selected cases and exit")
    p.add_argument("--filter", metavar="SUBSTR", help="only cases whose name contains SUBSTR")
    p.add_argument("-j", type=int, default=2, metavar="N",
                   help="cases run at once (default 2: QEMU TCG needs about one core each)")
    p.add_argument("--work-dir", metavar="DIR",
                   default=os.path.join(ROOT, "build", "test3", "matrix"),
                   help="logs, ISOs and corrupt inputs (default build/test3/matrix)")
    p.add_argument("--xmhf-bin", metavar="DIR", default=ROOT,
                   help="directory holding the built init and hypervisor files "
                        "(default: the repository root)")
    args = p.parse_args(argv)
    work, bin_dir = os.path.abspath(args.work_dir), os.path.abspath(args.xmhf_bin)
    cases = select(all_cases(work, bin_dir), args)
    if args.list:
        for case in cases:
            print("%-36s %s" % (case.name, shlex.join(case.args)))
        return 0
    if not cases:
        print("matrix: no case selected (see --list)", file=sys.stderr)
        return 1
    make_bad_files(work, bin_dir)
    start = time.monotonic()
    passed, failed = 0, []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        futures = {pool.submit(run_case, case, work, bin_dir): case for case in cases}
        for future in concurrent.futures.as_completed(futures):
            outcome = future.result()
            print(report(futures[future], outcome, work), flush=True)
            if outcome[0]:
                passed += 1
            else:
                failed.append(futures[future].name)
    print("matrix: %d cases in %.1f s wall, -j %d" % (len(cases), time.monotonic() - start, args.j))
    if failed:
        print("failed: " + ", ".join(sorted(failed)))
    print("%d passed, %d failed, 0 skipped" % (passed, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
