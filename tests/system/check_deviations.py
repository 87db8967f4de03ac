#!/usr/bin/python3
"""Every XFAIL a Bochs run printed has its row in docs/l0-deviations.md:
a row that lists the test, whose "XFAIL reason contains" words are in the
reason, and whose column for that Bochs version says XFAIL. Reads the
serial logs under a directory (default: make test's matrix runs); the
version comes from the log's L0 (lhv.bochs=, which test3.py adds).

    tests/system/check_deviations.py [DIR]
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLE = os.path.join(ROOT, "docs", "l0-deviations.md")
L0_RE = re.compile(r"(?:emulator|L0): Bochs (\d+\.\d+)\s*$")
TIMESTAMP_RE = re.compile(r"^\[\s*\d+(?:\.\d*)?\] ")
sys.path.insert(0, os.path.join(ROOT, ".jenkins"))
import lhvtest  # noqa: E402  (the runner's package, .jenkins/lhvtest: what test3.py runs)


def table_rows(text):
    """The deviation table -> [(tests, reason words, {version: cell})]:
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
                     row["XFAIL reason contains"].strip("`"), versions))
    return rows


def log_xfails(test3, path):
    """(Bochs version or None, [(test, reason)]) of one serial log."""
    version, xfails = None, []
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            text = TIMESTAMP_RE.sub("", test3.clean_line(raw), count=1)
            m = L0_RE.search(text)
            if m:
                version = m.group(1)
            e = test3.parse_line(text)
            if e and e.kind == "XFAIL":
                xfails.append((e.name, e.reason))
    return version, xfails


def problems(rows, version, xfails, path):
    out = []
    for name, reason in xfails:
        mine = [r for r in rows if name in r[0] and r[1] in reason]
        if not mine:
            out.append("%s: XFAIL %s (%s) on Bochs %s has no row in docs/l0-deviations.md "
                       "listing the test with words of its reason" % (path, name, reason,
                                                                       version))
        elif not any(r[2].get(version, "").startswith("XFAIL") for r in mine):
            out.append("%s: XFAIL %s on Bochs %s, but its row in docs/l0-deviations.md does "
                       "not say XFAIL for %s" % (path, name, version, version))
    return out


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    top = args[0] if args else os.path.join(ROOT, "build", "test3", "matrix")
    with open(TABLE) as f:
        rows = table_rows(f.read())
    if not rows:
        print("FAIL: check_deviations: no deviation table in %s" % TABLE)
        return 1
    found, logs, bad = 0, 0, []
    for d, _, files in sorted(os.walk(top)):
        if "serial.log" not in files:
            continue
        path = os.path.join(d, "serial.log")
        version, xfails = log_xfails(lhvtest, path)
        if version is None:
            continue  # not Bochs, or its version not given
        logs += 1
        found += len(xfails)
        bad += problems(rows, version, xfails, os.path.relpath(path))
    for line in bad:
        print("FAIL: check_deviations: " + line)
    print("check_deviations: %d XFAILs in %d Bochs logs under %s, %d not in the table" %
          (found, logs, os.path.relpath(top), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
