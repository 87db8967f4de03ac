"""main(): what .jenkins/test3.py runs: --compare, or parse the flags, build
(--build), warn of stale images, probe KVM (--accel kvm), run once and
print the report; the exit status 0, 1, 2 or 130."""

import os
import shlex
import subprocess
import sys

from . import probe
from .common import ROOT, Interrupted, SetupError
from .compare import compare_main
from .image import stale_warning
from .l0 import boot_image
from .options import parse_args
from .report import report_lines
from .run import run_once


def build(subarch):
    print("make SUBARCHS=%s" % subarch, flush=True)
    if subprocess.run(["make", "SUBARCHS=" + subarch], cwd=ROOT).returncode != 0:
        raise SetupError("the build failed")


def main(argv=None):
    try:
        return run_main(sys.argv[1:] if argv is None else argv)
    except Interrupted as e:
        print("test3: interrupted (Ctrl-C): the emulator is stopped; the serial log so far "
              "is in %s" % e.args[0], file=sys.stderr)
    except KeyboardInterrupt:
        print("test3: interrupted (Ctrl-C)", file=sys.stderr)
    return 130


def run_main(words):
    if "--compare" in words:
        at = words.index("--compare")
        logs, others = words[at + 1:at + 3], words[:at] + words[at + 3:]
        if len(logs) != 2 or any(w.startswith("--") for w in logs):
            print("test3: --compare takes two serial logs: --compare A.log B.log",
                  file=sys.stderr)
            return 2
        if others:
            print("test3: --compare A.log B.log goes alone (it boots nothing): drop %s"
                  % shlex.join(others), file=sys.stderr)
            return 2
        return compare_main(logs)
    try:
        config = parse_args(words)
        if config.build:
            build(config.subarch)
        stale = stale_warning(config)
        if stale:
            print("test3: " + stale, file=sys.stderr, flush=True)
        if config.accel == "kvm" and not config.skip_test:
            why = next(filter(None, probe.probe_kvm(config.subarch, config.xmhf_bin)), "")
            if why:
                raise SetupError("--accel kvm: KVM probe failed: %s (docs/kvm.md)" % why)
        if config.skip_test:
            os.makedirs(config.work_dir, exist_ok=True)
            print(boot_image(config).describe())
            return 0
        result = run_once(config, echo=lambda line: print(line, flush=True))
    except SetupError as e:
        print("test3: %s" % e, file=sys.stderr)
        return 2
    for line in report_lines(result):
        print(line)
    return 0 if result.ok else 1
