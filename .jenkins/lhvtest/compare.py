"""--compare A.log B.log: two runs' serial logs -> the tests whose verdicts
differ (pure but for reading the files)."""

import re
import sys

from .serial import VERDICT_KINDS, clean_line, parse_line


TIMESTAMP_RE = re.compile(r"^\[\s*\d+(?:\.\d*)?\] ")
TABLE_RE = re.compile(r"^table: (\S+) (PASS|FAIL|SKIP|XFAIL|XPASS)$")
SEVERITY = {"PASS": 0, "SKIP": 1, "XFAIL": 2, "FAIL": 3, "XPASS": 3}


def log_verdicts(texts):
    """Serial log lines (timestamps or not) -> ({test name: verdict kind},
    the platform line or ""). The closing table (table: NAME KIND) is the
    source when the log has one; otherwise the verdict lines, a test seen
    more than once keeping its worst verdict, as LHV's table does."""
    table, seen, platform = {}, {}, ""
    for raw in texts:
        text = TIMESTAMP_RE.sub("", clean_line(raw), count=1)
        m = TABLE_RE.match(text)
        if m:
            table[m.group(1)] = m.group(2)
            continue
        if text.startswith("platform: CPU "):
            platform = text
            continue
        e = parse_line(text)
        if e and e.kind in VERDICT_KINDS and e.name:
            old = seen.get(e.name)
            if old is None or SEVERITY[e.kind] > SEVERITY[old]:
                seen[e.name] = e.kind
    return (table or seen), platform


def compare_verdicts(a, b):
    """Two {name: kind} maps -> rows (name, kind in A or "-", kind in B or
    "-") for the tests whose verdicts differ or that only one side has, in
    A's order and then B's."""
    rows = []
    for name in list(a) + [n for n in b if n not in a]:
        ka, kb = a.get(name, "-"), b.get(name, "-")
        if ka != kb:
            rows.append((name, ka, kb))
    return rows


def compare_lines(path_a, a, platform_a, path_b, b, platform_b):
    """The --compare report, line by line."""
    rows = compare_verdicts(a, b)
    out = ["A: %s: %s" % (path_a, platform_a or "no platform line"),
           "B: %s: %s" % (path_b, platform_b or "no platform line")]
    if rows:
        width = max(len("test"), max(len(r[0]) for r in rows))
        out.append("%-*s  %-5s  %s" % (width, "test", "A", "B"))
        out.extend("%-*s  %-5s  %s" % (width, name, ka, kb) for name, ka, kb in rows)
    only_a = sum(1 for r in rows if r[2] == "-")
    only_b = sum(1 for r in rows if r[1] == "-")
    out.append("%d differ, %d only in A, %d only in B (%d tests in A, %d in B)"
               % (len(rows) - only_a - only_b, only_a, only_b, len(a), len(b)))
    return out, not rows


def compare_main(paths):
    """--compare A.log B.log: 0 when the verdicts are the same, 1 when not,
    2 when a log cannot be read."""
    found = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                found.append(log_verdicts(f.read().split(b"\n")))
        except OSError as e:
            print("test3: --compare: %s" % e, file=sys.stderr)
            return 2
    lines, same = compare_lines(paths[0], found[0][0], found[0][1],
                                paths[1], found[1][0], found[1][1])
    for line in lines:
        print(line)
    return 0 if same else 1
