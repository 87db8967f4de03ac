"""Running one case: the boot image, the emulator with its serial output read
live, the judging, and the files the run leaves (serial.log, command.txt,
JUnit)."""

import os
import shlex
import signal
import subprocess
import threading
import time

from .common import POWEROFF_GRACE, Interrupted, SetupError, console_path, end_action
from .emulators import EMULATORS
from .junit import junit_xml
from .l0 import boot_image, l0_judge
from .serial import SerialSession, read_serial
from .traces import symbolised_frames
from .verdicts import Outcome, Problem, judge


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
        session.l0 = bool(getattr(config, "l0", None))
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
    image = boot_image(config)
    with open(os.path.join(config.work_dir, "command.txt"), "w") as f:
        f.write(shlex.join(EMULATORS[config.emulator]().command(config, image)) + "\n")
    kept = keep_previous_log(config.work_dir)
    lines, outcome = run_emulator(config, image, echo)
    if getattr(config, "l0", None):
        result = l0_judge(config, lines, outcome)
    else:
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
