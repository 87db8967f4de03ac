#!/usr/bin/env python3
"""Fails when docs/coverage.md (kvm-unit-tests' VMX tests against LHV's) drifts from the code:
every LHV test a row names must exist (the names check_docs.py reads from the TEST() lines of
lhv/suite), a row marked covered or partly covered must name at least one, every row has one of
the page's five statuses, no kvm-unit-tests test has two rows, and the counts at the top of the
page equal the table's. `--self-test` runs the checks on small planted pages and shows that each
kind of drift is caught. Ends with the plain line `N passed, N failed`."""
import os
import re
import sys

import check_docs

ROOT = check_docs.ROOT
DOC = "docs/coverage.md"

# A row's status: the text its last cell starts with, and the counter it goes to.
STATUSES = (("covered", "covered"), ("partly:", "partly"),
            ("not covered yet (issue #17)", "not yet"), ("not applicable:", "n/a"),
            ("not offered:", "not offered"))
NAME_RE = re.compile(r"`([a-z0-9-]+/[a-z0-9-]+)`")
SUMMARY_RE = re.compile(r"\*\*(\d+) rows\*\*: \*\*(\d+) covered\*\*, \*\*(\d+) partly covered\*\*, "
                        r"\*\*(\d+) not covered yet \(issue #17\)\*\*,\s+\*\*(\d+) not "
                        r"applicable\*\*, \*\*(\d+) not offered by any Bochs model\*\*")
THREE_RE = re.compile(r"In the three words of issue #17: (\d+) covered \(fully or in part\), "
                      r"(\d+) not covered, (\d+) not offered\.")


def rows(text):
    """The table rows: (kvm-unit-tests name, [cells]) of every row of the tables whose header
    starts with '| kvm-unit-tests |'."""
    out, in_table = [], False
    for line in text.splitlines():
        if line.startswith("| kvm-unit-tests |"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if in_table and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            out.append((cells[0].strip("`"), cells))
    return out


def status_of(cell):
    for prefix, kind in STATUSES:
        if cell == prefix or (cell.startswith(prefix) and prefix != "covered"):
            return kind
    return None


def problems(text, names):
    """What is wrong with the coverage page `text` given the existing test names: a list of
    (what: a row's kvm-unit-tests name or "summary", message), and the number of rows."""
    found, seen = [], set()
    counts = {kind: 0 for _, kind in STATUSES}
    table = rows(text)
    for kut, cells in table:
        if len(cells) != 4:
            found.append((kut, "%s: %d cells, expected 4 (test, checks, LHV, status)"
                          % (kut, len(cells))))
            continue
        if kut in seen:
            found.append((kut, "%s: two rows" % kut))
        seen.add(kut)
        for name in NAME_RE.findall(cells[2] + " " + cells[3]):
            if name not in names:
                found.append((kut, "%s: names %s, which no TEST() defines" % (kut, name)))
        kind = status_of(cells[3])
        if kind is None:
            found.append((kut, "%s: status %r is none of: %s"
                          % (kut, cells[3][:40], ", ".join(p for p, _ in STATUSES))))
            continue
        counts[kind] += 1
        if kind in ("covered", "partly") and not NAME_RE.search(cells[2]):
            found.append((kut, "%s: %s, but its LHV column names no test" % (kut, kind)))
    if not table:
        found.append(("table", "no table with a '| kvm-unit-tests |' header"))
    real = (len(table), counts["covered"], counts["partly"], counts["not yet"], counts["n/a"],
            counts["not offered"])
    m = SUMMARY_RE.search(text)
    if not m:
        found.append(("summary", "no summary line '**N rows**: **N covered**, ...'"))
    elif tuple(int(x) for x in m.groups()) != real:
        found.append(("summary", "the summary says %s; the table has **%d rows**: **%d covered**, "
                      "**%d partly covered**, **%d not covered yet (issue #17)**, **%d not "
                      "applicable**, **%d not offered by any Bochs model**"
                      % ((" ".join(m.group(0).split()),) + real)))
    three = (real[1] + real[2], real[3] + real[4], real[5])
    m = THREE_RE.search(text)
    if not m:
        found.append(("issue counts", "no line 'In the three words of issue #17: ...'"))
    elif tuple(int(x) for x in m.groups()) != three:
        found.append(("issue counts", "'%s' should say %d covered (fully or in part), %d not "
                      "covered, %d not offered" % ((m.group(0),) + three)))
    return found, len(table)


SELF_TEST_PAGE = """\
**3 rows**: **1 covered**, **1 partly covered**, **1 not covered yet (issue #17)**,
**0 not applicable**, **0 not offered by any Bochs model**.

In the three words of issue #17: 2 covered (fully or in part), 1 not covered, 0 not offered.

| kvm-unit-tests | checks | LHV | status |
|---|---|---|---|
| `null` | a guest enters | `vmx/a` | covered |
| `vmenter` | launch and resume | `vmx/a`, `vmx/b` | partly: not the resume |
| `PML` | page-modification logging | – | not covered yet (issue #17): PML |
"""


def self_test():
    """Each planted drift must be reported; the planted page as it is must be clean."""
    names = {"vmx/a", "vmx/b"}
    plants = (
        ("a row naming a test that does not exist", "`vmx/b` | partly", "`vmx/gone` | partly"),
        ("a covered row naming no test", "| `vmx/a` | covered", "| – | covered"),
        ("a status outside the five", "| covered |", "| done |"),
        ("the summary disagreeing with the table", "**1 covered**", "**2 covered**"),
        ("the issue's three counts disagreeing", "1 not covered,", "0 not covered,"),
        ("two rows for one test", "| `PML` |", "| `null` |"),
        ("a row with a missing cell", "| page-modification logging |", "|"),
    )
    failed = 0
    clean, _ = problems(SELF_TEST_PAGE, names)
    print("%s self-test: the planted page as it is has no problem%s"
          % ("ok" if not clean else "FAIL",
             "" if not clean else ": " + "; ".join(m for _, m in clean)))
    failed += bool(clean)
    for what, old, new in plants:
        assert old in SELF_TEST_PAGE, old
        found, _ = problems(SELF_TEST_PAGE.replace(old, new, 1), names)
        print("%s self-test: %s%s" % ("ok" if found else "FAIL", what,
                                      " is reported: " + found[0][1] if found
                                      else " is not reported"))
        failed += not found
    total = len(plants) + 1
    print("%d passed, %d failed" % (total - failed, failed))
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if sys.argv[1:]:
        print("usage: check_coverage.py [--self-test]", file=sys.stderr)
        return 2
    with open(os.path.join(ROOT, DOC), encoding="utf-8") as f:
        text = f.read()
    found, count = problems(text, check_docs.test_names())
    for _, message in found:
        print("FAIL %s: %s" % (DOC, message))
    bad = len({what for what, _ in found})
    print("coverage: %d rows, %d problems" % (count, len(found)))
    print("%d passed, %d failed" % (count + 2 - bad, bad))  # each row, the two count lines
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
