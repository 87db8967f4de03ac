#!/usr/bin/python3
"""LHV regression runner (docs/design.md section 4): boots LHV in QEMU or
Bochs, judges its serial test report, exits 0 (all passed), 1 (something
failed) or 2 (the run could not be set up). `test3.py --help` says more.

The runner is the package lhvtest/ beside this file (its __init__.py lists
the modules); this is its command line, the one users, make and Jenkins
call. Code that wants the runner's functions imports lhvtest."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lhvtest.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
