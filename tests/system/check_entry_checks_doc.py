#!/usr/bin/env python3
"""Fails when docs/entry-checks.md differs from what the VM-entry check model's
own table generates (build/host/test_entry_checks --doc, built by `make unit`).
Ends with the plain line `N passed, N failed`."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "build", "host", "test_entry_checks")
DOC = os.path.join(ROOT, "docs", "entry-checks.md")
REGEN = "make build/host/test_entry_checks && build/host/test_entry_checks --doc > docs/entry-checks.md"


def main():
    if not os.access(TOOL, os.X_OK):
        print("FAIL docs/entry-checks: %s is missing: run `make unit` first" % TOOL)
        print("0 passed, 1 failed")
        return 1
    want = subprocess.run([TOOL, "--doc"], check=True, capture_output=True, text=True).stdout
    with open(DOC, encoding="utf-8") as f:
        have = f.read()
    if have != want:
        have_l, want_l = have.splitlines(), want.splitlines()
        line = next((i for i, (a, b) in enumerate(zip(have_l, want_l)) if a != b),
                    min(len(have_l), len(want_l)))
        print("FAIL docs/entry-checks: docs/entry-checks.md differs from the model's table "
              "(line %d); regenerate: %s" % (line + 1, REGEN))
        print("0 passed, 1 failed")
        return 1
    print("docs/entry-checks.md matches the model's table (%d lines)" % len(want.splitlines()))
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
