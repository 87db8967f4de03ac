"""Judging a run (pure): the cleaned serial lines and how the emulator ended
(Outcome) -> Result: the verdicts, the SUMMARY or FATAL that ended the run,
and the runner's own findings (Problem: FAIL: runner/NAME: ...)."""

import dataclasses
import re

from .common import POWEROFF_GRACE, end_action
from .serial import NO_VMX_RE, VERDICT_KINDS, Event, parse_line, parse_summary


@dataclasses.dataclass
class Problem:
    """A failure the runner found (not a FAIL line): reported as
    FAIL: runner/<name>: <message>."""
    name: str
    message: str

    def line(self):
        return "FAIL: runner/%s: %s" % (self.name, self.message)


@dataclasses.dataclass
class Outcome:
    """How the emulator ended. exited: it exited by itself (not killed);
    exit_kind: the backend's reading of the status ('poweroff', 'reset',
    'error', 'killed'); timed_out: no SUMMARY/FATAL within the timeout."""
    exited: bool
    exit_status: int = None
    exit_kind: str = ""
    exit_time: float = None
    timed_out: bool = False
    stderr_tail: str = ""
    timeout: float = 0.0
    emulator: str = "qemu"
    log_hint: str = ""            # where the emulator's own log is, for failure messages
    screenshot_problem: str = ""  # why --screenshot saved no picture, or ''
    cut_line: str = ""            # the serial output's last line when it had no newline


@dataclasses.dataclass
class Result:
    name: str
    lines: list                   # (time, text) of every cleaned serial line
    verdicts: list                # Events PASS..XPASS, in order
    end: Event = None             # the SUMMARY or FATAL that ended the run
    expected_fatal: bool = False  # end is a FATAL that --expect-fatal matched
    problems: list = dataclasses.field(default_factory=list)
    expected_fails: list = dataclasses.field(default_factory=list)  # FAILs --expect-fail matched
    outcome: Outcome = None
    wall: float = 0.0             # seconds run_once took, ISO build included
    notes: list = dataclasses.field(default_factory=list)  # "test3: ..." lines for the report

    def count(self, *kinds):
        return sum(1 for v in self.verdicts if v.kind in kinds)

    def counts(self):
        """(passed, failed, skipped): FAIL, XPASS and every runner problem
        count as failed; an expected FATAL as passed; XFAIL in none of the
        three (expected_failures() lists them)."""
        expected = len(self.expected_fails)
        passed = self.count("PASS") + (1 if self.expected_fatal else 0) + expected
        failed = self.count("FAIL", "XPASS") - expected + len(self.problems)
        return passed, failed, self.count("SKIP")

    def failed_names(self):
        """The names of what failed: tests (FAIL, XPASS), then runner/NAME
        for each runner problem; each once, in order."""
        names = [v.name for v in self.verdicts if v.kind in ("FAIL", "XPASS")
                 and not any(v is e for e in self.expected_fails)]
        names += ["runner/" + p.name for p in self.problems]
        return list(dict.fromkeys(names))

    def no_vmx_skips(self):
        return sum(1 for v in self.verdicts if v.kind == "SKIP" and NO_VMX_RE.search(v.reason))

    def expected_failures(self):
        return [v.name for v in self.verdicts if v.kind == "XFAIL"]

    @property
    def ok(self):
        reported = self.expected_fatal or (self.end is not None and self.end.kind == "SUMMARY")
        return reported and self.counts()[1] == 0

    def first_failure(self):
        """One line saying why the run failed, or ''."""
        for v in self.verdicts:
            if v.kind in ("FAIL", "XPASS") and not any(v is e for e in self.expected_fails):
                return v.line()
        return self.problems[0].line() if self.problems else ""

    def milestones(self):
        parts = []
        if self.lines:
            parts.append("first line %.3f s" % self.lines[0][0])
        if self.end:
            parts.append("%s %.3f s" % (self.end.kind, self.end.time))
        o = self.outcome
        if o and o.exit_time is not None:
            how = "exit" if o.exited else "killed"
            parts.append("%s %.3f s (status %s)" % (how, o.exit_time, o.exit_status))
        return "times: " + (", ".join(parts) if parts else "no serial output")


def last_line(lines):
    return lines[-1][1] if lines else "(no serial output)"


def judge(name, lines, outcome, cmdline, expect_fatal=None, require_pass=(), require_skip=(),
          expect_fail=(), require_xfail=()):
    """Builds the Result of a run from its cleaned serial lines and the way
    the emulator ended. Verdicts count up to the first SUMMARY/FATAL; a
    protocol line after it is a problem."""
    result = Result(name, list(lines), [], outcome=outcome)
    for t, text in lines:
        event = parse_line(text, t)
        if event is None:
            continue
        if result.end is not None:
            result.problems.append(Problem("after-end", "%s after %s" % (text, result.end.kind)))
        elif event.kind in VERDICT_KINDS:
            result.verdicts.append(event)
        else:
            result.end = event
    check_end(result, expect_fatal)
    if result.end is not None and result.end.kind == "SUMMARY":
        check_summary(result)
    check_exit(result, end_action(cmdline))
    check_last_line(result)
    check_required(result, require_pass)
    if outcome.screenshot_problem:
        result.problems.append(Problem("screenshot", outcome.screenshot_problem))
    check_skipped(result, require_skip)
    check_skipped(result, require_xfail, "XFAIL")
    check_expected_fails(result, expect_fail)
    return result


def check_end(result, expect_fatal):
    end, o = result.end, result.outcome
    want = "FATAL matching /%s/" % expect_fatal if expect_fatal else "SUMMARY"
    if end is None:
        if o.timed_out:
            why = "no %s within %g s" % (want, o.timeout)
        else:
            reset = {"reset": ", a reset or triple fault",
                     "stopped": ", stopped from outside"}.get(o.exit_kind, "")
            why = "%s exited (status %s%s) before %s" % (o.emulator, o.exit_status, reset, want)
            if o.stderr_tail:
                why += " [%s: %s]" % (o.emulator, o.stderr_tail)
        why += "; last line: " + last_line(result.lines)
        if o.log_hint:
            why += "; " + o.log_hint
        result.problems.append(Problem("summary", why))
    elif end.kind == "FATAL" and expect_fatal and re.search(expect_fatal, end.text):
        result.expected_fatal = True
    elif end.kind == "FATAL":
        what = "unexpected FATAL" if not expect_fatal else "FATAL not matching /%s/" % expect_fatal
        result.problems.append(Problem("fatal", "%s: %s" % (what, end.text)))
    elif expect_fatal:
        result.problems.append(Problem("expect-fatal", "expected a %s, got SUMMARY: %s"
                                       % (want, end.text)))


def check_summary(result):
    """The SUMMARY must be well formed and agree with the verdicts seen."""
    said = parse_summary(result.end.text)
    if said is None:
        result.problems.append(Problem("summary-format", "cannot parse: " + result.end.line()))
        return
    seen = {"tests": len(result.verdicts), "failures": result.count("FAIL", "XPASS"),
            "skipped": result.count("SKIP"), "expected failures": result.count("XFAIL")}
    if said != seen:
        text = ", ".join("%d %s" % (seen[k], k) for k in seen)
        result.problems.append(Problem("summary-count", "%s; the runner saw %s"
                                       % (result.end.line(), text)))


def check_exit(result, action):
    """After SUMMARY/FATAL the emulator must end the way lhv.end= asks:
    poweroff (the default) = exit by itself through the emulator's exit
    device; reboot = reset (-no-reboot turns it into an exit); halt = stay."""
    o = result.outcome
    if result.end is None or action == "halt":
        return
    hint = "; " + o.log_hint if o.log_hint else ""
    if not o.exited:
        result.problems.append(Problem("power-off", "no %s within %g s after %s%s"
                                       % (action, POWEROFF_GRACE, result.end.kind, hint)))
        return
    want = "reset" if action == "reboot" else "poweroff"
    if o.exit_kind != want:
        detail = " [%s: %s]" % (o.emulator, o.stderr_tail) if o.stderr_tail else ""
        result.problems.append(Problem("power-off", "%s expected after %s, but %s ended with "
                                       "status %s (%s)%s%s"
                                       % (action, result.end.kind, o.emulator, o.exit_status,
                                          o.exit_kind, detail, hint)))


def check_last_line(result):
    """An emulator that powered off by itself has printed its last line
    whole: LHV lets the UART's FIFO empty before the end action, or the END
    line (or a FATAL's) is cut off on a slow line."""
    o = result.outcome
    if o.exited and o.cut_line:
        result.problems.append(Problem("cut-off", "the serial output ends mid-line: '%s' (the "
                                       "end action came before the UART sent it all)"
                                       % o.cut_line))


def check_required(result, names):
    for name in names:
        got = [v for v in result.verdicts if v.name == name]
        if not any(v.kind == "PASS" for v in got):
            why = got[-1].line() if got else "no verdict"
            result.problems.append(Problem("require-pass", "%s did not pass (%s)" % (name, why)))


def check_skipped(result, specs, kind="SKIP"):
    """Each spec is NAME:REGEX: test NAME must have printed SKIP (or kind,
    e.g. XFAIL) with a reason matching REGEX (a platform without a feature
    says why; a known deviation is met where it must be)."""
    for spec in specs:
        name, _, regex = spec.partition(":")
        got = [v for v in result.verdicts if v.name == name]
        if not any(v.kind == kind and re.search(regex, v.line()) for v in got):
            why = got[-1].line() if got else "no verdict"
            result.problems.append(Problem("require-" + kind.lower(), "%s did not %s with /%s/ "
                                           "(%s)" % (name, kind, regex, why)))


def check_expected_fails(result, specs):
    """Each spec is NAME:REGEX: test NAME must have printed FAIL with a
    reason matching REGEX (a failure caused on purpose); that FAIL then
    counts as passed."""
    for spec in specs:
        name, _, regex = spec.partition(":")
        got = [v for v in result.verdicts if v.name == name]
        match = [v for v in got if v.kind == "FAIL" and re.search(regex, v.line())]
        if match:
            result.expected_fails.append(match[0])
        else:
            why = got[-1].line() if got else "no verdict"
            result.problems.append(Problem("expect-fail", "%s did not FAIL with /%s/ (%s)"
                                           % (name, regex, why)))
