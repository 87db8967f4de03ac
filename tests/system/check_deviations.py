#!/usr/bin/python3
"""Every XFAIL a Bochs run printed has its row in docs/l0-deviations.md:
a row that lists the test, whose "XFAIL reason contains" words are in the
reason, and whose column for that Bochs version says XFAIL. Reads the
serial logs under a directory (default: make test's matrix runs); the
version comes from the log's L0 (lhv.bochs=, which test3.py adds).
In a log whose guest ran under LHV's own L0 ("emulator: LHV on Bochs 2.7"),
each test of a row whose "LHV L0 (nested)" column says PASS must PASS or
SKIP, and each XFAIL there (a deviation that reaches the guest through the
L0) needs a row whose last column says XFAIL.

    tests/system/check_deviations.py [DIR]
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLE = os.path.join(ROOT, "docs", "l0-deviations.md")
L0_RE = re.compile(r"(?:emulator|L0): Bochs (\d+\.\d+)\s*$")
LHV_L0_RE = re.compile(r"^(?!L0: ).*emulator: LHV(?: on .*)?\s*$")
LHV_COLUMN = "LHV L0 (nested)"
TIMESTAMP_RE = re.compile(r"^\[\s*\d+(?:\.\d*)?\] ")
sys.path.insert(0, os.path.join(ROOT, ".jenkins"))
import lhvtest  # noqa: E402  (the runner's package, .jenkins/lhvtest: what test3.py runs)


def table_rows(text):
    """The deviation table -> [(tests, reason words, {version: cell}, LHV L0 cell)]:
    the first table whose header has "XFAIL reason contains"."""
    rows, header = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            if header and rows:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            if "XFAIL reason contains" in cells:
                header = cells
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        row = dict(zip(header, cells))
        versions = {h.split()[-1]: row[h] for h in header if h.startswith("Bochs ")
                    and re.fullmatch(r"Bochs \d+\.\d+", h)}
        rows.append((re.findall(r"`([a-z0-9/_-]+)`", row["tests"]),
                     row["XFAIL reason contains"].strip("`"), versions, row.get(LHV_COLUMN, "")))
    return rows


def log_xfails(test3, path):
    """(Bochs version or None, [(test, reason)], {test: verdict} of a guest
    under the LHV L0 or None) of one serial log."""
    version, xfails, lhv = None, [], None
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            text = TIMESTAMP_RE.sub("", test3.clean_line(raw), count=1)
            m = L0_RE.search(text)
            if m:
                version = m.group(1)
            if LHV_L0_RE.match(text):
                lhv = {}
            e = test3.parse_line(text)
            if e and e.kind == "XFAIL":
                xfails.append((e.name, e.reason, lhv is not None))
            if e and lhv is not None and e.kind in ("PASS", "FAIL", "SKIP", "XFAIL", "XPASS"):
                lhv[e.name] = e.kind
    return version, xfails, lhv


def lhv_problems(rows, lhv, path):
    """Tests of rows whose LHV L0 column says PASS that did not PASS (or SKIP)."""
    out, ran = [], set()
    for i, (tests, _, _, cell) in enumerate(rows):
        if not cell.startswith("PASS"):
            continue
        for t in tests:
            if t in lhv and lhv[t] not in ("PASS", "SKIP"):
                out.append("%s: %s %s under the LHV L0, but docs/l0-deviations.md says PASS "
                           "there" % (path, lhv[t], t))
            elif lhv.get(t) == "PASS":
                ran.add(i)
    return out, ran


def problems(rows, version, xfails, path):
    out = []
    for name, reason, via_lhv in xfails:
        mine = [r for r in rows if name in r[0] and r[1] in reason]
        if not mine:
            out.append("%s: XFAIL %s (%s) on Bochs %s has no row in docs/l0-deviations.md "
                       "listing the test with words of its reason" % (path, name, reason,
                                                                       version))
        elif not any(r[2].get(version, "").startswith("XFAIL") for r in mine):
            out.append("%s: XFAIL %s on Bochs %s, but its row in docs/l0-deviations.md does "
                       "not say XFAIL for %s" % (path, name, version, version))
        elif via_lhv and not any(r[3].startswith("XFAIL") for r in mine):
            out.append("%s: XFAIL %s through the LHV L0 on Bochs %s, but its row in "
                       "docs/l0-deviations.md does not say XFAIL in its last column" %
                       (path, name, version))
    return out


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    top = args[0] if args else os.path.join(ROOT, "build", "test3", "matrix")
    with open(TABLE) as f:
        rows = table_rows(f.read())
    if not rows:
        print("FAIL: check_deviations: no deviation table in %s" % TABLE)
        return 1
    found, logs, bad, ran = 0, 0, [], set()
    for d, _, files in sorted(os.walk(top)):
        if "serial.log" not in files:
            continue
        path = os.path.join(d, "serial.log")
        version, xfails, lhv = log_xfails(lhvtest, path)
        if lhv is not None:
            more, rows_ran = lhv_problems(rows, lhv, os.path.relpath(path))
            bad += more
            ran |= rows_ran
        if version is None:
            continue  # not Bochs, or its version not given
        logs += 1
        found += len(xfails)
        bad += problems(rows, version, xfails, os.path.relpath(path))
    for line in bad:
        print("FAIL: check_deviations: " + line)
    print("check_deviations: %d XFAILs in %d Bochs logs under %s, %d not in the table" %
          (found, logs, os.path.relpath(top), len(bad)))
    print("check_deviations: under the LHV L0, %d of %d rows' PASS paths ran (%d rows say PASS)"
          % (len(ran), len(rows), sum(r[3].startswith("PASS") for r in rows)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
