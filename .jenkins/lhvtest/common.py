"""What every part of the runner shares: the tree's root, the subarchs, the
default command line, the two exceptions, reading lhv.* words off LHV's
command line, the emulator's stderr on one line, and the file a VGA-only
run reads LHV's console from."""

import os


# .jenkins/lhvtest/common.py -> the repository root
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUBARCHS = ("amd64", "i386")
DEFAULT_CMDLINE = "serial=115200,8n1,0x3f8 boot_drive=0x80"
POWEROFF_GRACE = 5.0  # seconds the emulator gets to exit after SUMMARY/FATAL


class SetupError(Exception):
    """The run could not start: missing file, bad option, ISO build failed."""


class Interrupted(Exception):
    """Ctrl-C during a run: the emulator is stopped; args[0] is the serial log."""


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


def stderr_tail(path, limit=300):
    """The emulator's stderr on one line, cut to limit characters."""
    try:
        with open(path, errors="replace") as f:
            text = " / ".join(line.strip() for line in f if line.strip())
    except OSError:
        return ""
    return text if len(text) <= limit else text[:limit] + "..."


def console_path(config):
    """The file the runner reads LHV's console from in a VGA-only run: port
    0xe9's output (Bochs writes it to its stdout)."""
    name = "bochs.out" if config.emulator == "bochs" else "e9.out"
    return os.path.join(config.work_dir, name)
