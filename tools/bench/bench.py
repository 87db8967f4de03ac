#!/usr/bin/python3
"""LHV benchmarks (`make bench`): build times, the edit-to-verdict loop,
image sizes, boot milestones (against a trivial multiboot kernel booted the
same way), VM-exit costs and the LAPIC timer calibration. Prints a table and
the targets' verdicts and writes bench/results.json; --baseline FILE adds
each figure's ratio to an earlier run. docs/performance.md says what every
figure and target means.

Standard library only. Boots go through the runner's run_once (the package
.jenkins/lhvtest behind .jenkins/test3.py), whose serial timestamps are
seconds since the emulator's start; KVM rows only after its probe_kvm() said
this host's KVM runs LHV."""

import argparse
import datetime
import gzip
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, ".jenkins"))
import lhvtest  # noqa: E402  (the runner's package, .jenkins/lhvtest: what test3.py runs)

SUBARCHS = ("amd64", "i386")
SECTIONS = ("build", "sizes", "boot", "vmx", "timer", "fuzz", "nested")
SCHEMA = "lhv-bench/1"
QEMU_LAPIC_MHZ = 1000.0      # QEMU's emulated LAPIC timer runs at 1 GHz

BANNER = re.compile(r"^LHV \d")
L0_EXITS = re.compile(r"^L0: exits: (\d+) in all")  # LHV as L0, after its guest's end
ONLINE = re.compile(r"^smp: (\d+) of (\d+) CPUs online")
TIMER = re.compile(r"^timer: LAPIC timer ([0-9.]+) MHz by the PIT, ([0-9.]+) MHz by the ACPI PM")
VMCALL = re.compile(r"^vmx: VMCALL round trip on CPU 0: min (\d+), median (\d+) TSC ticks")
BENCH_EXIT = re.compile(r"^bench: ([a-z0-9-]+) round trip on CPU 0: min (\d+), median (\d+)")
# vmx/fuzz-entry's first and last lines, and its path length (docs/fuzzing.md)
FUZZ_START = re.compile(r"^fuzz: \d+ trials from seed \d+")
FUZZ_END = re.compile(r"^fuzz: (\d+) trials, \d+ disagreements")
FUZZ_TICKS = re.compile(r"^fuzz: (\d+) TSC ticks per trial")


def load_test3():
    """The runner the bench boots through; tests/system/test_tools.py hands
    main() a stand-in by replacing this function."""
    return lhvtest


# ---------------------------------------------------------------------------
# Figures: name -> samples, with a unit and a direction

class Figures:
    def __init__(self):
        self.data = {}      # name -> {"unit", "runs": [...]}, insertion order

    def add(self, name, unit, value):
        entry = self.data.setdefault(name, {"unit": unit, "runs": []})
        if value is not None:
            entry["runs"].append(value)

    def missing(self, name, unit, why):
        """A figure a run failed to give: the bench exits non-zero."""
        entry = self.data.setdefault(name, {"unit": unit, "runs": []})
        entry.setdefault("notes", []).append(why)

    def note(self, name, unit, text):
        """A word on how a figure was measured (the table's row shows it)."""
        self.data.setdefault(name, {"unit": unit, "runs": []}).setdefault("notes", []).append(text)

    def not_measured(self, name, unit, why):
        """A figure this host cannot give (no working KVM, ...): a row that
        says why, not a failure of the bench."""
        entry = self.data.setdefault(name, {"unit": unit, "runs": []})
        entry["skipped"] = True
        entry.setdefault("notes", []).append("not measured: " + why)

    def summary(self):
        out = {}
        for name, e in self.data.items():
            runs = e["runs"]
            item = {"unit": e["unit"], "runs": runs}
            if runs:
                item.update(min=min(runs), median=statistics.median(runs), max=max(runs))
            else:
                item.update(min=None, median=None, max=None)
            if e.get("notes"):
                item["notes"] = e["notes"]
            if e.get("skipped"):
                item["skipped"] = True
            out[name] = item
        return out


def timed(cmd, cwd, env=None):
    """Runs cmd quietly; returns its wall time in seconds, raises on failure."""
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        tail = p.stdout.decode(errors="replace")[-2000:]
        raise RuntimeError("%s failed in %s:\n%s" % (" ".join(cmd), cwd, tail))
    return dt


# ---------------------------------------------------------------------------
# build: in a private copy of the working tree, so the tree's own build (and
# anyone editing it) is left alone

def copy_tree(dest):
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, stdout=subprocess.PIPE, check=True).stdout.split(b"\0")
    for f in files:
        if not f:
            continue
        rel = f.decode()
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src):          # deleted in the working tree
            continue
        dst = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
    git = os.path.join(ROOT, ".git")
    if os.path.isdir(git):
        shutil.copytree(git, os.path.join(dest, ".git"), symlinks=True)
    else:   # a worktree's .git file, naming its repository: git reads only
        shutil.copy2(git, os.path.join(dest, ".git"))


# The edit -> verdict loop: the file it touches, the VMX test it boots.
EDIT_FILE = "lhv/suite/vmx/basics/vmxon_vmcall.c"
EDIT_TEST = "vmx/vmcall-roundtrip"
EDIT_SUBARCH = "amd64"


def edit_to_verdict(figs, tree, make, env, test3):
    """Touches EDIT_FILE, rebuilds its subarch (`make SUBARCHS=amd64`, as
    test3.py --build does) and boots EDIT_TEST alone in Bochs (1 CPU, the
    GRUB ISO) until its SUMMARY arrives."""
    t0 = time.monotonic()
    os.utime(os.path.join(tree, EDIT_FILE))
    figs.add("build/edit-rebuild", "s", timed(make + ["SUBARCHS=" + EDIT_SUBARCH], tree, env))
    booted = time.monotonic()
    name = "build/edit-to-verdict-bochs-%s" % EDIT_SUBARCH
    try:
        config = test3.parse_args([
            "--subarch", EDIT_SUBARCH, "--emulator", "bochs", "--xmhf-bin", tree,
            "--cmdline", test3.grub_cfg_cmdline(EDIT_SUBARCH) + " lhv.tests=" + EDIT_TEST,
            "--require-pass", EDIT_TEST, "--name", "bench-edit",
            "--work-dir", os.path.join(tree, "build", "bench-edit")])
        result = test3.run_once(config)
    except test3.SetupError as e:
        figs.missing(name, "s", "cannot start: %s" % e)
        return
    if not result.ok:
        figs.missing(name, "s", "run failed: %s" % (result.first_failure() or "no SUMMARY"))
        return
    # run_once's wall time = the ISO build + the emulator's whole run; the
    # serial timestamps count from the emulator's start.
    to_summary = result.wall - result.outcome.exit_time + result.end.time
    figs.add(name, "s", round(booted - t0 + to_summary, 3))


def bench_build(figs, runs, log, test3):
    jobs = str(os.cpu_count() or 1)
    tmp = tempfile.mkdtemp(prefix="lhv-bench-")
    try:
        copy_tree(tmp)
        make = ["make", "--no-print-directory", "-j" + jobs]
        # as from a shell: not in the job slots of the make running `make bench`
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS",
                                                               "MAKELEVEL")}
        for i in range(runs):   # round by round, as the boots below
            timed(make + ["clean"], tmp, env)
            figs.add("build/clean-both-subarchs", "s", timed(make + ["all"], tmp, env))
            os.utime(os.path.join(tmp, "lhv", "main.c"))
            figs.add("build/incremental-one-c-file", "s", timed(make + ["all"], tmp, env))
            edit_to_verdict(figs, tmp, make, env, test3)
            timed(make + ["clean"], tmp, env)
            figs.add("build/seed-command-amd64", "s",
                     timed(["./build.sh", "amd64", "--app", "hypapps/helloworld", "--no-ucode"],
                           tmp, env))
            log("build: round %d/%d (clean build, incremental, edit to verdict, seed command)"
                % (i + 1, runs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# sizes: of the tree's root images (make all ran first)

def source_lines(dirs, exts):
    total = 0
    for d in dirs:
        for base, _, names in os.walk(os.path.join(ROOT, d)):
            for n in names:
                if n.endswith(exts):
                    with open(os.path.join(base, n), "rb") as f:
                        total += sum(1 for _ in f)
    return total


def bench_sizes(figs):
    for a in SUBARCHS:
        init = os.path.join(ROOT, "init-x86-%s.bin" % a)
        image = os.path.join(ROOT, "hypervisor-x86-%s.bin" % a)
        figs.add("size/%s/init" % a, "B", os.path.getsize(init))
        figs.add("size/%s/image" % a, "B", os.path.getsize(image))
        figs.add("size/%s/image-gz" % a, "B", os.path.getsize(image + ".gz"))
        out = subprocess.run(["size", os.path.join(ROOT, "runtime-x86-%s.elf" % a)],
                             stdout=subprocess.PIPE, check=True).stdout.decode().splitlines()
        text, data, bss = (int(x) for x in out[1].split()[:3])
        figs.add("size/%s/runtime-text" % a, "B", text)
        figs.add("size/%s/runtime-data" % a, "B", data)
        figs.add("size/%s/runtime-bss" % a, "B", bss)
    figs.add("size/loc/hypervisor", "lines",
             source_lines(["xmhf", "lhv", "hypapps"], (".c", ".h", ".S", ".inc", ".ld")))
    figs.add("size/loc/tools-and-tests", "lines",
             source_lines(["tools", "tests", ".jenkins"], (".c", ".h", ".py", ".sh", ".mk")))


# ---------------------------------------------------------------------------
# boots

L0_LIMIT_X = 1.5  # issue #19: the guest's suite under the L0 against the same suite alone
LHV_MILESTONES = ("banner", "all-cpus-online", "summary", "banner-to-summary")
FLOOR_MILESTONES = ("summary",)     # its one line (GRUB's come first)
VMX_FIGURES = ("vmcall", "cpuid", "rdmsr-bitmap-hit", "ept-violation")
# The VM-entry fuzzer's boots: Bochs tigerlake (make test's model), 1 CPU
FUZZ_TRIALS = 20000
FUZZ_FIGURES = (("trials-per-s", "trials/s"), ("ticks-per-trial", "ticks"))
# (Bochs version, label): Debian's 2.7 and the 3.0 tools/bochs3.sh builds,
# the same ticks, each its own wall-clock rate (3.0 runs them faster)
FUZZ_BOCHS = (("2.7", "bochs-tigerlake-%s-smp1"), ("3.0", "bochs-3.0-tigerlake-%s-smp1"))

# The Bochs builds the Bochs rows run on: (label prefix, extra test3.py
# arguments). The targets judge the first, Debian's Bochs 2.7; another
# version is one more entry with its own prefix.
BOCHS_BUILDS = (("bochs", []),)

# The floor: a trivial multiboot kernel (tools/bench/floor) that prints one
# line and powers off, booted through the same GRUB ISO as LHV.
FLOOR_SRC = os.path.join(ROOT, "tools", "bench", "floor")
FLOOR_DIR = os.path.join(ROOT, "build", "bench", "floor")


class Boot:
    """One emulator configuration, booted `runs` times. sections: which
    sections read its serial log; milestones: its boot/ figures; kvm: it
    needs this host's KVM (probed first)."""

    def __init__(self, label, args, sections, milestones=LHV_MILESTONES, kvm=False):
        self.label = label
        self.args = args
        self.sections = sections
        self.milestones = milestones
        self.kvm = kvm

    def rows(self, section):
        """(name, unit) of the figures the section reads from this boot."""
        if section == "boot":
            return [("boot/%s/%s" % (self.label, m), "s") for m in self.milestones]
        if section == "vmx":
            return [("vmx/%s/%s" % (self.label, f), "ticks") for f in VMX_FIGURES]
        if section == "fuzz":
            return [("fuzz/%s/%s" % (self.label, f), u) for f, u in FUZZ_FIGURES]
        return [("timer/%s/lapic-mhz-pit" % self.label, "MHz")]


def boot_configs(quick):
    boots = []
    smps = (1, 4) if quick else (1, 4, 8)
    mems = ("2G",) if quick else ("2G", "8G")
    for boot in ("grub", "direct"):
        for smp in smps:
            boots.append(Boot("qemu-%s-amd64-smp%d-512M" % (boot, smp),
                              ["--subarch", "amd64", "--boot", boot, "--smp", str(smp)],
                              ("boot", "timer")))
        for mem in mems:
            boots.append(Boot("qemu-%s-amd64-smp1-%s" % (boot, mem),
                              ["--subarch", "amd64", "--boot", boot, "--memory", mem],
                              ("boot",)))
        if not quick:
            boots.append(Boot("qemu-%s-i386-smp1-512M" % boot,
                              ["--subarch", "i386", "--boot", boot], ("boot", "timer")))
    for prefix, extra in BOCHS_BUILDS:
        for a in (("amd64",) if quick else SUBARCHS):
            bochs = ["--subarch", a, "--emulator", "bochs"] + extra
            boots.append(Boot("%s-%s-smp1" % (prefix, a), bochs, ("boot", "vmx")))
            boots.append(Boot("%s-floor-%s" % (prefix, a), bochs + ["--xmhf-bin", FLOOR_DIR],
                              ("boot",), FLOOR_MILESTONES))
        boots.append(Boot("%s-amd64-smp2" % prefix, ["--subarch", "amd64", "--emulator", "bochs",
                                                     "--smp", "2"] + extra, ("boot",)))
    boots += bochs_version_boots()
    for version, label in FUZZ_BOCHS:
        for a in (("amd64",) if quick else SUBARCHS):
            boots.append(Boot(label % a,
                              ["--subarch", a, "--emulator", "bochs", "--bochs-cpu", "tigerlake",
                               "--bochs-version", version, "--timeout", "300", "--cmdline",
                               "lhv.tests=vmx/fuzz-entry lhv.fuzz=%d" % FUZZ_TRIALS],
                              ("fuzz",), milestones=()))
    boots.append(Boot("kvm-direct-amd64-smp1",
                      ["--subarch", "amd64", "--boot", "direct", "--cpu", "host",
                       "--extra-qemu-args=-enable-kvm"], ("boot", "vmx", "timer"), kvm=True))
    return boots


def build_floor(out=FLOOR_DIR):
    """Builds the floor kernel into out as init-x86-SUBARCH.bin, beside
    copies of the hypervisor images GRUB loads as the module: its ISO is
    LHV's with another kernel. Raises RuntimeError."""
    os.makedirs(out, exist_ok=True)
    cc = ["gcc", "-m32", "-march=i686", "-ffreestanding", "-fno-pic", "-fno-stack-protector",
          "-fno-asynchronous-unwind-tables", "-O2", "-Wall", "-Wextra", "-Werror", "-c"]
    objs = []
    for src in ("entry.S", "floor.c"):
        objs.append(os.path.join(out, os.path.splitext(src)[0] + ".o"))
        timed(cc + ["-o", objs[-1], os.path.join(FLOOR_SRC, src)], ROOT)
    elf = os.path.join(out, "floor.elf")
    timed(["ld", "-m", "elf_i386", "-nostdlib", "-static", "--build-id=none", "-z", "noexecstack",
           "--no-warn-rwx-segments", "-T", os.path.join(FLOOR_SRC, "floor.ld"), "-o", elf] + objs,
          ROOT)
    for a in SUBARCHS:
        shutil.copyfile(elf, os.path.join(out, "init-x86-%s.bin" % a))
        module = "hypervisor-x86-%s.bin.gz" % a
        shutil.copyfile(os.path.join(ROOT, module), os.path.join(out, module))


def bochs_version_boots():
    """The whole suite on Bochs 2.7 and 3.0 in the same run (issue #16):
    tigerlake (a model both have), amd64, 1 CPU; its summary figure is the
    suite's time on each version."""
    return [Boot("bochs-%s-amd64-tigerlake-smp1" % version,
                 ["--subarch", "amd64", "--emulator", "bochs", "--bochs-version", version,
                  "--bochs-cpu", "tigerlake"], ("boot",))
            for version in ("2.7", "3.0")] + [
        # The same suite as the guest of LHV as L0 (docs/l0.md): its summary
        # figure against the one above, and the L0's exit count
        Boot("bochs-2.7-l0-amd64-tigerlake-smp1",
             ["--subarch", "amd64", "--emulator", "bochs", "--bochs-version", "2.7",
              "--bochs-cpu", "tigerlake", "--l0", "amd64"], ("boot",))]


def first_time(lines, pattern):
    for t, text in lines:
        if pattern.search(text):
            return t
    return None


def first_match(lines, pattern):
    for _, text in lines:
        m = pattern.search(text)
        if m:
            return m
    return None


def boot_times(result):
    """The boot milestones of a run, in seconds from the emulator's start
    (banner-to-summary: LHV's own part, a difference)."""
    lines = result.lines
    banner = first_time(lines, BANNER)
    summary = result.end.time if result.end is not None and result.end.kind == "SUMMARY" \
        else None
    return {"banner": banner, "all-cpus-online": first_time(lines, ONLINE), "summary": summary,
            "banner-to-summary": None if banner is None or summary is None else summary - banner}


def record_boot(figs, boot, result, only):
    lines = result.lines
    ok = result.ok
    if "boot" in only and "boot" in boot.sections:
        times = boot_times(result)
        for name in boot.milestones:
            t = times[name]
            key = "boot/%s/%s" % (boot.label, name)
            if t is None or not ok:
                figs.missing(key, "s", "run failed: %s" % (result.first_failure()
                                                           or "milestone missing"))
            else:
                figs.add(key, "s", round(t, 3))
    m = first_match(lines, L0_EXITS)
    if "boot" in only and "boot" in boot.sections and m:
        figs.add("l0/%s/exits" % boot.label, "exits", int(m.group(1)))
    if "vmx" in only and "vmx" in boot.sections:
        key = "vmx/%s/" % boot.label
        m = first_match(lines, VMCALL)
        if m:
            figs.add(key + "vmcall", "ticks", int(m.group(2)))
        else:
            figs.missing(key + "vmcall", "ticks", "no VMCALL line")
        for _, text in lines:
            m = BENCH_EXIT.search(text)
            if m:
                figs.add(key + m.group(1), "ticks", int(m.group(3)))
    if "fuzz" in only and "fuzz" in boot.sections:
        key = "fuzz/%s/" % boot.label
        start = first_time(lines, FUZZ_START)
        end = first_match(lines, FUZZ_END)
        t_end = first_time(lines, FUZZ_END)
        ticks = first_match(lines, FUZZ_TICKS)
        if start is None or end is None or t_end is None or t_end <= start:
            figs.missing(key + "trials-per-s", "trials/s", "no fuzz lines")
        else:  # wall time between the serial timestamps of its first and last lines
            figs.add(key + "trials-per-s", "trials/s", round(int(end.group(1)) / (t_end - start)))
        if ticks:
            figs.add(key + "ticks-per-trial", "ticks", int(ticks.group(1)))
        else:
            figs.missing(key + "ticks-per-trial", "ticks", "no ticks line")
    if "timer" in only and "timer" in boot.sections:
        key = "timer/%s/" % boot.label
        m = first_match(lines, TIMER)
        if not m:
            figs.missing(key + "lapic-mhz-pit", "MHz", "no timer line")
            return
        pit, pm = float(m.group(1)), float(m.group(2))
        figs.add(key + "lapic-mhz-pit", "MHz", pit)
        figs.add(key + "lapic-mhz-pmtimer", "MHz", pm)
        if boot.label.startswith("qemu"):
            for clock, mhz in (("pit", pit), ("pmtimer", pm)):
                figs.add(key + "%s-error-vs-1ghz-ppm" % clock, "ppm",
                         round((mhz - QEMU_LAPIC_MHZ) / QEMU_LAPIC_MHZ * 1e6, 1))
        figs.add(key + "pit-vs-pmtimer-ppm", "ppm", round((pit - pm) / pm * 1e6, 1))


def drop(figs, boots, only, what, why, sections=None):
    """Takes the sections (all by default) of the boots `what` selects out
    of the run; each of their rows says why. Returns the boots left."""
    left = []
    for b in boots:
        if what(b):
            lost = [s for s in (sections or b.sections) if s in b.sections and s in only]
            for section in lost:
                for name, unit in b.rows(section):
                    figs.not_measured(name, unit, why)
            b.sections = tuple(s for s in b.sections if s not in lost)
        if set(b.sections) & set(only):
            left.append(b)
    return left


def probe_kvm(figs, boots, only, test3, log):
    """Probes this host's KVM once (test3.probe_kvm) when a KVM row is asked
    for: rows it cannot run say why; the rest of the bench runs."""
    if not any(b.kvm for b in boots):
        return boots
    guest, vmx = test3.probe_kvm("amd64", ROOT, os.path.join(ROOT, "build", "bench", "kvm-probe"))
    if guest:
        log("kvm: probe failed, KVM rows not measured: %s" % guest)
        return drop(figs, boots, only, lambda b: b.kvm, "KVM probe failed: " + guest)
    if vmx:
        log("kvm: probe found no nested VMX, KVM vmx rows not measured: %s" % vmx)
        return drop(figs, boots, only, lambda b: b.kvm, "KVM probe failed: " + vmx, ("vmx",))
    return boots


def bench_boots(figs, only, runs, quick, log, test3):
    boots = [b for b in boot_configs(quick) if set(b.sections) & set(only)]
    boots = probe_kvm(figs, boots, only, test3, log)
    if any(b.milestones == FLOOR_MILESTONES for b in boots):
        try:
            build_floor()
        except (RuntimeError, OSError) as e:
            floors = [b for b in boots if b.milestones == FLOOR_MILESTONES]
            for b in floors:
                for name, unit in b.rows("boot"):
                    figs.missing(name, unit, "floor kernel not built: %s" % e)
            boots = [b for b in boots if b not in floors]
    work = os.path.join(ROOT, "build", "bench")
    # Round by round, each configuration once per round: a minute in which
    # the host is slow then costs every configuration one run (which the
    # median drops), not one configuration all its runs, and the ratios
    # between configurations (1 to 8 CPUs, 512M to 8G) stay fair.
    for i in range(runs):
        for b in list(boots):
            argv = b.args + ["--name", "bench-" + b.label,
                             "--work-dir", os.path.join(work, b.label)]
            t0 = time.monotonic()
            try:
                result = test3.run_once(test3.parse_args(argv))
            except test3.SetupError as e:
                log("boot: %-28s run %d/%d: cannot start: %s" % (b.label, i + 1, runs, e))
                for section in set(b.sections) & set(only):
                    for name, unit in b.rows(section):
                        figs.missing(name, unit, "cannot start: %s" % e)
                continue
            log("boot: %-28s run %d/%d: %s in %.2f s%s" % (
                b.label, i + 1, runs, "ok" if result.ok else "FAILED", time.monotonic() - t0,
                "" if result.ok else " (" + (result.first_failure() or "no SUMMARY") + ")"))
            record_boot(figs, b, result, only)
            if result.outcome.timed_out and i + 1 < runs:
                # another hang would cost its whole timeout again
                log("boot: %s hung; not booted again" % b.label)
                boots.remove(b)


# ---------------------------------------------------------------------------
# nested: LHV (L1, the unchanged suite) on LHV as L0 with nested VMX
# (lhv.l0.nested=1, docs/l0.md), against the same tests straight on Bochs in
# the same run: Bochs 2.7 tigerlake, 1 CPU (TSC ticks = instructions)

NESTED_LIMIT_X = 10.0  # issue #20: L1's suite under the L0 against the same suite alone
NESTED_BOCHS = ["--emulator", "bochs", "--bochs-version", "2.7", "--bochs-cpu", "tigerlake",
                "--smp", "1", "--timeout", "300"]
NESTED_L0_CMDLINE = "serial=115200,8n1,0x3f8 lhv.l0=1 lhv.l0.nested=1"
NESTED_GUEST_CMDLINE = "serial=115200,8n1,0x3f8"
NESTED_VMCALL_TEST = "vmx/vmcall-roundtrip"  # prints the VMCALL line the vmx/ rows read


def nested_label(guest, nested, what=""):
    return "bochs-2.7-%s%s-tigerlake-smp1%s" % ("l0-nested-" if nested else "", guest, what)


def nested_args(guest, nested, tests=()):
    """test3.py arguments: the `guest` build straight on Bochs, or (nested)
    as L1 on the amd64 L0 with lhv.l0.nested=1; lhv.tests= from `tests`."""
    cmdline = NESTED_GUEST_CMDLINE + (" lhv.tests=" + ",".join(tests) if tests else "")
    if not nested:
        return ["--subarch", guest] + NESTED_BOCHS + ["--cmdline", cmdline]
    return ["--subarch", "amd64", "--l0", guest] + NESTED_BOCHS + [
        "--cmdline", NESTED_L0_CMDLINE, "--l0-cmdline", cmdline]


def guest_lines(result):
    """The guest's (L1's) serial lines of a run: the L0's ('L0: ') left out."""
    return [(t, x) for t, x in result.lines if not x.startswith("L0: ")]


def run_end(result):
    """How a run ended, in words: the first FATAL (the L0's or the guest's,
    as printed), its SUMMARY, or the runner's first failure."""
    for _, text in result.lines:
        if text.startswith("FATAL: ") or text.startswith("L0: FATAL: "):
            return text
    if result.end is not None and result.end.kind == "SUMMARY":
        return "SUMMARY: " + result.end.text
    return result.first_failure() or "no SUMMARY"


def suite_span(lines, last):
    """Seconds from the guest's banner to the verdict line of test `last`
    (None: to its SUMMARY) in a run's guest lines, and the verdicts up to
    there ({name: kind}, in order); (None, verdicts) without both lines."""
    start, verdicts = first_time(lines, BANNER), {}
    for t, text in lines:
        e = lhvtest.parse_line(text)
        if e is None:
            continue
        if e.kind == "SUMMARY" and last is None:
            return (None if start is None else t - start), verdicts
        if e.kind in lhvtest.VERDICT_KINDS and e.name:
            verdicts.setdefault(e.name, e.kind)
            if e.name == last:
                return (None if start is None else t - start), verdicts
    return None, verdicts


def record_suite(figs, guest, under, why_l0, straight, why_st, said):
    """(b) of one round for one guest: how far L1 got under the L0 decides
    what is timed both ways. Returns the rows' note (added when it differs
    from `said`, the last round's)."""
    suite = "nested/%s/" % guest
    span_l0 = span_st = None
    note, lost = said, "no verdict under the L0"
    if under is not None:
        mine = lhvtest.log_verdicts([x for _, x in guest_lines(under)])[0]
        complete = under.end is not None and under.end.kind == "SUMMARY"
        last = None if complete else (list(mine) or [None])[-1]
        figs.add(suite + "tests-run", "tests", len(mine))
        figs.add(suite + "tests-pass", "tests", sum(1 for k in mine.values() if k == "PASS"))
        if not mine:
            note = "L1 reached no verdict under the L0: " + run_end(under)
        elif complete:
            note = "the whole suite both ways, banner to SUMMARY"
        else:
            note = ("L1 under the L0 stopped early (%s): both ways timed from the banner to the "
                    "verdict of %s, the last of its %d tests" % (run_end(under), last, len(mine)))
        if mine:
            span_l0, _ = suite_span(guest_lines(under), last)
        if straight is not None and mine:
            span_st, theirs = suite_span(guest_lines(straight), last)
            lost = "straight on Bochs, no %s line" % (last or "SUMMARY")
            other = [n for n in mine if theirs.get(n) != mine[n]]
            if other:
                note += "; %d of them with another verdict straight on Bochs (%s)" % (
                    len(other), ", ".join("%s %s/%s" % (n, theirs.get(n, "-"), mine[n])
                                         for n in other[:3]) + (", ..." if len(other) > 3
                                                                else ""))
        if note != said:
            for name, unit in NESTED_SUITE_ROWS:
                figs.note(suite + name, unit, note)
    for key, span, why in (("suite-under-l0", span_l0, why_l0 or "no verdict under the L0"),
                           ("suite-straight", span_st, why_st or lost)):
        if span is None:
            figs.missing(suite + key, "s", why)
        else:
            figs.add(suite + key, "s", round(span, 3))
    if span_l0 is not None and span_st:
        figs.add(suite + "suite-x", "x", round(span_l0 / span_st, 2))
    elif under is None or straight is None:
        figs.missing(suite + "suite-x", "x", why_l0 or why_st)
    return note


NESTED_SUITE_ROWS = (("suite-straight", "s"), ("suite-under-l0", "s"), ("suite-x", "x"),
                     ("tests-run", "tests"), ("tests-pass", "tests"))


def bench_nested(figs, runs, log, test3):
    """(a) vmx/vmcall-roundtrip's VMCALL round trip of an L2 guest under the
    L0 and straight on Bochs; (b) L1's whole suite under the L0 and straight
    on Bochs, both timed from L1's banner to its SUMMARY or, while the run
    under the L0 stops early (a FATAL), to the verdict line of the last test
    it reached: the same tests both ways. Both for L1 amd64 and i386. A run
    that cannot complete leaves its rows saying why."""
    work = os.path.join(ROOT, "build", "bench")
    boots = []
    for guest in SUBARCHS:
        boots += [(nested_label(guest, n), nested_args(guest, n), "suite") for n in (True, False)]
    for guest in SUBARCHS:
        for nested in (False, True):
            boots.append((nested_label(guest, nested, "-vmcall"),
                          nested_args(guest, nested, [NESTED_VMCALL_TEST]), "vmcall"))
    said = {}
    for i in range(runs):
        got = {}
        for label, args, what in list(boots):
            argv = args + ["--name", "bench-" + label, "--work-dir", os.path.join(work, label)]
            t0 = time.monotonic()
            try:
                result = test3.run_once(test3.parse_args(argv))
            except test3.SetupError as e:
                log("nested: %-44s run %d/%d: cannot start: %s" % (label, i + 1, runs, e))
                result, why = None, "cannot start: %s" % e
            else:
                why = None if result.ok else "%s ended in %s" % (label, run_end(result))
                log("nested: %-44s run %d/%d: %s in %.2f s" % (
                    label, i + 1, runs, "ok" if result.ok else "FAILED (%s)" % run_end(result),
                    time.monotonic() - t0))
                if result.outcome.timed_out and i + 1 < runs:
                    log("nested: %s hung; not booted again" % label)
                    boots.remove((label, args, what))
            if what == "suite":
                got[label] = (result, why)
                continue
            name = "vmx/%s/vmcall" % label
            m = first_match(guest_lines(result), VMCALL) if result is not None else None
            if m:
                figs.add(name, "ticks", int(m.group(2)))
                got[label] = int(m.group(2))
            else:
                figs.missing(name, "ticks", why or "no VMCALL line")
            l0 = first_match(result.lines, L0_EXITS) if result is not None else None
            if l0:
                figs.add("l0/%s/exits" % label, "exits", int(l0.group(1)))
        for guest in SUBARCHS:
            a, b = nested_label(guest, False, "-vmcall"), nested_label(guest, True, "-vmcall")
            if a in got and b in got:
                figs.add("nested/%s/vmcall-x" % guest, "x", round(got[b] / got[a], 1))
            (under, why_l0), (straight, why_st) = (
                got.get(nested_label(guest, n), (None, "not booted: it hung before"))
                for n in (True, False))
            said[guest] = record_suite(figs, guest, under, why_l0, straight, why_st,
                                       said.get(guest))


# ---------------------------------------------------------------------------
# report

def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def version(cmd):
        try:
            out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 timeout=10).stdout.decode(errors="replace")
        except (OSError, subprocess.TimeoutExpired):
            return None
        for line in out.splitlines():
            if re.search(r"\d+\.\d+", line):
                return line.strip()
        return None

    return {"hostname": platform.node(), "cpu": cpu, "cpus": os.cpu_count(),
            "kernel": platform.release(), "kvm": os.path.exists("/dev/kvm"),
            "qemu": version(["qemu-system-x86_64", "--version"]),
            "gcc": version(["gcc", "--version"]), "python": platform.python_version()}


def git_revision():
    def git(*args):
        p = subprocess.run(["git"] + list(args), cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
        return p.stdout.decode().strip() if p.returncode == 0 else ""
    return {"commit": git("rev-parse", "HEAD"), "describe": git("describe", "--always", "--dirty")}


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return "%.3f" % v
    if unit in ("MHz",):
        return "%.3f" % v
    if unit == "ppm":
        return "%.1f" % v
    if isinstance(v, float) and not v.is_integer():
        return "%.1f" % v
    return "{:,}".format(int(v))


def print_table(figures, baseline, out=None):
    out = out or sys.stdout
    base = (baseline or {}).get("figures", {})
    width = max([len(n) for n in figures] + [6])
    head = "%-*s %-5s %12s %12s %12s %3s" % (width, "figure", "unit", "min", "median", "max", "n")
    if baseline:
        head += " %12s %7s" % ("base med", "ratio")
    print(head, file=out)
    print("-" * len(head), file=out)
    said = None
    for name, f in figures.items():
        u = f["unit"]
        row = "%-*s %-5s %12s %12s %12s %3d" % (width, name, u, fmt(f["min"], u),
                                                fmt(f["median"], u), fmt(f["max"], u),
                                                len(f["runs"]))
        if baseline:
            b = base.get(name, {}).get("median")
            if b is None or f["median"] is None:
                row += " %12s %7s" % (fmt(b, u), "-")
            elif b == 0:
                row += " %12s %7s" % (fmt(b, u), "=" if f["median"] == 0 else "new")
            else:
                row += " %12s %7.3f" % (fmt(b, u), f["median"] / b)
        note = (f.get("notes") or [None])[0]
        if note:
            row += "  (" + ("as above" if note == said else note) + ")"
        said = note
        print(row, file=out)


# ---------------------------------------------------------------------------
# targets: issue #7's as issue #15 restated them, judged on the medians of
# this run; the timing targets also on the fastest runs, the ones the host
# disturbed least

IMAGE_LIMIT_B = 256 * 1024
FUZZ_RATE_MIN = 5000  # issue #18
EDIT_LIMIT_S = 3.0
FLOOR_LIMIT_X = 1.5
EXIT_LIMITS = {"amd64": {"vmcall": 100, "cpuid": 90}, "i386": {"vmcall": 110, "cpuid": 90}}
CPU_GROWTH_PCT = 10.0
MEMORY_FLAT_PCT = 5.0       # "flat": what this host can tell apart from noise
JUDGED_BOCHS = BOCHS_BUILDS[0][0]


def growth_pct(figures, base, other, stat):
    b = figures.get(base, {}).get(stat)
    o = figures.get(other, {}).get(stat)
    return None if b is None or o is None else round((o - b) / b * 100, 1)


def ratio(figures, num, den, stat):
    n = figures.get(num, {}).get(stat)
    d = figures.get(den, {}).get(stat)
    return None if n is None or d is None else round(n / d, 2)


def check_targets(figures):
    """The targets: a list of {"target", "unit", "values", "met"}; met is
    None when this run did not measure what the target needs ("why" then
    names the first figure missing and its note). Timing targets also get
    "fastest": the same values from the fastest runs; when those and the
    medians disagree, met is None and "unclear" is true."""
    out = []

    def get(name, stat):
        return figures.get(name, {}).get(stat)

    def add(target, unit, needs, values, ok, timing=False):
        """needs: the figures used; values(stat): the target's values from
        their medians or minima; ok(values) -> bool."""
        median = values("median")
        measured = all(v is not None for v in median)
        t = {"target": target, "unit": unit, "values": median,
             "met": ok(median) if measured else None}
        if not measured:
            gone = next(n for n in needs if get(n, "median") is None)
            notes = get(gone, "notes")
            t["why"] = "%s: %s" % (gone, notes[0] if notes else "not in this run")
        if timing:
            t["fastest"] = fastest = values("min")
            # Noise only ever adds time: when the fastest runs say otherwise
            # than the medians, the host decided, not LHV.
            if measured and None not in fastest and ok(fastest) != t["met"]:
                t["met"] = None
                t["unclear"] = True
        out.append(t)

    images = ["size/%s/image" % a for a in SUBARCHS]
    add("hypervisor image at most 256 KiB (amd64, i386)", "B", images,
        lambda s: [get(n, s) for n in images], lambda v: max(v) <= IMAGE_LIMIT_B)
    edit = "build/edit-to-verdict-bochs-%s" % EDIT_SUBARCH
    add("edit to verdict at most %g s (touch %s, make, %s alone in Bochs to SUMMARY)"
        % (EDIT_LIMIT_S, EDIT_FILE, EDIT_TEST), "s", [edit],
        lambda s: [get(edit, s)], lambda v: v[0] <= EDIT_LIMIT_S, timing=True)
    for a in SUBARCHS:
        pair = ("boot/%s-%s-smp1/summary" % (JUDGED_BOCHS, a),
                "boot/%s-floor-%s/summary" % (JUDGED_BOCHS, a))
        add("whole suite in Bochs (1 CPU, %s) at most %gx a trivial multiboot kernel's line"
            % (a, FLOOR_LIMIT_X), "x", pair, lambda s, p=pair: [ratio(figures, *p, s)],
            lambda v: v[0] <= FLOOR_LIMIT_X, timing=True)
    for a in SUBARCHS:
        limits = EXIT_LIMITS[a]
        exits = ["vmx/%s-%s-smp1/%s" % (JUDGED_BOCHS, a, f) for f in ("vmcall", "cpuid")]
        add("VM-exit round trips in Bochs (1 CPU, %s): VMCALL at most %d, CPUID at most %d ticks"
            % (a, limits["vmcall"], limits["cpuid"]), "ticks", exits,
            lambda s, e=exits: [get(n, s) for n in e],
            lambda v, l=limits: v[0] <= l["vmcall"] and v[1] <= l["cpuid"])
    pairs = [("boot/qemu-%s-amd64-smp1-512M/banner-to-summary" % b,
              "boot/qemu-%s-amd64-smp8-512M/banner-to-summary" % b) for b in ("grub", "direct")]
    add("LHV's banner to SUMMARY growing at most %g %% from 1 to 8 CPUs (QEMU grub, direct)"
        % CPU_GROWTH_PCT, "%", [n for p in pairs for n in p],
        lambda s: [growth_pct(figures, *p, s) for p in pairs],
        lambda v: max(v) <= CPU_GROWTH_PCT, timing=True)
    for boot in ("grub", "direct"):
        stem = "boot/qemu-%s-amd64-smp" % boot
        flat = [(stem + "1-512M/summary", stem + "1-%s/summary" % m) for m in ("2G", "8G")]
        add("%s boot flat in memory size (2G and 8G against 512M, within %g %%)"
            % (boot, MEMORY_FLAT_PCT), "%", [n for p in flat for n in p],
            lambda s, f=flat: [growth_pct(figures, *p, s) for p in f],
            lambda v: max(abs(x) for x in v) <= MEMORY_FLAT_PCT, timing=True)
    for version, label in FUZZ_BOCHS:
        rates = ["fuzz/%s/trials-per-s" % (label % a) for a in SUBARCHS]
        add("VM-entry fuzzer at least %d trials/s of wall time (Bochs %s tigerlake, 1 CPU; amd64, "
            "i386)" % (FUZZ_RATE_MIN, version), "trials/s", rates,
            lambda s, r=rates: [get(n, s) for n in r], lambda v: min(v) >= FUZZ_RATE_MIN)
    l0pair = ("boot/bochs-2.7-l0-amd64-tigerlake-smp1/summary",
            "boot/bochs-2.7-amd64-tigerlake-smp1/summary")
    add("the suite as the guest of LHV as L0 at most %gx the suite alone (Bochs 2.7 tigerlake, "
        "1 CPU, amd64)" % L0_LIMIT_X, "x", l0pair, lambda s: [ratio(figures, *l0pair, s)],
        lambda v: v[0] <= L0_LIMIT_X, timing=True)
    npairs = [tuple("nested/%s/suite-%s" % (a, w) for w in ("under-l0", "straight"))
              for a in SUBARCHS]
    add("L1's suite as the guest of LHV-L0 with nested VMX at most %gx the same tests straight "
        "on Bochs (2.7 tigerlake, 1 CPU, amd64, i386; while L1 stops early there, the tests it "
        "reached)" % NESTED_LIMIT_X, "x", [n for p in npairs for n in p],
        lambda s: [ratio(figures, *p, s) for p in npairs],
        lambda v: max(v) <= NESTED_LIMIT_X, timing=True)
    return out


def fmt_target_values(values, unit):
    if unit == "%":
        return ", ".join("-" if v is None else "%+.1f %%" % v for v in values)
    if unit == "x":
        return ", ".join("-" if v is None else "%.2fx" % v for v in values)
    return ", ".join(fmt(v, unit) + ("" if v is None else " " + unit) for v in values)


def print_targets(targets, out=None):
    out = out or sys.stdout
    print("\ntargets (issue #7 as #15 restated them; judged on the medians):", file=out)
    for t in targets:
        verdict = "UNCLEAR" if t.get("unclear") else \
            {True: "met", False: "NOT MET", None: "not measured"}[t["met"]]
        line = "  %-12s %s: %s" % (verdict, t["target"], fmt_target_values(t["values"], t["unit"]))
        if t.get("fastest") and (t["met"] is not None or t.get("unclear")):
            line += " (fastest runs: %s)" % fmt_target_values(t["fastest"], t["unit"])
        if t.get("unclear"):
            line += ": medians and fastest runs disagree, the host was noisy; measure again"
        if t.get("why"):
            line += " (%s)" % t["why"]
        print(line, file=out)


def parse_args(argv):
    p = argparse.ArgumentParser(description="LHV benchmarks: build (and the edit-to-verdict "
                                "loop), sizes, boot (against a trivial kernel booted the same "
                                "way), VMX exit costs, timer calibration; then the targets' "
                                "verdicts (docs/performance.md).")
    p.add_argument("--runs", type=int, default=None,
                   help="runs of each timed figure (default 3; 1 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="one run each and fewer boot configurations (development)")
    p.add_argument("--only", action="append", choices=SECTIONS, metavar="SECTION",
                   help="measure only this section (build, sizes, boot, vmx, timer, fuzz, nested); "
                        "repeatable")
    p.add_argument("--baseline", metavar="FILE",
                   help="an earlier results.json: print each figure's ratio to it")
    p.add_argument("--output", metavar="FILE", default=os.path.join(ROOT, "bench", "results.json"),
                   help="where to write the results (default bench/results.json)")
    args = p.parse_args(argv)
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.runs < 1:
        p.error("--runs: at least 1")
    args.only = tuple(args.only or SECTIONS)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    baseline = None
    if args.baseline:
        with open(args.baseline) as f:
            baseline = json.load(f)
        if baseline.get("schema") != SCHEMA:
            print("bench: %s: schema %r, expected %r" % (args.baseline, baseline.get("schema"),
                                                         SCHEMA), file=sys.stderr)
            return 2

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.monotonic()
    figs = Figures()
    try:
        test3 = load_test3()
        if "build" in args.only:
            bench_build(figs, args.runs, log, test3)
        if "sizes" in args.only:
            bench_sizes(figs)
        if set(args.only) & {"boot", "vmx", "timer", "fuzz"}:
            bench_boots(figs, args.only, args.runs, args.quick, log, test3)
        if "nested" in args.only:
            bench_nested(figs, args.runs, log, test3)
    except (RuntimeError, OSError) as e:
        print("bench: %s" % e, file=sys.stderr)
        return 1
    results = {
        "schema": SCHEMA,
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 1),
        "git": git_revision(),
        "machine": machine(),
        "options": {"runs": args.runs, "quick": args.quick, "only": list(args.only)},
        "figures": figs.summary(),
    }
    results["targets"] = check_targets(results["figures"])
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output + ".tmp", "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    os.replace(args.output + ".tmp", args.output)
    print_table(results["figures"], baseline)
    print_targets(results["targets"])
    print("\n%s, git %s, %d runs; written to %s (%.0f s)" % (
        results["date"], results["git"]["describe"] or "?", args.runs,
        os.path.relpath(args.output, os.getcwd()), results["duration_s"]))
    missing = [n for n, f in results["figures"].items()
               if not f["runs"] and not f.get("skipped")]
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
