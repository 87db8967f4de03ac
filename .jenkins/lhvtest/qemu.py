"""The QEMU backend (TCG or KVM; GRUB image, GRUB EFI image under OVMF, or
direct multiboot boot): its command line, how it ended, and the VGA
screenshot through its monitor."""

import os
import re
import socket
import subprocess
import time

from .common import console_path, stderr_tail
from .serial import clean_line, tail_stream


# UEFI firmware for --boot uefi: Debian 12's ovmf package, the unified image
# (code and variables in one; as -bios it is read-only, nothing persists).
OVMF_IMAGE = "/usr/share/ovmf/OVMF.fd"


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
