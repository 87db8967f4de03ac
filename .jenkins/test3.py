#!/usr/bin/python3
"""LHV regression runner (docs/design.md section 4).

Boots LHV in an emulator, timestamps its serial output, parses the verdict
lines (PASS/FAIL/SKIP/XFAIL/XPASS, FATAL, SUMMARY), stops at SUMMARY or
FATAL, checks that the emulator then powers off by itself, optionally writes
JUnit XML, and ends with the plain line "N passed, N failed, N skipped".
Exit status 0 only when a SUMMARY (or the expected FATAL) arrived and nothing
failed; 1 when something failed; 2 when the run could not be set up.

Emulators: QEMU (TCG; GRUB image, GRUB EFI image under OVMF, or direct
multiboot boot) and Bochs 2.7 (GRUB image only; the bochsrc is generated in
the work directory).

The logic is importable (tests/system/matrix.py uses it):
    config = parse_args(["--subarch", "amd64", "--boot", "direct"])
    result = run_once(config)       # -> Result; result.ok, result.counts()
"""

import argparse
import dataclasses
import glob
import importlib.util
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBARCHS = ("amd64", "i386")
DEFAULT_CMDLINE = "serial=115200,8n1,0x3f8 boot_drive=0x80"
POWEROFF_GRACE = 5.0  # seconds the emulator gets to exit after SUMMARY/FATAL
# UEFI firmware for --boot uefi: Debian 12's ovmf package, the unified image
# (code and variables in one; as -bios it is read-only, nothing persists).
OVMF_IMAGE = "/usr/share/ovmf/OVMF.fd"


class SetupError(Exception):
    """The run could not start: missing file, bad option, ISO build failed."""


class Interrupted(Exception):
    """Ctrl-C during a run: the emulator is stopped; args[0] is the serial log."""


# ---------------------------------------------------------------------------
# Serial output: cleaning and parsing (pure functions)

# GRUB's serial terminal writes ANSI/VT100 sequences: CSI (ESC [ params
# letter), character-set selection (ESC ( B) and two-byte ESC sequences.
ESCAPE_RE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[()*+][0-9A-Za-z]|[@-Z\\-_=>])")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

VERDICT_KINDS = ("PASS", "FAIL", "SKIP", "XFAIL", "XPASS")
EVENT_RE = re.compile(r"^(PASS|FAIL|SKIP|XFAIL|XPASS|FATAL|SUMMARY): (.*)$")
SUMMARY_RE = re.compile(r"^(\d+) tests?, (\d+) failures?, (\d+) skipped"
                        r"(?:, (\d+) expected failures?)?$")


NO_VMX_RE = re.compile(r"\bno VMX\b")  # a SKIP reason: the CPU has no VMX


def clean_line(raw):
    """Serial bytes of one line -> text without escape sequences, CRs or other
    control characters (tabs stay)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return CONTROL_RE.sub("", ESCAPE_RE.sub("", text)).rstrip()


@dataclasses.dataclass
class Event:
    """One protocol line. kind: PASS FAIL SKIP XFAIL XPASS FATAL SUMMARY.
    For verdicts, name is group/test and reason the text after it."""
    kind: str
    text: str
    time: float
    name: str = ""
    reason: str = ""

    @property
    def group(self):
        return self.name.split("/", 1)[0] if "/" in self.name else "ungrouped"

    @property
    def test(self):
        return self.name.split("/", 1)[-1]

    def line(self):
        return "%s: %s" % (self.kind, self.text)


def parse_line(text, t=0.0):
    """Returns the Event a cleaned serial line carries, or None."""
    m = EVENT_RE.match(text)
    if not m:
        return None
    kind, rest = m.groups()
    if kind in VERDICT_KINDS:
        name, _, reason = rest.partition(": ")
        return Event(kind, rest, t, name.strip(), reason.strip())
    return Event(kind, rest, t)


def parse_summary(text):
    """'42 tests, 1 failures, 3 skipped, 1 expected failures' -> dict, or
    None when the text does not have that form."""
    m = SUMMARY_RE.match(text.strip())
    if not m:
        return None
    tests, failures, skipped, xfail = m.groups()
    return {"tests": int(tests), "failures": int(failures),
            "skipped": int(skipped), "expected failures": int(xfail or 0)}


def format_line(t, text):
    return "[%7.3f] %s" % (t, text)


# ---------------------------------------------------------------------------
# Comparing two runs' serial logs (--compare; pure but for reading the files)

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


# ---------------------------------------------------------------------------
# Judging a run (pure): serial lines + how the emulator ended -> Result

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


def option_value(cmdline, key, default=None):
    """The value of key= on the command line: the last one wins."""
    value = default
    for word in cmdline.split():
        if word.startswith(key + "="):
            value = word[len(key) + 1:]
    return value


def end_action(cmdline):
    """The end action the command line asks for (default poweroff)."""
    return option_value(cmdline, "lhv.end", "poweroff")


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


# ---------------------------------------------------------------------------
# Reports

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


def xml_text(text):
    """Drops the characters XML 1.0 cannot carry."""
    return re.sub(r"[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "", text)


JUNIT_LOG_LINES = 40  # serial lines attached to a failed testcase


def log_before(lines, until=None, count=JUNIT_LOG_LINES):
    """The last count serial lines up to time until (None: the end),
    timestamped, one string."""
    chosen = [(t, text) for t, text in lines if until is None or t <= until][-count:]
    return "".join(format_line(t, text) + "\n" for t, text in chosen)


def junit_xml(result):
    """JUnit XML for Jenkins: one testcase per verdict (classname = group),
    one per runner problem (classname = runner); the log in system-out."""
    suite = ET.Element("testsuite", name=result.name)
    cases = failures = skipped = 0
    previous = result.lines[0][0] if result.lines else 0.0

    def add_case(group, test, seconds, kind=None, message="", until=None):
        nonlocal cases, failures, skipped
        case = ET.SubElement(suite, "testcase", classname=group, name=test,
                             time="%.3f" % max(seconds, 0.0))
        if kind == "failure":
            ET.SubElement(case, "failure", message=xml_text(message)).text = xml_text(message)
            # The serial log leading to the failure, shown with the case in Jenkins.
            ET.SubElement(case, "system-out").text = xml_text(log_before(result.lines, until))
            failures += 1
        elif kind == "skipped":
            ET.SubElement(case, "skipped", message=xml_text(message))
            skipped += 1
        cases += 1

    for v in result.verdicts:
        kind = {"FAIL": "failure", "XPASS": "failure",
                "SKIP": "skipped", "XFAIL": "skipped"}.get(v.kind)
        add_case(v.group, v.test, v.time - previous, kind, v.line(), until=v.time)
        previous = v.time
    if result.expected_fatal:
        add_case("runner", "expected-fatal", 0.0)
    for p in result.problems:
        add_case("runner", p.name, 0.0, "failure", p.message)
    total = result.outcome.exit_time if result.outcome and result.outcome.exit_time else previous
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    suite.set("time", "%.3f" % total)
    log = "\n".join(format_line(t, text) for t, text in result.lines)
    ET.SubElement(suite, "system-out").text = xml_text(log + "\n")
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# ---------------------------------------------------------------------------
# Stack traces: LHV prints the faulting ip and, per frame, the return address
# (release builds) or FUNCTION+0xOFFSET (debug builds, tools/symtab.py). The
# runner looks them up in the runtime ELF with addr2line: a return address
# at ADDR-1 (the call itself: after a call to a noreturn function ADDR is
# already in the next function), with file:line where the ELF has DWARF
# (debug builds).

TRACE_IP_RE = re.compile(r"^\s+ip (0x[0-9a-f]+) cs ")
TRACE_RE = re.compile(r"^\s+stack trace:(.*)$")
FRAME_RE = re.compile(r"^(?:0x([0-9a-f]+)|([A-Za-z_.$][\w.$]*)\+0x([0-9a-f]+))$")


def trace_addresses(texts):
    """Serial lines -> one list per stack trace of (label, address to look
    up): the ip of the report before it (as is), then each frame (ADDR-1).
    Debug frames NAME+0xOFF give ('NAME+0xOFF', (NAME, OFF-1))."""
    traces, ip = [], None
    for text in texts:
        m = TRACE_IP_RE.match(text)
        if m:
            ip = m.group(1)
            continue
        m = TRACE_RE.match(text)
        if not m:
            continue
        frames = [("ip " + ip, int(ip, 16))] if ip else []
        for word in m.group(1).split():
            f = FRAME_RE.match(word)
            if f and f.group(1):
                frames.append((word, int(f.group(1), 16) - 1))
            elif f:
                frames.append((word, (f.group(2), int(f.group(3), 16) - 1)))
        traces.append(frames)
        ip = None
    return traces


def elf_symbols(elf):
    """{name: address} of the ELF's symbols (nm), {} when nm fails."""
    try:
        out = subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {p[2]: int(p[0], 16) for p in (line.split() for line in out.splitlines())
            if len(p) == 3}


def addr2line(elf, addresses):
    """addresses -> ['function at file:line' or 'function', ...]; None when
    addr2line cannot run."""
    try:
        out = subprocess.run(["addr2line", "-f", "-p", "-e", elf] +
                             ["0x%x" % a for a in addresses],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    names = [re.sub(r" at \?\?:\?$|:\?$", "", line.strip()) for line in out.splitlines()]
    return [name.replace(" at %s/" % ROOT, " at ") for name in names]


def symbolised_frames(lines, config):
    """Report lines naming each frame of the run's stack traces."""
    traces = trace_addresses([text for _, text in lines])
    if not traces:
        return []
    elf = os.path.join(config.xmhf_bin, "runtime-x86-%s.elf" % config.subarch)
    if getattr(config, "boot_dir", None) or getattr(config, "module", None):
        return ["test3: stack trace: the image came from --boot-dir or --module; look the frames "
                "up (at ADDR-1) in its own runtime ELF"]
    if not os.path.isfile(elf):
        return ["test3: stack trace: %s is missing, the frames stay unnamed" % elf]
    symbols = elf_symbols(elf) if any(isinstance(a, tuple) for t in traces for _, a in t) else {}
    out = []
    for frames in traces:
        known = [(label, a if isinstance(a, int) else symbols[a[0]] + a[1])
                 for label, a in frames if isinstance(a, int) or a[0] in symbols]
        names = addr2line(elf, [a for _, a in known]) if known else []
        if names is None:
            return ["test3: stack trace: addr2line failed on %s" % elf]
        shown = os.path.relpath(elf)
        out.append("test3: stack trace (%s; a return address looked up at ADDR-1, the call):"
                   % (elf if shown.startswith("..") else shown))
        out += ["test3:   %-24s %s" % (label, name) for (label, _), name in zip(known, names)]
    return out


# ---------------------------------------------------------------------------
# Boot images

@dataclasses.dataclass
class BootImage:
    """What the emulator boots: an ISO (GRUB) or kernel + module + cmdline
    (direct multiboot boot; module None = no module)."""
    iso: str = None
    efi: bool = False             # the ISO boots under UEFI firmware (OVMF)
    kernel: str = None
    module: str = None
    cmdline: str = ""

    def describe(self):
        if self.iso:
            return self.iso
        return "kernel %s, module %s, cmdline %r" % (self.kernel, self.module, self.cmdline)


def load_mkiso():
    path = os.path.join(ROOT, "tools", "mkiso.py")
    spec = importlib.util.spec_from_file_location("lhv_mkiso", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def built_file(config, name):
    path = os.path.join(config.xmhf_bin, name)
    if os.path.isfile(path):
        return path
    if config.boot == "direct" and os.path.isfile(path + ".gz"):
        raise SetupError("%s not found, only %s.gz: direct boot needs the uncompressed image "
                         "(QEMU's -initrd does not unpack gzip; GRUB does): gunzip -k %s.gz, "
                         "or boot it with --boot grub" % (path, name, path))
    raise SetupError("%s not found: run make (or test3.py --build), or pass --xmhf-bin DIR "
                     "(the directory holding init-x86-%s.bin and hypervisor-x86-%s.bin.gz)"
                     % (path, config.subarch, config.subarch))


def prepared_iso(config):
    """The ISO for the subarch in --boot-dir, or None without --boot-dir.
    Raises SetupError when --boot-dir is given but cannot be used: the user
    must not believe a freshly built image was theirs."""
    if not config.boot_dir:
        return None
    where = "--boot-dir %s" % config.boot_dir
    if config.boot == "direct":
        raise SetupError("%s holds GRUB images: it cannot go with --boot direct "
                         "(use --xmhf-bin DIR for the direct boot's files)" % where)
    if not os.path.isdir(config.boot_dir):
        raise SetupError("%s: no such directory" % where)
    isos = sorted(glob.glob(os.path.join(config.boot_dir, "*%s*.iso" % config.subarch)))
    if not isos:
        held = sorted(os.listdir(config.boot_dir))
        what = "it is empty" if not held else "it holds %s" % ", ".join(held[:8]) + (
            ", ..." if len(held) > 8 else "")
        raise SetupError("%s: no ISO whose name contains %s (*%s*.iso); %s"
                         % (where, config.subarch, config.subarch, what))
    if config.cmdline is not None or config.module or config.no_module:
        raise SetupError("%s is prepared: it cannot take --cmdline, --module or --no-module"
                         % isos[0])
    return isos[0]


def prepare_boot(config):
    """Builds (or finds) what the emulator boots."""
    sub = config.subarch
    if config.boot in ("grub", "uefi"):
        efi = config.boot == "uefi"
        iso = prepared_iso(config)
        if iso:
            return BootImage(iso=iso, efi=efi)
        built_file(config, "init-x86-%s.bin" % sub)  # test3's words, not mkiso's
        if not config.module and not config.no_module:
            built_file(config, "hypervisor-x86-%s.bin.gz" % sub)
        mkiso = load_mkiso()
        iso = os.path.join(config.work_dir, "lhv-%s%s.iso" % (sub, "-efi" if efi else ""))
        try:
            mkiso.make_iso(sub, iso, config.xmhf_bin, config.cmdline, config.module,
                           config.no_module, efi=efi)  # cmdline None: the cfg's own
        except mkiso.MkisoError as e:
            raise SetupError("mkiso: %s" % e)
        return BootImage(iso=iso, efi=efi)
    kernel = built_file(config, "init-x86-%s.bin" % sub)
    module = None
    if not config.no_module:
        module = config.module or built_file(config, "hypervisor-x86-%s.bin" % sub)
        if re.search(r"[, ]", module):
            raise SetupError("QEMU's -initrd cannot take a path with a comma or space: %s" % module)
    return BootImage(kernel=kernel, module=module, cmdline=config.cmdline or DEFAULT_CMDLINE)


# ---------------------------------------------------------------------------
# Emulators. A backend builds the command, starts the emulator and returns
# (process, binary stream of serial output); the stream must reach EOF when
# the emulator ends. After the end, ending() reads how it ended:
# (exit kind, one-line detail, where its own log is).

class Qemu:
    name = "qemu"
    boots = ("grub", "direct", "uefi")
    binary = "qemu-system-x86_64"  # runs i386 guests as well

    def command(self, config, image):
        monitor = "none"
        if config.screenshot:
            monitor = "unix:%s,server=on,wait=off" % monitor_path(config)
        serial = ["-serial", "stdio"]
        if getattr(config, "vga_only", False):
            serial = ["-serial", "file:" + os.path.join(config.work_dir, "com1.out"),
                      "-debugcon", "file:" + console_path(config)]
        cmd = [self.binary, "-display", "none", "-monitor", monitor] + serial + [
               "-no-reboot", "-nic", "none",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
               "-m", config.memory, "-smp", str(config.smp), "-cpu", config.cpu]
        if config.accel == "kvm":
            cmd.insert(1, "-enable-kvm")
        if image.efi:
            cmd += ["-bios", OVMF_IMAGE]
        if image.iso:
            cmd += ["-drive", "format=raw,file=" + image.iso]
        else:
            cmd += ["-kernel", image.kernel, "-append", image.cmdline]
            if image.module:
                cmd += ["-initrd", image.module]
        return cmd + config.extra_qemu_args

    def start(self, config, image, stderr):
        self.stderr_path = stderr.name
        if not getattr(config, "vga_only", False):
            proc = subprocess.Popen(self.command(config, image), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=stderr)
            return proc, proc.stdout
        e9 = console_path(config)
        if os.path.exists(e9):
            os.remove(e9)
        proc = subprocess.Popen(self.command(config, image), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=stderr)
        return proc, tail_stream(e9, proc)

    @staticmethod
    def exit_kind(status):
        """isa-debug-exit makes QEMU exit with (value << 1) | 1; with
        -no-reboot a reset or triple fault exits with 0."""
        if status is None or status < 0:
            return "killed"
        if status == 0:
            return "reset"
        return "poweroff" if status & 1 else "error"

    def ending(self, status, exited):
        kind = self.exit_kind(status) if exited else "killed"
        detail = stderr_tail(self.stderr_path)
        # QEMU exits with status 0 when gdb kills it or a signal ends it:
        # its stderr, not the status, says that this was no reset.
        if kind == "reset" and QEMU_STOPPED_RE.search(detail):
            kind = "stopped"
        return kind, detail, ""

    def screenshot(self, config):
        """Saves the VGA screen as PNG through the monitor socket (QEMU's
        screendump); returns '' or what went wrong."""
        try:
            return monitor_screendump(monitor_path(config), config.screenshot)
        except OSError as e:
            return "monitor: %s" % e


# What QEMU prints when it is stopped from outside (gdb's kill, SIGINT, SIGTERM).
QEMU_STOPPED_RE = re.compile(r"Terminated via GDBstub|terminating on signal \d+")


def monitor_path(config):
    return os.path.join(config.work_dir, "monitor.sock")


def monitor_screendump(sock_path, png, timeout=10.0):
    """Runs 'screendump PNG -f png' on the QEMU monitor at sock_path and
    waits for the prompt after it (the file is complete then)."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)

        def until_prompt():
            data = b""
            while not data.rstrip().endswith(b"(qemu)"):
                if time.monotonic() > deadline:
                    raise OSError("no monitor prompt within %g s" % timeout)
                chunk = s.recv(4096)
                if not chunk:
                    raise OSError("the monitor closed the connection")
                data += chunk
            return data.decode("utf-8", "replace")

        until_prompt()
        if os.path.exists(png):
            os.remove(png)
        s.sendall(("screendump %s -f png\n" % png).encode())
        answer = clean_line(until_prompt().replace("(qemu)", "").replace("\n", " "))
    answer = answer.replace("screendump %s -f png" % png, "").strip()
    if not os.path.isfile(png):
        return "screendump wrote no file%s" % (": " + answer if answer else "")
    return ""


# KVM: the host's /dev/kvm and the kvm_intel module's nested parameter
# (docs/kvm.md). LHV needs VMX from its L0: KVM on an AMD host offers SVM.
KVM_DEVICE = "/dev/kvm"
KVM_INTEL_NESTED = "/sys/module/kvm_intel/parameters/nested"


def check_kvm(device=None, nested=None):
    """Raises SetupError saying what to do when nested VMX under KVM cannot
    work on this host."""
    device = device or KVM_DEVICE
    nested = nested or KVM_INTEL_NESTED
    if not os.path.exists(device):
        raise SetupError("--accel kvm: %s is missing (no KVM on this host: a VM without "
                         "nested virtualization, the kvm_intel module not loaded, or no VT-x "
                         "in the firmware); run without --accel kvm for QEMU TCG, or see "
                         "docs/kvm.md" % device)
    if not os.access(device, os.R_OK | os.W_OK):
        raise SetupError("--accel kvm: no read/write access to %s (add yourself to the "
                         "kvm group, or run as root)" % device)
    try:
        with open(nested) as f:
            value = f.read().strip()
    except OSError:
        raise SetupError("--accel kvm: %s is missing: kvm_intel is not loaded (an AMD host "
                         "offers SVM, not VMX, to its guests; LHV needs an Intel host)" % nested)
    if value not in ("Y", "1"):
        raise SetupError("--accel kvm: nested VMX is off (%s is %s): "
                         "modprobe -r kvm_intel && modprobe kvm_intel nested=1 (docs/kvm.md)"
                         % (nested, value))


# The KVM probe, shared by --accel kvm and make bench: a /dev/kvm that the
# checks above accept may still not run a guest (a paravirtual KVM here runs
# LHV's first lines, then fails its INT3 with "KVM internal error ...
# emulation failure"; elsewhere QEMU aborts with "failed to set MSR 0x10a").
# One short boot, direct, under -enable-kvm -cpu host, of the exception tests
# (an ordinary guest's basics), and LHV's own "vmx:" line for nested VMX.
KVM_PROBE_CMDLINE = "lhv.tests=exceptions/*"
KVM_PROBE_TIMEOUT = 15.0
KVM_VMX_LINE_RE = re.compile(r"^vmx: (?:not used: .*|(\d+) of \d+ CPUs in VMX operation)$")


def probe_kvm(subarch="amd64", xmhf_bin=ROOT, work_dir=None):
    """Boots LHV once under KVM; returns (guest, vmx), each "" when fine or
    why not: guest, KVM ran the probe to SUMMARY; vmx, LHV found VMX there."""
    if not os.path.exists(KVM_DEVICE):
        return ("%s is missing" % KVM_DEVICE,) * 2
    if not os.access(KVM_DEVICE, os.R_OK | os.W_OK):
        return ("no read/write access to %s" % KVM_DEVICE,) * 2
    argv = ["--subarch", subarch, "--boot", "direct", "--cpu", "host",
            "--extra-qemu-args=-enable-kvm", "--cmdline", KVM_PROBE_CMDLINE,
            "--timeout", str(KVM_PROBE_TIMEOUT), "--name", "kvm-probe-" + subarch,
            "--xmhf-bin", xmhf_bin] + (["--work-dir", work_dir] if work_dir else [])
    config = parse_args(argv)
    result = run_once(config)
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


def kvm_cpu(model):
    """The -cpu value for nested VMX: host passthrough with VMX by default;
    a named model gets vmx=on unless it already says something about vmx."""
    if not model:
        return "host,+vmx"
    if "vmx" in model:
        return model
    return model + ",vmx=on"


# Bochs 2.7. Facts behind these choices (measured on Debian 12, see
# ../shared/notes/emulators.md): the nogui library is not built, rfb with
# timeout=0 runs without a viewer and parallel instances take the next free
# port; Bochs starts in its debugger, so an rc file holding "c" continues;
# COM1 goes to a file written per character, which the runner tails; a write
# of "Shutdown" to port 0x8900 ends Bochs with status 1 and a "panic" message
# on stderr, as does a triple fault with reset_on_triple_fault=0, so the
# message, not the status, tells them apart. Under LANG or LC_ALL=C.UTF-8
# (LC_NUMERIC) Bochs 2.7 aborts at start ("buffer overflow detected"): it
# runs with LC_ALL=C.

BOCHS_SHARE = "/usr/share/bochs"
# Bochs 3.0 (issue #16): built from Debian 13's source by tools/bochs3.sh,
# without debugger (no -rc: it runs at once) and without sound (a sound:
# line is a fatal config error); its source has no BIOS images, so it boots
# Debian 12's, as 2.7 does. LHV learns the version from lhv.bochs= (the
# guest cannot read it from Bochs: docs/l0-deviations.md).
BOCHS_VERSIONS = ("2.7", "3.0")
BOCHS_BINARIES = {"2.7": "bochs",
                  "3.0": os.path.join(ROOT, "build-deps", "bochs-3.0", "bin", "bochs")}
BOCHS_DEFAULT_CPU = "corei7_skylake_x"
BOCHS_MAX_HOST_MIB = 2048  # 'megs' (host memory) stops there; 'memory: guest=' goes beyond
BOCHS_IPS = 10000000       # instructions per emulated second: larger makes BIOS/GRUB waits longer
BOCHS_EXIT_BANNER = "Bochs is exiting with the following message:"
BOCHS_POWEROFF_RE = re.compile(r"Shutdown port: shutdown requested")
BOCHS_TRIPLE_FAULT_RE = re.compile(r"exception with no resolution|triple fault", re.I)
BOCHS_NO_INPUT = "fgets() returned ERROR"  # the debugger stopped and read EOF from stdin


def memory_mib(text):
    """A size in QEMU -m syntax (512M, 2G, 512 = MiB; K, M, G, T suffixes,
    any case, optional B) -> whole MiB. Raises SetupError."""
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)B?\s*", text, re.I)
    if not m:
        raise SetupError("--memory %r: give a size like 512M or 2G" % text)
    shift = {"K": 10, "": 20, "M": 20, "G": 30, "T": 40}[m.group(2).upper()]
    size = int(m.group(1)) << shift
    if size % (1 << 20) or size == 0:
        raise SetupError("--memory %r: Bochs needs a whole, non-zero number of MiB" % text)
    return size >> 20


def bochsrc_quote(path):
    """A path as a bochsrc value: quoted, so spaces and commas survive."""
    if '"' in path or "\n" in path:
        raise SetupError("a bochsrc cannot name a path containing a quote or newline: %r" % path)
    return '"%s"' % path


def bochsrc_text(model, cpus, mib, iso, com1, log, share=BOCHS_SHARE, version="2.7"):
    """The bochsrc for one run: the GRUB ISO as a CD on ata0-master, mib MiB
    of RAM, cpus processors of Bochs model `model`, COM1 into the file com1,
    Bochs' log into the file log; for Bochs `version`."""
    if mib <= BOCHS_MAX_HOST_MIB:
        memory = "megs: %d" % mib
    else:
        memory = "memory: guest=%d, host=%d" % (mib, BOCHS_MAX_HOST_MIB)
    lines = [
        "# Generated by .jenkins/test3.py for one run; rerun with the command in command.txt.",
        "romimage: file=%s" % bochsrc_quote(os.path.join(share, "BIOS-bochs-latest")),
        "vgaromimage: file=%s" % bochsrc_quote(os.path.join(share, "VGABIOS-lgpl-latest")),
        memory,
        "ata0-master: type=cdrom, path=%s, status=inserted" % bochsrc_quote(iso),
        "boot: cdrom",
        # ignore_bad_msrs=0: an MSR the model lacks raises #GP, as on hardware
        # (the default 1 reads 0 and drops writes).
        "cpu: model=%s, count=%d, ips=%d, reset_on_triple_fault=0, ignore_bad_msrs=0"
        % (model, cpus, BOCHS_IPS),
        "clock: sync=none, time0=local",
        "com1: enabled=1, mode=file, dev=%s" % bochsrc_quote(com1),
        # Port 0xe9 reads 0xe9 (how LHV detects Bochs) and its output goes to stdout.
        "port_e9_hack: enabled=1",
        "log: %s" % bochsrc_quote(log),
        "panic: action=fatal",
        "error: action=ignore",
        "info: action=ignore",
        "debug: action=ignore",
        # xchg %bx,%bx stops in the debugger (which then reads EOF and quits).
        "magic_break: enabled=1",
        "sound: driver=dummy",  # no ALSA noise on stderr
        'display_library: rfb, options="timeout=0"',
    ]
    if version == "3.0":  # built without debugger and sound (tools/bochs3.sh)
        lines = [line for line in lines if not line.startswith(("sound:", "magic_break:"))]
    return "\n".join(lines) + "\n"


def bochs_exit_message(stderr_text):
    """The line after Bochs' 'exiting with the following message', or ''."""
    lines = stderr_text.splitlines()
    for i, line in enumerate(lines):
        if BOCHS_EXIT_BANNER in line and i + 1 < len(lines):
            return lines[i + 1].strip()
    return ""


def bochs_exit_kind(status, stderr_text):
    """How Bochs ended: 'poweroff' (the shutdown port), 'reset' (a triple
    fault), 'killed' (a signal) or 'error' (anything else: bad bochsrc,
    another panic, the debugger stopping at a magic breakpoint)."""
    if status is None or status < 0:
        return "killed"
    message = bochs_exit_message(stderr_text)
    if BOCHS_POWEROFF_RE.search(message):
        return "poweroff"
    if BOCHS_TRIPLE_FAULT_RE.search(message):
        return "reset"
    return "error"


def bochs_exit_detail(stderr_text, stdout_text=""):
    """One line saying why Bochs ended."""
    message = bochs_exit_message(stderr_text)
    if "cpu directive malformed" in message:
        message += " (is --bochs-cpu a Bochs 2.7 model? 'bochs -help cpu' lists them)"
    if not message and BOCHS_NO_INPUT in stdout_text:
        message = "the debugger stopped (a magic breakpoint, xchg %bx,%bx?) and had no input"
    if not message:
        useful = [line.strip() for line in stderr_text.splitlines()
                  if line.strip() and not re.match(r"\d{11}i\[|ALSA lib ", line.strip())]
        message = " / ".join(useful[-3:])
    return message if len(message) <= 300 else message[:300] + "..."


def tail_into_pipe(path, proc, wfd, poll=0.01):
    """Copies what proc writes into the file at path to the pipe wfd as it
    arrives; closes wfd once proc has ended and the file is drained."""
    f = None
    try:
        while True:
            ended = proc.poll() is not None  # checked before the read: the last read is complete
            if f is None and os.path.exists(path):
                f = open(path, "rb")
            data = f.read() if f else b""
            if data:
                os.write(wfd, data)
            elif ended:
                break
            else:
                time.sleep(poll)
    finally:
        if f:
            f.close()
        os.close(wfd)


def tail_stream(path, proc):
    """A binary stream of what proc writes into the file at path, reaching
    EOF once proc has ended."""
    rfd, wfd = os.pipe()
    threading.Thread(target=tail_into_pipe, args=(path, proc, wfd), daemon=True).start()
    return os.fdopen(rfd, "rb", buffering=0)


class Bochs:
    name = "bochs"
    boots = ("grub",)
    binary = "bochs"

    def files(self, config):
        """The run's files in the work directory."""
        w = config.work_dir
        return {"bochsrc": os.path.join(w, "bochsrc"), "rc": os.path.join(w, "bochs.rc"),
                "com1": os.path.join(w, "com1.out"), "log": os.path.join(w, "bochs.log"),
                "stdout": os.path.join(w, "bochs.out")}

    def command(self, config, image):
        f = self.files(config)
        binary = BOCHS_BINARIES[config.bochs_version]
        rc = ["-rc", f["rc"]] if config.bochs_version == "2.7" else []
        return ["env", "LC_ALL=C", binary, "-q", "-f", f["bochsrc"]] + rc

    def bochsrc(self, config, image):
        f = self.files(config)
        return bochsrc_text(config.bochs_cpu, config.smp, memory_mib(config.memory),
                            image.iso, f["com1"], f["log"], version=config.bochs_version)

    def start(self, config, image, stderr):
        if config.bochs_version == "3.0" and not os.access(BOCHS_BINARIES["3.0"], os.X_OK):
            raise SetupError("Bochs 3.0 not built (%s missing): run tools/bochs3.sh "
                             "(make test does)" % BOCHS_BINARIES["3.0"])
        if shutil.which(BOCHS_BINARIES[config.bochs_version]) is None:
            raise SetupError("bochs not found: install bochs, bochsbios and vgabios "
                             "(tools/deps.sh does)")
        for rom in ("BIOS-bochs-latest", "VGABIOS-lgpl-latest"):
            if not os.path.exists(os.path.join(BOCHS_SHARE, rom)):
                raise SetupError("%s/%s missing: install bochsbios and vgabios "
                                 "(tools/deps.sh does)" % (BOCHS_SHARE, rom))
        f = self.files(config)
        self.paths, self.stderr_path = f, stderr.name
        with open(f["bochsrc"], "w") as out:
            out.write(self.bochsrc(config, image))
        with open(f["rc"], "w") as out:
            out.write("c\n")
        for stale in (f["com1"], f["log"]):
            if os.path.exists(stale):
                os.remove(stale)
        with open(f["stdout"], "wb") as stdout:
            proc = subprocess.Popen(self.command(config, image), stdin=subprocess.DEVNULL,
                                    stdout=stdout, stderr=stderr, cwd=config.work_dir)
        source = console_path(config) if getattr(config, "vga_only", False) else f["com1"]
        return proc, tail_stream(source, proc)

    def ending(self, status, exited):
        def text(path):
            try:
                with open(path, errors="replace") as fp:
                    return fp.read()
            except OSError:
                return ""
        err, out = text(self.stderr_path), text(self.paths["stdout"])
        kind = bochs_exit_kind(status, err) if exited else "killed"
        return kind, bochs_exit_detail(err, out), "Bochs log: " + self.paths["log"]


EMULATORS = {"qemu": Qemu, "bochs": Bochs}
DEFAULT_TIMEOUTS = {"qemu": 30.0, "bochs": 120.0}


# ---------------------------------------------------------------------------
# Running the emulator

def read_serial(stream, t0, out):
    """Reader thread: puts (seconds since t0, raw line, whole) on the queue
    out as each line completes (whole=True), the unterminated rest at EOF
    (whole=False), then None."""
    pending = b""
    while True:
        chunk = os.read(stream.fileno(), 4096)
        now = time.monotonic() - t0
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            out.put((now, raw, True))
    if pending:
        out.put((time.monotonic() - t0, pending, False))
    out.put(None)


class SerialSession:
    """Collects cleaned, timestamped lines from the reader thread, logs them
    to serial.log and echoes them (all with --verbose, protocol lines else)."""

    def __init__(self, log, echo, verbose):
        self.lines, self.log, self.echo, self.verbose = [], log, echo, verbose
        self.queue = queue.Queue()
        self.eof = False
        self.cut_line = ""  # the last line, when it came without a newline

    def take(self, item):
        """Files one queue item; returns the Event it carries, if any."""
        if item is None:
            self.eof = True
            return None
        t, raw, whole = item
        text = clean_line(raw)
        if not text:
            return None
        if not whole:
            self.cut_line = text
        self.lines.append((t, text))
        self.log.write(format_line(t, text) + "\n")
        self.log.flush()
        event = parse_line(text, t)
        if self.echo and (self.verbose or event):
            self.echo(format_line(t, text))
        return event

    def until_end(self, deadline):
        """Takes lines until SUMMARY/FATAL (True), EOF or the deadline (False)."""
        while not self.eof:
            try:
                item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            event = self.take(item)
            if event and event.kind in ("SUMMARY", "FATAL"):
                return True
        return False

    def drain(self):
        while not self.eof:
            self.take(self.queue.get())


def stderr_tail(path, limit=300):
    """The emulator's stderr on one line, cut to limit characters."""
    try:
        with open(path, errors="replace") as f:
            text = " / ".join(line.strip() for line in f if line.strip())
    except OSError:
        return ""
    return text if len(text) <= limit else text[:limit] + "..."


def parse_host_stalls(text):
    """--host-stalls MS:EVERY -> (stop seconds, period seconds), or None."""
    if not text:
        return None
    try:
        stop, every = (float(x) / 1000 for x in text.split(":"))
    except ValueError:
        stop = every = -1
    if not 0 < stop < every:
        raise SetupError("--host-stalls %r: give MS:EVERY in milliseconds, 0 < MS < EVERY "
                         "(e.g. 70:250)" % text)
    return stop, every


def stall_emulator(proc, stalls, done):
    """Stops proc for stalls[0] seconds every stalls[1] seconds until done is
    set (--host-stalls): the emulator's clocks go on while it is stopped."""
    stop, every = stalls
    while not done.wait(every - stop):
        try:
            proc.send_signal(signal.SIGSTOP)
            done.wait(stop)
            proc.send_signal(signal.SIGCONT)
        except ProcessLookupError:
            return


def run_emulator(config, image, echo=None):
    """Runs the emulator on image; returns (cleaned lines, Outcome)."""
    backend = EMULATORS[config.emulator]()
    work = config.work_dir
    with open(os.path.join(work, "emulator.log"), "wb") as err, \
            open(os.path.join(work, "serial.log"), "w") as log:
        t0 = time.monotonic()
        screenshot_problem = ""
        try:
            proc, stream = backend.start(config, image, err)
        except OSError as e:
            raise SetupError("cannot start %s: %s" % (backend.name, e))
        session = SerialSession(log, echo, config.verbose)
        reader = threading.Thread(target=read_serial, args=(stream, t0, session.queue),
                                  daemon=True)
        reader.start()
        stalls_done = threading.Event()
        if getattr(config, "host_stalls", None):
            threading.Thread(target=stall_emulator, args=(proc, config.host_stalls, stalls_done),
                             daemon=True).start()
        try:
            ended = session.until_end(t0 + config.timeout)
            stalls_done.set()
            if ended and getattr(config, "screenshot", None):
                why = backend.screenshot(config)
                if why and echo:
                    echo("test3: --screenshot %s: %s" % (config.screenshot, why))
                screenshot_problem = why
            # After SUMMARY/FATAL (or EOF) the emulator gets the grace time to
            # power off, none when lhv.end=halt; after a timeout it is killed.
            grace = POWEROFF_GRACE if ended or session.eof else 0.0
            if ended and end_action(config.cmdline or "") == "halt":
                grace = 0.0
            try:
                status = proc.wait(timeout=grace)
                exited = True
            except subprocess.TimeoutExpired:
                proc.kill()
                status = proc.wait()
                exited = False
        except KeyboardInterrupt:
            proc.kill()
            proc.wait()
            raise Interrupted(log.name)
        finally:
            stalls_done.set()
            if getattr(config, "host_stalls", None) and proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
        exit_time = time.monotonic() - t0
        session.drain()
        reader.join()
        stream.close()
    kind, detail, log_hint = backend.ending(status, exited)
    outcome = Outcome(exited=exited, exit_status=status, exit_time=exit_time, exit_kind=kind,
                      timed_out=not ended and not exited, timeout=config.timeout,
                      stderr_tail=detail, emulator=backend.name, log_hint=log_hint,
                      screenshot_problem=screenshot_problem, cut_line=session.cut_line)
    return session.lines, outcome


def run_once(config, echo=None):
    """Prepares the boot image, runs the emulator and judges the run.
    echo(line) receives live serial lines (protocol lines, or all of them
    with config.verbose). Raises SetupError when the run cannot start."""
    start = time.monotonic()
    os.makedirs(config.work_dir, exist_ok=True)
    image = prepare_boot(config)
    with open(os.path.join(config.work_dir, "command.txt"), "w") as f:
        f.write(shlex.join(EMULATORS[config.emulator]().command(config, image)) + "\n")
    kept = keep_previous_log(config.work_dir)
    lines, outcome = run_emulator(config, image, echo)
    result = judge(config.name, lines, outcome, config.cmdline or "", config.expect_fatal,
                   config.require_pass, config.require_skip, config.expect_fail,
                   config.require_xfail)
    result.wall = time.monotonic() - start
    if getattr(config, "vga_only", False):
        result.notes.append("test3: lhv.console=vga: LHV's serial output stops early; the "
                            "verdicts were read from port 0xe9 (lhv.e9=1): %s"
                            % console_path(config))
    if config.screenshot and not outcome.screenshot_problem and os.path.isfile(config.screenshot):
        result.notes.append("test3: the screen is in " + config.screenshot)
    if kept:
        result.notes.append("test3: the previous run's serial log is kept as " + kept)
    result.notes += symbolised_frames(result.lines, config)
    if config.junit:
        try:
            with open(config.junit, "w") as f:
                f.write(junit_xml(result))
        except OSError as e:
            result.problems.append(Problem("junit", "cannot write %s: %s" % (config.junit, e)))
    return result


def keep_previous_log(work_dir):
    """Moves the last run's serial.log to serial.prev.log (one run back), so
    that a mistyped rerun does not destroy the log to --compare with.
    Returns the kept path, or None."""
    log = os.path.join(work_dir, "serial.log")
    if not os.path.isfile(log) or os.path.getsize(log) == 0:
        return None
    kept = os.path.join(work_dir, "serial.prev.log")
    os.replace(log, kept)
    return kept


# Sources whose change makes the tree root's images stale: init is built
# from its own stage and the library only (make leaves it alone when lhv/
# changes), the hypervisor image from everything.
SOURCE_DIRS = ("xmhf", "lhv", "hypapps")
INIT_SOURCE_DIRS = ("xmhf/init", "xmhf/lib", "xmhf/include")
SOURCE_SUFFIXES = (".c", ".h", ".S", ".ld")


def newest_source(root, dirs, than):
    """The newest source file under root/dirs changed after time `than`, or None."""
    newest, newest_time = None, than
    for top in dirs:
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                path = os.path.join(d, f)
                if f.endswith(SOURCE_SUFFIXES) and os.path.getmtime(path) > newest_time:
                    newest, newest_time = path, os.path.getmtime(path)
    return newest


def images_booted(config):
    """The files of the tree this run boots (the ones make writes)."""
    sub = config.subarch
    names = ["init-x86-%s.bin" % sub]
    if not config.module and not config.no_module:
        names.append("hypervisor-x86-%s.bin%s" % (sub, "" if config.boot == "direct" else ".gz"))
    return [os.path.join(config.xmhf_bin, n) for n in names]


def stale_warning(config, root=ROOT):
    """A warning when a source file of the tree is newer than an image this
    run boots from it, else ''. Only for the images make builds in root."""
    if config.xmhf_bin != root or config.boot_dir:
        return ""
    for image in images_booted(config):
        if not os.path.isfile(image):
            continue
        init = os.path.basename(image).startswith("init-")
        newest = newest_source(root, INIT_SOURCE_DIRS if init else SOURCE_DIRS,
                               os.path.getmtime(image))
        if newest:
            return ("warning: %s changed after %s was built: this run boots the old image "
                    "(run make first, or add --build)" % (os.path.relpath(newest, root),
                                                          os.path.basename(image)))
    return ""


# ---------------------------------------------------------------------------
# Command line

HELP_EPILOG = """\
output: each verdict line as it arrives, timestamped in seconds since the
emulator started ("[  0.412] PASS: boot/params"); runner failures as
"FAIL: runner/<what>: ..."; the times of the first serial line, SUMMARY/FATAL
and the emulator's exit; the names of what failed ("failed: ..."); the
expected failures, counted apart ("expected failures (XFAIL, not counted
below): N: ..."); and last the plain line "N passed, N failed, N skipped"
(SKIP as skipped; FAIL, XPASS, an unexpected FATAL, a missing SUMMARY and a
missing power-off as failed; XFAIL in none of the three).

The work directory keeps serial.log (the full timestamped log; the run before
it is moved to serial.prev.log), emulator.log (the emulator's stderr),
command.txt (the exact emulator command) and the ISO. A run that boots the
tree's images while a source under xmhf/, lhv/ or hypapps/ is newer warns
("run make first, or add --build"). A stack trace in the log is looked up in
runtime-x86-SUBARCH.elf with addr2line and printed with the frames' names
(return addresses at ADDR-1; file:line in debug builds).

With Bochs also bochsrc and bochs.rc (generated), com1.out (COM1 as Bochs
wrote it), bochs.log (Bochs' own log: read it when Bochs panics or a VM entry
fails) and bochs.out (its stdout: the debugger, port 0xe9 output).

lhv.console=vga ends LHV's serial output once the platform is up: the runner
then adds lhv.e9=1 and reads the verdicts from port 0xe9 (QEMU: -debugcon into
e9.out, COM1 into com1.out; Bochs: bochs.out), and under QEMU saves the screen
at SUMMARY/FATAL as screen.png in the work directory (lhv.end=halt added,
unless --screenshot names the file or the command line has its own lhv.end=).

Bochs boots the GRUB image only. LHV ends a Bochs run through the shutdown
port 0x8900 (Bochs exits with status 1 and a "Shutdown port" panic message:
the runner counts that as the power-off); a triple fault also ends Bochs
(reset_on_triple_fault=0) and fails the run with the last serial line.
Bochs takes longer: the default timeout is 120 s (QEMU 30 s).

--compare A.log B.log (alone, no other option): reads two runs' serial.log
files and prints the tests whose verdicts differ (name, verdict in A, verdict
in B; "-" for a test only one run has), from LHV's closing "table:" lines or,
without them, the verdict lines. Exit 0 when the verdicts are the same, 1
when not, 2 when a log cannot be read.

examples:
  .jenkins/test3.py --subarch amd64
  .jenkins/test3.py --subarch i386 --boot direct --smp 4 --memory 2G --verbose
  .jenkins/test3.py --subarch amd64 --boot direct --cmdline "lhv.bogus=1" \\
      --expect-fatal "unknown option lhv.bogus"
  .jenkins/test3.py --subarch amd64 --emulator bochs --smp 2 --verbose
  .jenkins/test3.py --subarch i386 --emulator bochs --bochs-cpu atom_n270
"""


def build_parser():
    p = argparse.ArgumentParser(
        description="Boot LHV in an emulator and judge its serial test report "
                    "(docs/design.md section 4).",
        epilog=HELP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--subarch", required=True, choices=SUBARCHS, help="which build to boot")
    a("--compare", nargs=2, metavar=("A.log", "B.log"),
      help="compare two serial logs' verdicts instead of booting (goes alone: no other "
           "option; see below)")
    a("--xmhf-bin", metavar="DIR", default=ROOT,
      help="directory holding init-x86-SUBARCH.bin and hypervisor-x86-SUBARCH.bin[.gz] "
           "(default: the repository root, where make puts them)")
    a("--work-dir", metavar="DIR",
      help="where logs and the ISO go (default: build/test3/NAME)")
    a("--boot-dir", metavar="DIR",
      help="directory with a prepared boot image: the first .iso (by name) whose name "
           "contains the subarch is booted as is instead of building one (GRUB or UEFI "
           "boot); a missing or empty DIR, or one without such an ISO, is an error")
    a("--skip-reset-qemu", action="store_true",
      help="accepted for compatibility with the reference runner; does nothing")
    a("--skip-test", action="store_true",
      help="only build the boot image, print its path and exit")
    a("--build", action="store_true",
      help="run 'make SUBARCHS=SUBARCH' in the repository first (default: use what is built)")
    a("--emulator", default="qemu", choices=sorted(EMULATORS),
      help="emulator to run (default qemu: qemu-system-x86_64, TCG; bochs: Bochs 2.7 or 3.0 "
           "with a generated bochsrc, GRUB image only)")
    a("--boot", default="grub", choices=("grub", "direct", "uefi"),
      help="grub: a GRUB ISO made by tools/mkiso.py, booted as a raw disk by QEMU, as "
           "a CD by Bochs (the module is the .gz); direct: QEMU's multiboot loader, "
           "-kernel init -initrd hypervisor-x86-SUBARCH.bin -append CMDLINE (QEMU "
           "only); uefi: a GRUB EFI ISO (tools/mkiso.py --efi, multiboot2) under OVMF "
           "(QEMU, amd64 only; Debian's ovmf, grub-efi-amd64-bin). Default grub")
    a("--smp", type=int, default=1, metavar="N",
      help="number of CPUs (default 1): QEMU -smp N, Bochs cpu: count=N")
    a("--host-stalls", metavar="MS:EVERY",
      help="stop the emulator's process (SIGSTOP) for MS milliseconds every EVERY "
           "milliseconds of the run, as a busy host does: LHV's timing code must "
           "notice the lost time, not measure it wrong (e.g. 70:250)")
    a("--memory", default="512M", metavar="SIZE",
      help="guest RAM in QEMU -m syntax: 512M, 2G, 6G (default 512M); for Bochs "
           "megs: (memory: guest= above 2 GiB)")
    a("--cpu", metavar="MODEL",
      help="CPU model, QEMU -cpu (default qemu64; Haswell or Skylake-Client for Intel)")
    a("--bochs-cpu", metavar="MODEL",
      help="Bochs CPU model, cpu: model= (default %s, which has VMX with EPT, "
           "VPID, unrestricted guests; atom_n270 has neither VMX nor long mode; "
           "'bochs -help cpu' lists them)" % BOCHS_DEFAULT_CPU)
    a("--bochs-version", choices=BOCHS_VERSIONS,
      help="Bochs to run: 2.7 (default: Debian's bochs) or 3.0 (built by tools/bochs3.sh "
           "into build-deps/bochs-3.0). Adds lhv.bochs=VERSION to LHV's command line: the "
           "platform line names it and the XFAILs of that version's deviations apply")
    a("--timeout", type=float, metavar="S",
      help="seconds from the emulator's start to SUMMARY/FATAL before the run is "
           "killed and failed (default 30 for QEMU, 120 for Bochs)")
    a("--cmdline", metavar="ARGS",
      help="LHV's command line: replaces the words after the init path on the GRUB "
           "cfg's multiboot line, or is the -append string for direct boot (default: "
           "the cfg's words for GRUB, %r for direct)" % DEFAULT_CMDLINE)
    mod = p.add_mutually_exclusive_group()
    mod.add_argument("--module", metavar="FILE", help="boot FILE as module 0 instead of "
                     "the hypervisor image (bad-input tests)")
    mod.add_argument("--no-module", action="store_true", help="boot without module 0")
    a("--expect-fatal", metavar="REGEX",
      help="the run passes iff a FATAL line matching REGEX (re.search) arrives and the "
           "emulator then exits by itself")
    a("--require-pass", metavar="NAME", action="append", default=[],
      help="fail unless test NAME (group/test) printed PASS; repeatable")
    a("--expect-fail", metavar="NAME:REGEX", action="append", default=[],
      help="test NAME must print FAIL with a reason matching REGEX (a failure caused on "
           "purpose, e.g. lhv.inject=phantom-cpu); that FAIL then counts as passed; repeatable")
    a("--require-skip", metavar="NAME:REGEX", action="append", default=[],
      help="fail unless test NAME printed SKIP with a reason matching REGEX; repeatable")
    a("--require-xfail", metavar="NAME:REGEX", action="append", default=[],
      help="fail unless test NAME printed XFAIL with a reason matching REGEX (a known L0 "
           "deviation the run must meet); repeatable")
    a("--junit", metavar="FILE", help="write JUnit XML for Jenkins: one testcase per "
      "verdict (classname = group), runner failures under classname runner, the "
      "serial log in system-out")
    a("--name", help="label for logs, JUnit and the default work dir "
      "(default SUBARCH-BOOT for QEMU, SUBARCH-bochs for Bochs)")
    a("--verbose", "--watch-serial", action="store_true",
      help="echo every serial line live, timestamped (default: only protocol lines)")
    a("--accel", default="tcg", choices=("tcg", "kvm"),
      help="QEMU accelerator (default tcg). kvm: -enable-kvm and -cpu host,+vmx (or --cpu "
           "MODEL with vmx=on): LHV runs nested under KVM with real VMX; needs /dev/kvm and "
           "kvm_intel nested=1 (docs/kvm.md)")
    a("--screenshot", metavar="FILE.png",
      help="QEMU only: save the VGA console as PNG when SUMMARY/FATAL arrives (monitor "
           "screendump). Adds lhv.end=halt to the command line so the screen stays up; the "
           "runner then stops QEMU")
    a("--extra-qemu-args", default="", metavar="ARGS",
      help="extra QEMU arguments, split like a shell would (e.g. \"-d int\")")
    return p


def parse_args(argv):
    """Command-line words -> config (an argparse Namespace with defaults
    filled in: name, work_dir, extra_qemu_args as a list)."""
    config = build_parser().parse_args(argv)
    if config.compare:
        raise SetupError("--compare A.log B.log goes alone (it boots nothing)")
    bochs = config.emulator == "bochs"
    if config.boot == "direct" and bochs:
        raise SetupError("Bochs has no multiboot loader: it boots the GRUB image only "
                         "(drop --boot direct, or use --emulator qemu)")
    if bochs and (config.cpu or config.extra_qemu_args):
        raise SetupError("--cpu and --extra-qemu-args are QEMU's; for Bochs use --bochs-cpu")
    if config.bochs_cpu and not bochs:
        raise SetupError("--bochs-cpu needs --emulator bochs (QEMU's model is --cpu)")
    if config.bochs_version and not bochs:
        raise SetupError("--bochs-version needs --emulator bochs")
    if bochs and end_action(config.cmdline or "") == "reboot":
        raise SetupError("Bochs restarts the machine on a reset and cannot exit instead "
                         "(no -no-reboot): run lhv.end=reboot under QEMU")
    if config.smp < 1:
        raise SetupError("--smp %d: at least 1 CPU" % config.smp)
    if config.boot == "uefi":
        if config.subarch != "amd64":
            raise SetupError("--boot uefi boots amd64 only (GRUB's x86_64-efi build)")
        if not os.path.isfile(OVMF_IMAGE):
            raise SetupError("--boot uefi: %s missing: install Debian's ovmf (tools/deps.sh)"
                             % OVMF_IMAGE)
    if config.accel == "kvm":
        if bochs:
            raise SetupError("--accel kvm is QEMU's (Bochs has no accelerator)")
        check_kvm()
        config.cpu = kvm_cpu(config.cpu)
    config.cpu = config.cpu or "qemu64"
    config.bochs_cpu = config.bochs_cpu or BOCHS_DEFAULT_CPU
    if bochs:
        config.bochs_version = config.bochs_version or BOCHS_VERSIONS[0]
        words = config.cmdline if config.cmdline is not None else grub_cfg_cmdline(
            config.subarch)
        if "lhv.bochs=" not in words:
            config.cmdline = (words + " lhv.bochs=" + config.bochs_version).strip()
    if config.timeout is None:
        config.timeout = DEFAULT_TIMEOUTS[config.emulator]
    if not config.timeout > 0:
        raise SetupError("--timeout %g: give a number of seconds above 0" % config.timeout)
    config.host_stalls = parse_host_stalls(config.host_stalls)
    if config.junit:
        config.junit = os.path.abspath(config.junit)
        if not os.path.isdir(os.path.dirname(config.junit)):
            raise SetupError("--junit %s: the directory %s does not exist (create it first)"
                             % (config.junit, os.path.dirname(config.junit)))
    if config.boot_dir:
        config.boot_dir = os.path.abspath(config.boot_dir)
        prepared_iso(config)  # refuses a --boot-dir it cannot use, before anything runs
    if bochs:
        memory_mib(config.memory)  # refuses what a bochsrc cannot say
    config.name = config.name or ("%s-bochs%s" % (config.subarch, "" if config.bochs_version
                                                  == "2.7" else "-" + config.bochs_version)
                                  if bochs else "%s-%s" % (config.subarch, config.boot))
    config.work_dir = os.path.abspath(config.work_dir
                                      or os.path.join(ROOT, "build", "test3", config.name))
    config.xmhf_bin = os.path.abspath(config.xmhf_bin)
    if config.screenshot:
        config.screenshot = os.path.abspath(config.screenshot)
    vga_console(config)
    if config.screenshot:
        if bochs:
            raise SetupError("--screenshot needs QEMU (its monitor's screendump)")
        if end_action(config.cmdline or "") != "halt":
            config.cmdline = (lhv_cmdline(config) + " lhv.end=halt").strip()
    config.extra_qemu_args = shlex.split(config.extra_qemu_args)
    if config.module:
        config.module = os.path.abspath(config.module)
        if not os.path.isfile(config.module):
            raise SetupError("--module %s: no such file" % config.module)
    if config.boot not in EMULATORS[config.emulator].boots:
        raise SetupError("%s cannot boot with --boot %s" % (config.emulator, config.boot))
    if config.expect_fatal:
        try:
            re.compile(config.expect_fatal)
        except re.error as e:
            raise SetupError("--expect-fatal %r: %s" % (config.expect_fatal, e))
    return config


def lhv_cmdline(config):
    """The command line LHV will get: --cmdline, or the default for the boot."""
    if config.cmdline is not None:
        return config.cmdline
    if config.boot == "direct":
        return DEFAULT_CMDLINE
    return grub_cfg_cmdline(config.subarch, config.boot == "uefi")


def vga_console(config):
    """lhv.console=vga stops LHV's serial output early: the runner then
    reads the verdicts from port 0xe9 (adding lhv.e9=1; QEMU -debugcon, Bochs
    port_e9_hack) and, under QEMU, saves the screen as WORK/screen.png unless
    --screenshot or an lhv.end= of the user's says otherwise."""
    words = config.cmdline or ""
    config.vga_only = option_value(words, "lhv.console") == "vga"
    if not config.vga_only:
        return
    if option_value(words, "lhv.e9") == "0":
        raise SetupError("lhv.console=vga with lhv.e9=0 leaves the runner nothing to read "
                         "(no serial output after the platform is up): drop lhv.e9=0")
    config.cmdline = words + " lhv.e9=1"
    if (config.emulator == "qemu" and not config.screenshot
            and option_value(words, "lhv.end") is None):
        config.screenshot = os.path.join(config.work_dir, "screen.png")


def console_path(config):
    """The file the runner reads LHV's console from in a VGA-only run: port
    0xe9's output (Bochs writes it to its stdout)."""
    name = "bochs.out" if config.emulator == "bochs" else "e9.out"
    return os.path.join(config.work_dir, name)


def grub_cfg_cmdline(subarch, efi=False):
    """The words after the init path on the GRUB cfg's multiboot (or, efi,
    multiboot2) line."""
    mkiso = load_mkiso()
    path = os.path.join(ROOT, "grub", (mkiso.EFI_CFG_NAMES if efi else mkiso.CFG_NAMES)[subarch])
    with open(path) as f:
        for line in f:
            words = line.split()
            if len(words) >= 2 and words[0] in ("multiboot", "multiboot2"):
                return " ".join(words[2:])
    raise SetupError("%s has no multiboot line" % path)


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
            why = next(filter(None, probe_kvm(config.subarch, config.xmhf_bin)), "")
            if why:
                raise SetupError("--accel kvm: KVM probe failed: %s (docs/kvm.md)" % why)
        if config.skip_test:
            os.makedirs(config.work_dir, exist_ok=True)
            print(prepare_boot(config).describe())
            return 0
        result = run_once(config, echo=lambda line: print(line, flush=True))
    except SetupError as e:
        print("test3: %s" % e, file=sys.stderr)
        return 2
    for line in report_lines(result):
        print(line)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
