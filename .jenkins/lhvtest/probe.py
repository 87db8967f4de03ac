"""The KVM probe (--accel kvm and make bench): one short boot under KVM."""

import os
import re

from . import kvm, options, run
from .common import ROOT, stderr_tail


# The KVM probe, shared by --accel kvm and make bench: a /dev/kvm that the
# checks of kvm.py accept may still not run a guest (a paravirtual KVM here runs
# LHV's first lines, then fails its INT3 with "KVM internal error ...
# emulation failure"; elsewhere QEMU aborts with "failed to set MSR 0x10a").
# One short boot, direct, under -enable-kvm -cpu host, of the exception tests
# (an ordinary guest's basics), and LHV's own "vmx:" line for nested VMX.
KVM_PROBE_CMDLINE = "lhv.tests=exceptions/*"
KVM_PROBE_TIMEOUT = 15.0
KVM_VMX_LINE_RE = re.compile(r"^vmx: (?:not used: .*|(\d+) of \d+ CPUs in VMX operation)$")


def probe_kvm(subarch="amd64", xmhf_bin=ROOT, work_dir=None):
    """Boots LHV once under KVM; returns (guest, vmx), each "" when fine or
    why not: guest, KVM ran the probe to SUMMARY; vmx, LHV found VMX there.
    Reads kvm.KVM_DEVICE and boots through run.run_once at call time, so a
    test can replace either."""
    if not os.path.exists(kvm.KVM_DEVICE):
        return ("%s is missing" % kvm.KVM_DEVICE,) * 2
    if not os.access(kvm.KVM_DEVICE, os.R_OK | os.W_OK):
        return ("no read/write access to %s" % kvm.KVM_DEVICE,) * 2
    argv = ["--subarch", subarch, "--boot", "direct", "--cpu", "host",
            "--extra-qemu-args=-enable-kvm", "--cmdline", KVM_PROBE_CMDLINE,
            "--timeout", str(KVM_PROBE_TIMEOUT), "--name", "kvm-probe-" + subarch,
            "--xmhf-bin", xmhf_bin] + (["--work-dir", work_dir] if work_dir else [])
    config = options.parse_args(argv)
    result = run.run_once(config)
    if not result.ok:
        failed = [v.line() for v in result.verdicts if v.kind in ("FAIL", "XPASS")]
        why = "KVM did not run LHV's exception tests: %s" % (
            (failed + [p.message for p in result.problems] + ["no SUMMARY"])[0])
        said = stderr_tail(os.path.join(config.work_dir, "emulator.log")).split(" / ")[0]
        if result.outcome.timed_out and said:
            why += " [qemu: %s]" % said
        return why, why
    for _, text in result.lines:
        m = KVM_VMX_LINE_RE.match(text)
        if m:
            return "", ("" if m.group(1) and int(m.group(1)) > 0
                        else "no VMX in the guest (LHV: %s)" % text)
    return "", "LHV printed no 'vmx:' line under KVM"
