"""The lines the command line prints after a run, the plain count last."""


def report_lines(result):
    """The lines the CLI prints after the run: problems, notes, times, the
    failed and expected-failure names, counts."""
    out = [p.line() for p in result.problems]
    out += result.notes
    no_vmx = result.no_vmx_skips()
    if no_vmx:
        out.append("test3: %d tests SKIP for want of VMX (QEMU TCG has none); they run in Bochs "
                   "(make run-bochs, test3.py --emulator bochs), nested under KVM (--accel kvm, "
                   "docs/kvm.md) or on hardware (docs/hardware.md)" % no_vmx)
    if result.expected_fatal:
        out.append("PASS: runner/expected-fatal: " + result.end.text)
    out.append(result.milestones())
    failed = result.failed_names()
    if failed:
        out.append("failed: " + ", ".join(failed))
    xfail = result.expected_failures()
    if xfail:
        out.append("expected failures (XFAIL, not counted below): %d: %s"
                   % (len(xfail), ", ".join(xfail)))
    out.append("%d passed, %d failed, %d skipped" % result.counts())
    return out
