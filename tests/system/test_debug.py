#!/usr/bin/python3
"""Checks the gdb set-up of docs/debugging.md without a person at the
keyboard: builds the amd64 debug images inside build/amd64-debug (the tree
root keeps whatever build it has), boots them in QEMU stopped at the reset
vector with a gdb stub on a free port, and runs gdb in batch mode with
tools/gdb/lhv-amd64.gdb: a breakpoint at lhv_main must be hit and the
backtrace must name runtime_main and runtime_entry with their source files.

    python3 tests/system/test_debug.py       (about 1 s once the build is there)
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build", "amd64-debug")
GDB_SCRIPT = os.path.join(ROOT, "tools", "gdb", "lhv-amd64.gdb")
QEMU = "qemu-system-x86_64"


def free_port():
    """A TCP port nobody listens on now (QEMU binds it right after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_debug_images():
    """A make of its own (as many jobs as CPUs), also when `make test` runs
    this: a recipe line without $(MAKE) does not hand its job slots on."""
    targets = [os.path.join("build", "amd64-debug", name) for name in
               ("init.bin", "hypervisor.bin", "init.elf", "sl.elf", "runtime.elf")]
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    subprocess.run(["make", "--no-print-directory", "-s", "DEBUG=1",
                    "SUBARCHS=amd64"] + targets, cwd=ROOT, env=env, check=True)


class GdbAgainstQemu(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("gdb", QEMU):
            if shutil.which(tool) is None:
                raise unittest.SkipTest("%s not installed (tools/deps.sh installs it)" % tool)
        build_debug_images()

    def run_gdb(self, commands):
        """Boots the debug images under a stopped gdb stub, runs gdb with the
        symbol script and then commands; returns (gdb output, serial log)."""
        with tempfile.TemporaryDirectory(prefix="lhv-gdb-") as tmp:
            # The script loads the tree-root names: give it those, pointing
            # at the debug build.
            for stage in ("init", "sl", "runtime"):
                os.symlink(os.path.join(BUILD, stage + ".elf"),
                           os.path.join(tmp, "%s-x86-amd64.elf" % stage))
            port = free_port()
            serial = os.path.join(tmp, "serial.log")
            qemu = subprocess.Popen(
                [QEMU, "-display", "none", "-monitor", "none", "-serial", "file:" + serial,
                 "-no-reboot", "-nic", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                 "-m", "512M", "-kernel", os.path.join(BUILD, "init.bin"),
                 "-initrd", os.path.join(BUILD, "hypervisor.bin"),
                 "-append", "serial=115200,8n1,0x3f8",
                 "-gdb", "tcp:127.0.0.1:%d" % port, "-S"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                args = ["gdb", "-nx", "-batch", "-x", GDB_SCRIPT,
                        "-ex", "target remote 127.0.0.1:%d" % port]
                for c in commands + ["kill"]:
                    args += ["-ex", c]
                # QEMU may need a moment to listen: retry the connection a few times.
                for _ in range(20):
                    out = subprocess.run(args, cwd=tmp, stdin=subprocess.DEVNULL,
                                         capture_output=True, text=True, timeout=30)
                    text = out.stdout + out.stderr
                    if "Connection refused" not in text:
                        break
                    if qemu.poll() is not None:
                        break
                    time.sleep(0.1)
            finally:
                try:
                    qemu.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    qemu.kill()
                    qemu.wait()
            with open(serial, errors="replace") as f:
                log = f.read()
        return text, log

    def test_break_at_lhv_main_and_backtrace(self):
        text, log = self.run_gdb(["break lhv_main", "continue", "bt"])
        self.assertIn("Breakpoint 1, lhv_main", text, text)
        self.assertRegex(text, r"#1 .* in runtime_main \(.*\) at xmhf/runtime/runtime\.c:\d+", text)
        self.assertRegex(text, r"#2 .* in runtime_entry \(\) at xmhf/runtime/entry-amd64\.S:\d+",
                         text)
        # The runtime ran up to lhv_main: its boot checks are in the serial log.
        self.assertIn("PASS: boot/params", log)

    def test_symbols_of_every_stage(self):
        text, _ = self.run_gdb(["info line init_main", "info line sl_main",
                                "info line vcpu_resume_loop"])
        self.assertRegex(text, r'Line \d+ of "xmhf/init/init\.c" starts at address 0x10[0-9a-f]{4} ')
        self.assertRegex(text, r'Line \d+ of "xmhf/sl/sl\.c" starts at address 0x1000[0-9a-f]{4} ')
        self.assertRegex(text, r'Line \d+ of "lhv/vmx/guest\.c" starts at address 0x100[0-9a-f]{5} ')


if __name__ == "__main__":
    unittest.main()
