#!/usr/bin/python3
"""LHV benchmarks (`make bench`): build times, image sizes, boot milestones,
VM-exit costs and the LAPIC timer calibration. Prints a table and writes
bench/results.json; --baseline FILE adds each figure's ratio to an earlier
run. docs/performance.md says what every figure means.

Standard library only. Boots go through .jenkins/test3.py (run_once), whose
serial timestamps are seconds since the emulator's start."""

import argparse
import datetime
import gzip
import importlib.util
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
SUBARCHS = ("amd64", "i386")
SECTIONS = ("build", "sizes", "boot", "vmx", "timer")
SCHEMA = "lhv-bench/1"
QEMU_LAPIC_MHZ = 1000.0      # QEMU's emulated LAPIC timer runs at 1 GHz

BANNER = re.compile(r"^LHV \d")
ONLINE = re.compile(r"^smp: (\d+) of (\d+) CPUs online")
TIMER = re.compile(r"^timer: LAPIC timer ([0-9.]+) MHz by the PIT, ([0-9.]+) MHz by the ACPI PM")
VMCALL = re.compile(r"^vmx: VMCALL round trip on CPU 0: min (\d+), median (\d+) TSC ticks")
BENCH_EXIT = re.compile(r"^bench: ([a-z0-9-]+) round trip on CPU 0: min (\d+), median (\d+)")


def load_test3():
    path = os.path.join(ROOT, ".jenkins", "test3.py")
    spec = importlib.util.spec_from_file_location("test3", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["test3"] = mod
    spec.loader.exec_module(mod)
    return mod


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
        entry = self.data.setdefault(name, {"unit": unit, "runs": []})
        entry.setdefault("notes", []).append(why)

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
    shutil.copytree(os.path.join(ROOT, ".git"), os.path.join(dest, ".git"), symlinks=True)


def bench_build(figs, runs, log):
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
            timed(make + ["clean"], tmp, env)
            figs.add("build/seed-command-amd64", "s",
                     timed(["./build.sh", "amd64", "--app", "hypapps/helloworld", "--no-ucode"],
                           tmp, env))
            log("build: round %d/%d (clean build, incremental, seed command)" % (i + 1, runs))
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

class Boot:
    """One emulator configuration, booted `runs` times."""

    def __init__(self, label, args, sections):
        self.label = label
        self.args = args
        self.sections = sections    # which sections read its serial log


def boot_configs(quick, kvm):
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
    for a in (("amd64",) if quick else SUBARCHS):
        boots.append(Boot("bochs-%s-smp1" % a, ["--subarch", a, "--emulator", "bochs"],
                          ("boot", "vmx")))
    boots.append(Boot("bochs-amd64-smp2", ["--subarch", "amd64", "--emulator", "bochs",
                                           "--smp", "2"], ("boot",)))
    boots += bochs_version_boots()
    if kvm:
        boots.append(Boot("kvm-direct-amd64-smp1",
                          ["--subarch", "amd64", "--boot", "direct", "--cpu", "host",
                           "--extra-qemu-args", "-enable-kvm"], ("boot", "vmx", "timer")))
    return boots


def bochs_version_boots():
    """The whole suite on Bochs 2.7 and 3.0 in the same run (issue #16):
    tigerlake (a model both have), amd64, 1 CPU; its summary figure is the
    suite's time on each version."""
    return [Boot("bochs-%s-amd64-tigerlake-smp1" % version,
                 ["--subarch", "amd64", "--emulator", "bochs", "--bochs-version", version,
                  "--bochs-cpu", "tigerlake"], ("boot",))
            for version in ("2.7", "3.0")]


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


def record_boot(figs, boot, result, only):
    lines = result.lines
    ok = result.ok
    if "boot" in only and "boot" in boot.sections:
        key = "boot/%s/" % boot.label
        banner = first_time(lines, BANNER)
        online = first_time(lines, ONLINE)
        summary = result.end.time if result.end is not None and result.end.kind == "SUMMARY" \
            else None
        for name, t in (("banner", banner), ("all-cpus-online", online), ("summary", summary)):
            if t is None or not ok:
                figs.missing(key + name, "s", "run failed: %s" % (result.first_failure()
                                                                   or "milestone missing"))
            else:
                figs.add(key + name, "s", round(t, 3))
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


def bench_boots(figs, only, runs, quick, log):
    test3 = load_test3()
    kvm = os.path.exists("/dev/kvm") and os.access("/dev/kvm", os.R_OK | os.W_OK)
    boots = [b for b in boot_configs(quick, kvm) if set(b.sections) & set(only)]
    if "vmx" in only and not kvm:
        log("vmx: no /dev/kvm: KVM figures not measured")
    work = os.path.join(ROOT, "build", "bench")
    # Round by round, each configuration once per round: a minute in which
    # the host is slow then costs every configuration one run (which the
    # median drops), not one configuration all its runs, and the ratios
    # between configurations (1 to 8 CPUs, 512M to 8G) stay fair.
    for i in range(runs):
        for b in boots:
            argv = b.args + ["--name", "bench-" + b.label,
                             "--work-dir", os.path.join(work, b.label)]
            config = test3.parse_args(argv)
            t0 = time.monotonic()
            result = test3.run_once(config)
            log("boot: %-28s run %d/%d: %s in %.2f s%s" % (
                b.label, i + 1, runs, "ok" if result.ok else "FAILED", time.monotonic() - t0,
                "" if result.ok else " (" + (result.first_failure() or "no SUMMARY") + ")"))
            record_boot(figs, b, result, only)


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


def print_table(figures, baseline, out=sys.stdout):
    base = (baseline or {}).get("figures", {})
    width = max([len(n) for n in figures] + [6])
    head = "%-*s %-5s %12s %12s %12s %3s" % (width, "figure", "unit", "min", "median", "max", "n")
    if baseline:
        head += " %12s %7s" % ("base med", "ratio")
    print(head, file=out)
    print("-" * len(head), file=out)
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
        if f.get("notes"):
            row += "  (" + f["notes"][0] + ")"
        print(row, file=out)


# ---------------------------------------------------------------------------
# targets: issue #7's, judged on the medians of this run (the ratios also on
# the fastest runs, the ones the host disturbed least)

IMAGE_LIMIT_B = 256 * 1024
BUILD_LIMIT_S = 3.0
GRUB_LIMIT_S = 1.0
MEMORY_FLAT_PCT = 5.0       # "flat": what this host can tell apart from noise
CPU_GROWTH_PCT = 10.0


def growth_pct(figures, base, other, stat):
    b = figures.get(base, {}).get(stat)
    o = figures.get(other, {}).get(stat)
    return None if b is None or o is None else round((o - b) / b * 100, 1)


def check_targets(figures):
    """Issue #7's targets: a list of {"target", "unit", "values", "met"} (met
    is None when this run did not measure what the target needs), ratio
    targets with "fastest": the same values from the fastest runs; when
    those and the medians disagree, met is None and "unclear" is true."""
    out = []

    def add(target, unit, values, ok, fastest=None):
        measured = all(v is not None for v in values)
        t = {"target": target, "unit": unit, "values": values,
             "met": ok(values) if measured else None}
        if fastest is not None:
            t["fastest"] = fastest
            # Noise only ever adds time: when the fastest runs say otherwise
            # than the medians, the host decided, not LHV.
            if measured and all(v is not None for v in fastest) and ok(fastest) != t["met"]:
                t["met"] = None
                t["unclear"] = True
        out.append(t)

    def med(name):
        return figures.get(name, {}).get("median")

    add("hypervisor image under 256 KiB (amd64, i386)", "B",
        [med("size/%s/image" % a) for a in SUBARCHS], lambda v: max(v) < IMAGE_LIMIT_B)
    add("clean build of both subarchs under 3 s", "s", [med("build/clean-both-subarchs")],
        lambda v: v[0] < BUILD_LIMIT_S)
    add("GRUB boot to SUMMARY in QEMU under 1 s (amd64, -smp 1, 512M)", "s",
        [med("boot/qemu-grub-amd64-smp1-512M/summary")], lambda v: v[0] < GRUB_LIMIT_S)
    for boot in ("grub", "direct"):
        stem = "boot/qemu-%s-amd64-smp" % boot
        pairs = [(stem + "1-512M/summary", stem + "1-%s/summary" % m) for m in ("2G", "8G")]
        add("%s boot flat in memory size (2G and 8G against 512M, within %g %%)"
            % (boot, MEMORY_FLAT_PCT), "%",
            [growth_pct(figures, *p, "median") for p in pairs],
            lambda v: max(abs(x) for x in v) <= MEMORY_FLAT_PCT,
            [growth_pct(figures, *p, "min") for p in pairs])
        pair = (stem + "1-512M/summary", stem + "8-512M/summary")
        add("%s boot growing under %g %% from 1 to 8 CPUs" % (boot, CPU_GROWTH_PCT), "%",
            [growth_pct(figures, *pair, "median")], lambda v: v[0] < CPU_GROWTH_PCT,
            [growth_pct(figures, *pair, "min")])
    return out


def fmt_target_values(values, unit):
    if unit == "%":
        return ", ".join("-" if v is None else "%+.1f %%" % v for v in values)
    return ", ".join(fmt(v, unit) + ("" if v is None else " " + unit) for v in values)


def print_targets(targets, out=sys.stdout):
    print("\ntargets (issue #7; judged on the medians):", file=out)
    for t in targets:
        verdict = "UNCLEAR" if t.get("unclear") else \
            {True: "met", False: "NOT MET", None: "not measured"}[t["met"]]
        line = "  %-12s %s: %s" % (verdict, t["target"], fmt_target_values(t["values"], t["unit"]))
        if t.get("fastest") and (t["met"] is not None or t.get("unclear")):
            line += " (fastest runs: %s)" % fmt_target_values(t["fastest"], t["unit"])
        if t.get("unclear"):
            line += ": medians and fastest runs disagree, the host was noisy; measure again"
        print(line, file=out)


def parse_args(argv):
    p = argparse.ArgumentParser(description="LHV benchmarks: build, sizes, boot, VMX exit costs, "
                                "timer calibration (docs/performance.md).")
    p.add_argument("--runs", type=int, default=None,
                   help="runs of each timed figure (default 3; 1 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="one run each and fewer boot configurations (development)")
    p.add_argument("--only", action="append", choices=SECTIONS, metavar="SECTION",
                   help="measure only this section (build, sizes, boot, vmx, timer); repeatable")
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
        if "build" in args.only:
            bench_build(figs, args.runs, log)
        if "sizes" in args.only:
            bench_sizes(figs)
        if set(args.only) & {"boot", "vmx", "timer"}:
            bench_boots(figs, args.only, args.runs, args.quick, log)
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
    missing = [n for n, f in results["figures"].items() if not f["runs"]]
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
