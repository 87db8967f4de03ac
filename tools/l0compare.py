#!/usr/bin/python3
"""make compare-l0: the suite once on Bochs 2.7, once on Bochs 3.0 and once
as L1 on LHV as L0 with nested VMX (lhv.l0.nested=1, the amd64 L0 on Bochs
2.7), per subarch of the suite (tigerlake; amd64 with 2 CPUs, i386 with 1,
as make test runs them), then docs/l0-compare.md: the test3.py --compare
reports, every test's three verdicts (the differences first, with the
reasons the logs give), and, when the run under the L0 stopped early, where
and which tests never ran.

    tools/l0compare.py [--output docs/l0-compare.md] [--no-run]
"""

import argparse
import datetime
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST3 = os.path.join(ROOT, ".jenkins", "test3.py")  # --compare's report comes from its CLI
sys.path.insert(0, os.path.join(ROOT, ".jenkins"))
import lhvtest  # noqa: E402  (the runner's package, .jenkins/lhvtest: what test3.py runs)

L0 = "l0"  # the column of the run under LHV as L0
COLUMNS = (("2.7", "Bochs 2.7"), ("3.0", "Bochs 3.0"), (L0, "LHV-L0"))
RUNS = (("amd64", 2), ("i386", 1))  # subarch of the suite, CPUs
MODEL = "tigerlake"
L0_VERSION = "2.7"  # the Bochs under the L0
L0_CMDLINE = "serial=115200,8n1,0x3f8 lhv.l0=1 lhv.l0.nested=1"
GUEST_CMDLINE = "serial=115200,8n1,0x3f8"
TIMESTAMP = lhvtest.compare.TIMESTAMP_RE


def run_name(sub, column):
    return "l0-%s-%s" % (sub, "nested" if column == L0 else column)


def argv_of(sub, smp, column):
    if column == L0:
        return ["--subarch", "amd64", "--l0", sub, "--emulator", "bochs", "--bochs-version",
                L0_VERSION, "--bochs-cpu", MODEL, "--smp", str(smp), "--cmdline", L0_CMDLINE,
                "--l0-cmdline", GUEST_CMDLINE, "--timeout", "300"]
    return ["--subarch", sub, "--emulator", "bochs", "--bochs-version", column,
            "--bochs-cpu", MODEL, "--smp", str(smp)]


def run(sub, smp, column, work, boot=True):
    """One suite run (or, boot False, the log an earlier one left); returns
    its serial.log's path, or None when there is nothing to compare. A Bochs
    run must end in SUMMARY; the run under the L0 may stop early, which the
    page then reports."""
    name = run_name(sub, column)
    log = os.path.join(work, name, "serial.log")
    if not boot:
        return log if os.path.isfile(log) else None
    print("compare-l0: %s on %s (%s, %d CPU%s)" % (sub, dict(COLUMNS)[column], MODEL, smp,
                                                  "s" if smp > 1 else ""), flush=True)
    try:
        result = lhvtest.run_once(lhvtest.parse_args(argv_of(sub, smp, column) + [
            "--name", name, "--work-dir", os.path.join(work, name)]))
    except lhvtest.SetupError as e:
        print("compare-l0: FAILED: %s" % e, file=sys.stderr)
        return None
    if column != L0 and (result.end is None or result.end.kind != "SUMMARY"):
        print("compare-l0: FAILED: the %s run on Bochs %s ended without SUMMARY (%s); see %s" %
              (sub, column, result.first_failure(), log), file=sys.stderr)
        return None
    return log


def read_log(path):
    """A serial log -> (the guest's lines, the L0's lines without 'L0: '),
    timestamps removed."""
    guest, l0 = [], []
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            text = TIMESTAMP.sub("", lhvtest.clean_line(raw), count=1)
            if text.startswith("L0: "):
                l0.append(text[4:])
            else:
                guest.append(text)
    return guest, l0


def reasons(lines):
    """{test: (kind, reason)} of the verdict lines, the worst of a test's."""
    out = {}
    for text in lines:
        e = lhvtest.parse_line(text)
        if e and e.kind in lhvtest.VERDICT_KINDS and e.name:
            old = out.get(e.name)
            if old is None or (lhvtest.compare.SEVERITY[e.kind] >
                               lhvtest.compare.SEVERITY[old[0]]):
                out[e.name] = (e.kind, e.reason)
    return out


def ending(guest, l0):
    """How the run ended: ("SUMMARY", line) or ("FATAL", line) (the L0's
    FATAL named as such), or ("none", "")."""
    for who, lines in (("", guest), ("L0: ", l0)):
        for text in lines:
            if text.startswith("FATAL: "):
                return "FATAL", who + text
    for text in guest:
        if text.startswith("SUMMARY: "):
            return "SUMMARY", text
    return "none", ""


def compare(log_a, log_b):
    """test3.py --compare's report lines."""
    proc = subprocess.run([sys.executable, TEST3, "--compare", log_a, log_b],
                          stdout=subprocess.PIPE, text=True)
    return [line.replace(ROOT + "/", "") for line in proc.stdout.splitlines()]


def section(sub, smp, logs):
    """The page's section of one subarch: logs {column: serial.log}."""
    maps, why, l0_lines, end = {}, {}, [], ("none", "")
    for column, path in logs.items():
        guest, own = read_log(path)
        maps[column] = lhvtest.log_verdicts(guest)[0]
        why[column] = reasons(guest)
        if column == L0:
            l0_lines, end = own, ending(guest, own)
    names = []
    for column, _ in COLUMNS:
        names += [n for n in maps[column] if n not in names]
    ran = maps[L0]
    never = [n for n in names if n not in ran]
    out = ["## %s, %d CPU%s" % (sub, smp, "s" if smp > 1 else ""), ""]
    if end[0] == "SUMMARY":
        out += ["Under LHV-L0 the suite ran to its end: `%s`." % end[1], ""]
    else:
        out += ["**The run under LHV-L0 stopped early** after %d of the %d tests%s, so %d "
                "never ran there (below as `not run`)." % (
                    len(ran), len(names), ": `%s`" % end[1] if end[1] else
                    " without a FATAL or SUMMARY (the runner's timeout)", len(never)), ""]
    said = [x for x in l0_lines if x.startswith(("nested: ", "exits: CPU", "exits: "))]
    if said:
        out += ["What the L0 counted (its own lines):", "", "```"] + said + ["```", ""]
    for column in ("3.0", L0):
        out += ["`test3.py --compare` (A = Bochs 2.7, B = %s):" % dict(COLUMNS)[column], "",
                "```"] + compare(logs["2.7"], logs[column]) + ["```", ""]
    head = [label for _, label in COLUMNS]
    out += ["| test | %s |" % " | ".join(head), "|---|%s" % ("---|" * len(head))]

    def cell(column, n):
        return maps[column].get(n, "not run" if column == L0 else "-")

    def kinds(n):  # the verdicts of the columns that ran n
        return {maps[c][n] for c, _ in COLUMNS if n in maps[c]}
    differ = [n for n in names if len(kinds(n)) > 1]
    order = ([n for n in differ if n in ran] + [n for n in names if n in ran and n not in differ] +
             never)
    for n in order:
        bold = "**%s**" if n in differ else "%s"
        out.append("| %s | %s |" % (bold % n, " | ".join(bold % cell(c, n) for c, _ in COLUMNS)))
    out.append("")
    if differ:
        out += ["Why the verdicts differ, in the logs' words (each verdict other than PASS with "
                "its reason; `not run`: see above):", ""]
        for n in differ:
            said = {}
            for c, label in COLUMNS:
                if n in maps[c] and maps[c][n] != "PASS":
                    reason = why[c].get(n, ("", ""))[1]
                    said.setdefault((maps[c][n], reason), []).append(label)
            out.append("- `%s`: %s" % (n, "; ".join(
                "%s %s%s" % (" and ".join(labels), kind, ": " + reason if reason else "")
                for (kind, reason), labels in said.items())))
        out.append("")
    sdm = [n for n in names if maps[L0].get(n) == "PASS" and
           any(maps[c].get(n) == "XFAIL" for c, _ in COLUMNS if c != L0)]
    out += ["XFAIL on Bochs (a deviation from the SDM), PASS under LHV-L0: %s." % (
        ", ".join("`%s`" % n for n in sdm) if sdm else "none"), ""]
    if never:
        out += ["Never ran under LHV-L0 (%d; the first, `%s`, was the one running when the run "
                "stopped, if the order is the suite's on Bochs 2.7): %s." % (
                    len(never), never[0], ", ".join("`%s`" % n for n in never)), ""]
    return out, (sub, len(differ), len(ran), len(names), end)


def markdown(sections):
    out = ["# Bochs 2.7, Bochs 3.0 and LHV-L0: the suite's verdicts side by side", "",
           "Generated by `make compare-l0` (tools/l0compare.py) on %s from one run per column "
           "and subarch, CPU model `%s`: the suite straight on Bochs 2.7 and on Bochs 3.0, and "
           "as L1 on LHV as L0 with nested VMX (`lhv.l0=1 lhv.l0.nested=1`, the amd64 L0 on "
           "Bochs %s, [l0.md](l0.md) \"Nested VMX\"). The deviations behind the Bochs "
           "differences and XFAILs: [l0-deviations.md](l0-deviations.md). Do not edit by hand." %
           (datetime.date.today().isoformat(), MODEL, L0_VERSION), ""]
    rows = ["| subarch | tests | verdicts differ (where they ran) | ran under LHV-L0 | how the run "
            "under LHV-L0 ended |",
            "|---|---|---|---|---|"]
    for _, (sub, differ, ran, total, end) in sections:
        rows.append("| %s | %d | %d | %d | %s |" % (sub, total, differ, ran,
                                                     "`%s`" % end[1] if end[1] else "no end"))
    out += rows + [""]
    for lines, _ in sections:
        out += lines
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description="The suite on Bochs 2.7, Bochs 3.0 and LHV-L0 "
                                            "(nested), compared (make compare-l0).")
    p.add_argument("--output", default=os.path.join(ROOT, "docs", "l0-compare.md"))
    p.add_argument("--work-dir", default=os.path.join(ROOT, "build", "test3", "compare-l0"))
    p.add_argument("--no-run", action="store_true",
                   help="write the page from the logs the last runs left in --work-dir")
    args = p.parse_args(argv)
    sections = []
    for sub, smp in RUNS:
        logs = {c: run(sub, smp, c, args.work_dir, not args.no_run) for c, _ in COLUMNS}
        if None in logs.values():
            print("compare-l0: no log of %s for %s" % (
                ", ".join(label for c, label in COLUMNS if logs[c] is None), sub),
                file=sys.stderr)
            return 1
        sections.append(section(sub, smp, logs))
    with open(args.output + ".tmp", "w") as f:
        f.write(markdown(sections))
    os.replace(args.output + ".tmp", args.output)
    for _, (sub, differ, ran, total, end) in sections:
        print("compare-l0: %s: %d tests, %d differ; under LHV-L0 %d ran (%s)" % (
            sub, total, differ, ran, end[1] or "no end"))
    print("compare-l0: written to %s" % os.path.relpath(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
