"""LHV's serial output: cleaning a line of escape sequences, the protocol's
line kinds (PASS/FAIL/SKIP/XFAIL/XPASS, FATAL, SUMMARY) as Events (pure
functions), and reading the stream live: a reader thread, the session that
timestamps, logs and echoes each line, and tailing a file the emulator
writes into (Bochs' COM1, port 0xe9) as a stream."""

import dataclasses
import os
import queue
import re
import threading
import time


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


# LHV as L0 (--l0, lhvtest/l0.py): the L0's runtime starts its lines so
L0_PREFIX = "L0: "


def l0_session_end(lines, event):
    """The event that ends an L0 run: the L0's SUMMARY or FATAL, or a FATAL
    of its init (before any 'L0: ' line); the guest's SUMMARY does not."""
    if not lines:
        return None
    text = lines[-1][1]
    if text.startswith(L0_PREFIX):
        return parse_line(text[len(L0_PREFIX):], lines[-1][0])
    if event and event.kind == "FATAL" and not any(x.startswith(L0_PREFIX) for _, x in lines):
        return event
    return None


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
        if self.echo and (self.verbose or event or (text.startswith(L0_PREFIX) and
                                                    parse_line(text[len(L0_PREFIX):]))):
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
            if getattr(self, "l0", False):
                event = l0_session_end(self.lines, event)
            if event and event.kind in ("SUMMARY", "FATAL"):
                return True
        return False

    def drain(self):
        while not self.eof:
            self.take(self.queue.get())
