#!/usr/bin/python3
"""Self-tests of the runner's pure parts (the package .jenkins/lhvtest behind
.jenkins/test3.py): escape stripping, verdict parsing, counting, the closing
report, the JUnit XML, the generated bochsrc, the reading of how Bochs and
QEMU ended, the options' refusals, stack-trace symbolisation, the package's
import order. One QEMU run (Ctrl-C during a run); the rest boots nothing.

    python3 tests/system/test_test3.py
"""

import argparse
import contextlib
import importlib.util
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, ".jenkins"))
import lhvtest as test3  # noqa: E402  (the runner's package; test3.py is its command line)

POWERED_OFF = test3.Outcome(exited=True, exit_status=1, exit_kind="poweroff", exit_time=1.0)
GOOD_RUN = [
    "LHV amd64 booting",
    "PASS: boot/params",
    "SKIP: vmx/vmxon: CPU has no VMX",
    "XFAIL: vmx/nmi-window: Bochs 2.7 delivers the NMI late",
    "SUMMARY: 3 tests, 0 failures, 1 skipped, 1 expected failures",
]


def judge(texts, outcome=POWERED_OFF, cmdline="", **kw):
    lines = [(0.1 * i, text) for i, text in enumerate(texts)]
    return test3.judge("unit", lines, outcome, cmdline, **kw)


class CleanLine(unittest.TestCase):
    def test_grub_terminal_sequences(self):
        raw = b"\x1b[H\x1b[J\x1b[1;1H\x1b[H\x1b[J\x1b[1;1H  Booting `LHV amd64'\r"
        self.assertEqual(test3.clean_line(raw), "  Booting `LHV amd64'")

    def test_charset_and_attribute_sequences(self):
        raw = b"\x1b(B\x1b[0m\x1b[?25lPASS: boot/params\x1b[m\r"
        self.assertEqual(test3.clean_line(raw), "PASS: boot/params")

    def test_carriage_returns_and_controls(self):
        self.assertEqual(test3.clean_line(b"\rFAIL: a/b: x\x00\x07\r"), "FAIL: a/b: x")

    def test_invalid_utf8_is_replaced(self):
        self.assertEqual(test3.clean_line(b"ok \xff"), "ok \ufffd")


class ParseLine(unittest.TestCase):
    def test_verdict_with_reason(self):
        e = test3.parse_line("FAIL: vmx/ept-write-protect: cpu 1: guest write succeeded", 2.5)
        self.assertEqual((e.kind, e.name, e.group, e.test, e.time),
                         ("FAIL", "vmx/ept-write-protect", "vmx", "ept-write-protect", 2.5))
        self.assertEqual(e.reason, "cpu 1: guest write succeeded")

    def test_pass_without_reason(self):
        e = test3.parse_line("PASS: boot/params")
        self.assertEqual((e.kind, e.name, e.reason), ("PASS", "boot/params", ""))

    def test_fatal_and_summary(self):
        self.assertEqual(test3.parse_line("FATAL: no module: add one").kind, "FATAL")
        self.assertEqual(test3.parse_line("SUMMARY: 1 tests, 0 failures, 0 skipped").kind,
                         "SUMMARY")

    def test_other_lines(self):
        for text in ("END: poweroff", "LHV banner", "  PASS: indented", "PASSED: x/y", ""):
            self.assertIsNone(test3.parse_line(text), text)

    def test_summary_counts(self):
        said = test3.parse_summary("42 tests, 1 failures, 3 skipped, 1 expected failures")
        self.assertEqual(said, {"tests": 42, "failures": 1, "skipped": 3, "expected failures": 1})
        said = test3.parse_summary("2 tests, 0 failures, 0 skipped")
        self.assertEqual(said["expected failures"], 0)
        self.assertIsNone(test3.parse_summary("all good"))


class HostStalls(unittest.TestCase):
    def test_parsed_to_seconds(self):
        self.assertEqual(test3.parse_host_stalls("70:250"), (0.07, 0.25))
        self.assertIsNone(test3.parse_host_stalls(None))

    def test_bad_values_refused(self):
        for text in ("70", "250:70", "0:100", "a:b", "70:250:1", "-5:10"):
            with self.assertRaises(test3.SetupError, msg=text):
                test3.parse_host_stalls(text)


class Judge(unittest.TestCase):
    def test_good_run(self):
        r = judge(GOOD_RUN)
        self.assertEqual(r.problems, [])
        self.assertEqual(r.counts(), (1, 0, 1))  # XFAIL is counted apart
        self.assertEqual(r.expected_failures(), ["vmx/nmi-window"])
        self.assertTrue(r.ok)

    def test_xpass_is_a_failure(self):
        r = judge(["XPASS: vmx/nmi-window: fixed?",
                   "SUMMARY: 1 tests, 1 failures, 0 skipped, 0 expected failures"])
        self.assertEqual(r.counts(), (0, 1, 0))
        self.assertFalse(r.ok)

    def test_missing_summary_is_a_failure(self):
        timed_out = test3.Outcome(exited=False, exit_status=-9, exit_kind="killed",
                                  timed_out=True, timeout=30)
        r = judge(GOOD_RUN[:3], timed_out)
        self.assertEqual(r.counts(), (1, 1, 1))
        self.assertIn("no SUMMARY within 30 s; last line: SKIP: vmx/vmxon", r.problems[0].message)
        self.assertFalse(r.ok)

    def test_exit_before_summary_names_last_line(self):
        reset = test3.Outcome(exited=True, exit_status=0, exit_kind="reset")
        r = judge(["PASS: boot/params", "exception 13"], reset)
        self.assertIn("triple fault", r.problems[0].message)
        self.assertIn("last line: exception 13", r.problems[0].message)

    def test_no_power_off_after_summary(self):
        killed = test3.Outcome(exited=False, exit_status=-9, exit_kind="killed")
        r = judge(GOOD_RUN, killed)
        self.assertEqual([p.name for p in r.problems], ["power-off"])
        self.assertTrue(judge(GOOD_RUN, killed, cmdline="lhv.end=halt").ok)

    def test_last_line_cut_off_by_the_power_off(self):
        cut = test3.Outcome(exited=True, exit_status=1, exit_kind="poweroff",
                            cut_line="END: poweroff (Bochs shutdown port 0x890")
        r = judge(GOOD_RUN, cut)
        self.assertEqual([p.name for p in r.problems], ["cut-off"])
        self.assertIn("0x890'", r.problems[0].message)
        killed = test3.Outcome(exited=False, exit_status=-9, exit_kind="killed",
                               cut_line="END: ha")
        self.assertTrue(judge(GOOD_RUN, killed, cmdline="lhv.end=halt").ok)

    def test_summary_disagreeing_with_verdicts(self):
        r = judge(["PASS: a/b", "FAIL: a/c: no", "SUMMARY: 2 tests, 0 failures, 0 skipped"])
        self.assertEqual([p.name for p in r.problems], ["summary-count"])
        self.assertEqual(r.counts(), (1, 2, 0))

    def test_expected_fatal(self):
        r = judge(["FATAL: module 0 truncated: 4096 of 8192 bytes"], expect_fatal="truncated")
        self.assertTrue(r.ok)
        self.assertEqual(r.counts(), (1, 0, 0))

    def test_unexpected_fatal(self):
        r = judge(["FATAL: no module: add one"], expect_fatal="crc32")
        self.assertFalse(r.ok)
        self.assertEqual(r.problems[0].name, "fatal")
        self.assertFalse(judge(["FATAL: no module: add one"]).ok)

    def test_expect_fail(self):
        run = ["PASS: a/b", "FAIL: smp/all-cpus-online: APIC ID 254 did not come online",
               "SUMMARY: 2 tests, 1 failures, 0 skipped"]
        r = judge(run, expect_fail=["smp/all-cpus-online:APIC ID 254"])
        self.assertTrue(r.ok)
        self.assertEqual(r.counts(), (2, 0, 0))
        r = judge(run, expect_fail=["smp/all-cpus-online:APIC ID 7"])
        self.assertEqual([p.name for p in r.problems], ["expect-fail"])
        self.assertFalse(r.ok)
        self.assertFalse(judge(GOOD_RUN, expect_fail=["boot/params:x"]).ok)

    def test_require_skip(self):
        run = ["SKIP: vmx/vmxon: CPU has no VMX (CPUID.01H:ECX bit 5)",
               "SUMMARY: 1 tests, 0 failures, 1 skipped"]
        self.assertTrue(judge(run, require_skip=["vmx/vmxon:no VMX"]).ok)
        r = judge(run, require_skip=["vmx/vmxon:locked"])
        self.assertEqual([p.name for p in r.problems], ["require-skip"])

    def test_require_xfail(self):
        run = ["XFAIL: vmx/fuzz-entry: 1 disagreements, each a known Bochs deviation",
               "SUMMARY: 1 tests, 0 failures, 0 skipped, 1 expected failures"]
        self.assertTrue(judge(run, require_xfail=["vmx/fuzz-entry:^XFAIL: vmx/fuzz-entry: 1 "]).ok)
        passed = ["PASS: vmx/fuzz-entry", "SUMMARY: 1 tests, 0 failures, 0 skipped"]
        r = judge(passed, require_xfail=["vmx/fuzz-entry:known"])
        self.assertEqual([p.name for p in r.problems], ["require-xfail"])

    def test_summary_when_fatal_expected(self):
        r = judge(GOOD_RUN, expect_fatal="crc32")
        self.assertEqual([p.name for p in r.problems], ["expect-fatal"])

    def test_require_pass(self):
        r = judge(GOOD_RUN, require_pass=["boot/params", "vmx/vmxon", "boot/high-memory"])
        self.assertEqual([p.message for p in r.problems],
                         ["vmx/vmxon did not pass (SKIP: vmx/vmxon: CPU has no VMX)",
                          "boot/high-memory did not pass (no verdict)"])

    def test_verdict_after_summary(self):
        r = judge(GOOD_RUN + ["END: poweroff", "PASS: late/test"])
        self.assertEqual([p.name for p in r.problems], ["after-end"])


class JUnit(unittest.TestCase):
    def test_well_formed_with_counts(self):
        r = judge(["\x1b junk", "PASS: boot/params", "FAIL: smp/ap-start: cpu 2 <late> & lost",
                   "SKIP: vmx/vmxon: no VMX", "XFAIL: vmx/nmi: late",
                   "XPASS: vmx/quirk: passed",
                   "SUMMARY: 5 tests, 2 failures, 1 skipped, 1 expected failures"],
                  require_pass=["boot/high-memory"])
        root = ET.fromstring(test3.junit_xml(r))
        suite = root.find("testsuite")
        self.assertEqual((suite.get("tests"), suite.get("failures"), suite.get("skipped")),
                         ("6", "3", "2"))
        cases = suite.findall("testcase")
        self.assertEqual([(c.get("classname"), c.get("name")) for c in cases],
                         [("boot", "params"), ("smp", "ap-start"), ("vmx", "vmxon"),
                          ("vmx", "nmi"), ("vmx", "quirk"), ("runner", "require-pass")])
        self.assertIn("<late> & lost", cases[1].find("failure").get("message"))
        self.assertIn("PASS: boot/params", suite.find("system-out").text)
        self.assertNotIn("\x1b", suite.find("system-out").text)

    def test_expected_fatal_is_a_passing_case(self):
        r = judge(["FATAL: no module: add one"], expect_fatal="module")
        suite = ET.fromstring(test3.junit_xml(r)).find("testsuite")
        self.assertEqual((suite.get("tests"), suite.get("failures")), ("1", "0"))


class JenkinsJUnitSchema(unittest.TestCase):
    """The XML against what Jenkins' JUnit plugin reads: <testsuites> of
    <testsuite name tests failures errors skipped time>, each <testcase
    classname name time> with at most one <failure message> (text: the
    detail) or <skipped message>, and <system-out> (suite: the whole log;
    failed case: the serial log leading to it)."""

    RUN = ["LHV amd64 booting", "PASS: boot/params", "progress line",
           "FAIL: smp/ap-start: cpu 2 late", "SKIP: vmx/vmxon: no VMX",
           "SUMMARY: 3 tests, 1 failures, 1 skipped"]

    def xml(self, texts=None, outcome=POWERED_OFF, **kw):
        text = test3.junit_xml(judge(texts or self.RUN, outcome, **kw))
        self.assertTrue(text.startswith("<?xml version='1.0' encoding='UTF-8'?>") or
                        text.startswith("<?xml version='1.0' encoding='utf-8'?>"), text[:60])
        return ET.fromstring(text)

    def test_structure(self):
        root = self.xml()
        self.assertEqual(root.tag, "testsuites")
        suites = root.findall("testsuite")
        self.assertEqual(len(suites), 1)
        suite = suites[0]
        self.assertEqual(suite.get("name"), "unit")
        for attr in ("tests", "failures", "errors", "skipped"):
            self.assertRegex(suite.get(attr), r"^\d+$", attr)
        self.assertRegex(suite.get("time"), r"^\d+\.\d{3}$")
        cases = suite.findall("testcase")
        self.assertEqual(int(suite.get("tests")), len(cases))
        self.assertEqual(int(suite.get("failures")),
                         sum(1 for c in cases if c.find("failure") is not None))
        self.assertEqual(int(suite.get("skipped")),
                         sum(1 for c in cases if c.find("skipped") is not None))
        for c in cases:
            self.assertTrue(c.get("classname") and c.get("name"), ET.tostring(c))
            self.assertRegex(c.get("time"), r"^\d+\.\d{3}$")
            self.assertLessEqual(len(c.findall("failure")) + len(c.findall("skipped")), 1)
            for child in c:
                self.assertIn(child.tag, ("failure", "skipped", "system-out"))
        # the sum of the case times does not exceed the suite's time
        self.assertLessEqual(sum(float(c.get("time")) for c in cases),
                             float(suite.get("time")) + 0.001)

    def test_failure_carries_message_text_and_serial_log(self):
        case = self.xml().find("testsuite/testcase[@name='ap-start']")
        self.assertEqual(case.get("classname"), "smp")
        failure = case.find("failure")
        self.assertEqual(failure.get("message"), "FAIL: smp/ap-start: cpu 2 late")
        self.assertEqual(failure.text, failure.get("message"))
        log = case.find("system-out").text
        # the lines up to the failure, timestamped; nothing after it
        self.assertIn("] progress line", log)
        self.assertTrue(log.rstrip().endswith("FAIL: smp/ap-start: cpu 2 late"), log)
        self.assertNotIn("SKIP: vmx/vmxon", log)

    def test_skipped_and_passing_cases(self):
        suite = self.xml().find("testsuite")
        skip = suite.find("testcase[@name='vmxon']")
        self.assertEqual(skip.find("skipped").get("message"), "SKIP: vmx/vmxon: no VMX")
        passed = suite.find("testcase[@name='params']")
        self.assertEqual(list(passed), [])

    def test_runner_failure_has_the_log_tail(self):
        lines = ["line %d" % i for i in range(100)]
        hung = test3.Outcome(exited=False, exit_time=30.0, timed_out=True, timeout=30.0,
                             exit_kind="killed")
        case = self.xml(lines, hung).find("testsuite/testcase[@classname='runner']")
        self.assertEqual(case.get("name"), "summary")
        self.assertIn("no SUMMARY within 30 s", case.find("failure").get("message"))
        log = case.find("system-out").text.splitlines()
        self.assertEqual(len(log), test3.JUNIT_LOG_LINES)
        self.assertTrue(log[-1].endswith("line 99"), log[-1])
        self.assertEqual(self.xml(lines, hung).find("testsuite").get("time"), "30.000")

    def test_suite_log_and_control_characters(self):
        suite = self.xml(["PASS: a/b", "bad \x01\x1b[0m char", "SUMMARY: 1 tests, 0 failures, "
                          "0 skipped"]).find("testsuite")
        out = suite.find("system-out").text
        self.assertIn("PASS: a/b", out)
        self.assertNotIn("\x01", out)


class KvmOptions(unittest.TestCase):
    """--accel kvm: the QEMU command it builds, and the refusals."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.device = os.path.join(self.tmp.name, "kvm")
        self.nested = os.path.join(self.tmp.name, "nested")
        open(self.device, "w").close()
        with open(self.nested, "w") as f:
            f.write("Y\n")
        self.saved = (test3.kvm.KVM_DEVICE, test3.kvm.KVM_INTEL_NESTED)
        test3.kvm.KVM_DEVICE, test3.kvm.KVM_INTEL_NESTED = self.device, self.nested

    def tearDown(self):
        test3.kvm.KVM_DEVICE, test3.kvm.KVM_INTEL_NESTED = self.saved
        self.tmp.cleanup()

    def command(self, *extra):
        c = test3.parse_args(["--subarch", "amd64", "--boot", "direct"] + list(extra))
        image = test3.BootImage(kernel="/w/init.bin", module="/w/hv.bin", cmdline="x=1")
        return test3.Qemu().command(c, image)

    def test_default_is_tcg(self):
        cmd = self.command()
        self.assertNotIn("-enable-kvm", cmd)
        self.assertEqual(cmd[cmd.index("-cpu") + 1], "qemu64")

    def test_kvm_host_cpu_with_vmx(self):
        cmd = self.command("--accel", "kvm", "--smp", "2")
        self.assertEqual(cmd[:2], ["qemu-system-x86_64", "-enable-kvm"])
        self.assertEqual(cmd[cmd.index("-cpu") + 1], "host,+vmx")
        self.assertEqual(cmd[cmd.index("-smp") + 1], "2")
        self.assertIn("isa-debug-exit,iobase=0xf4,iosize=0x04", cmd)
        self.assertIn("-no-reboot", cmd)

    def test_kvm_named_model_gets_vmx_on(self):
        cmd = self.command("--accel", "kvm", "--cpu", "Skylake-Client")
        self.assertEqual(cmd[cmd.index("-cpu") + 1], "Skylake-Client,vmx=on")
        cmd = self.command("--accel", "kvm", "--cpu", "Haswell,vmx=on,-pcid")
        self.assertEqual(cmd[cmd.index("-cpu") + 1], "Haswell,vmx=on,-pcid")

    def test_refused_without_dev_kvm(self):
        os.remove(self.device)
        with self.assertRaisesRegex(test3.SetupError, "/kvm is missing.*docs/kvm.md"):
            self.command("--accel", "kvm")

    def test_refused_when_nested_is_off(self):
        with open(self.nested, "w") as f:
            f.write("N\n")
        with self.assertRaisesRegex(test3.SetupError, "nested VMX is off.*nested=1"):
            self.command("--accel", "kvm")

    def test_refused_without_kvm_intel(self):
        os.remove(self.nested)
        with self.assertRaisesRegex(test3.SetupError, "kvm_intel is not loaded"):
            self.command("--accel", "kvm")

    def test_refused_for_bochs(self):
        with self.assertRaisesRegex(test3.SetupError, "QEMU's"):
            test3.parse_args(["--subarch", "amd64", "--emulator", "bochs", "--accel", "kvm"])

    def test_this_machine(self):
        """Without /dev/kvm (as here) the real check refuses; with it, it
        either passes or names the host setting to change."""
        test3.kvm.KVM_DEVICE, test3.kvm.KVM_INTEL_NESTED = self.saved
        if not os.path.exists("/dev/kvm"):
            with self.assertRaisesRegex(test3.SetupError, "/dev/kvm is missing"):
                test3.check_kvm()


class ScreenshotOptions(unittest.TestCase):
    def test_monitor_socket_and_halt(self):
        c = test3.parse_args(["--subarch", "amd64", "--boot", "direct", "--screenshot", "s.png",
                              "--work-dir", "/w/run"])
        self.assertEqual(c.screenshot, os.path.abspath("s.png"))
        self.assertEqual(c.cmdline, test3.DEFAULT_CMDLINE + " lhv.end=halt")
        cmd = test3.Qemu().command(c, test3.BootImage(kernel="k", module="m", cmdline="x"))
        self.assertEqual(cmd[cmd.index("-monitor") + 1],
                         "unix:/w/run/monitor.sock,server=on,wait=off")

    def test_grub_keeps_the_cfg_words(self):
        c = test3.parse_args(["--subarch", "amd64", "--screenshot", "s.png"])
        self.assertTrue(c.cmdline.startswith("serial="), c.cmdline)
        self.assertTrue(c.cmdline.endswith(" lhv.end=halt"), c.cmdline)
        c = test3.parse_args(["--subarch", "amd64", "--screenshot", "s.png",
                              "--cmdline", "lhv.end=halt"])
        self.assertEqual(c.cmdline, "lhv.end=halt")

    def test_refused_for_bochs(self):
        with self.assertRaisesRegex(test3.SetupError, "screendump"):
            test3.parse_args(["--subarch", "amd64", "--emulator", "bochs", "--screenshot", "x"])

    def test_failed_screendump_is_a_runner_failure(self):
        o = test3.Outcome(exited=False, exit_kind="killed", exit_time=2.0,
                          screenshot_problem="screendump wrote no file")
        r = judge(["PASS: a/b", "SUMMARY: 1 tests, 0 failures, 0 skipped"], o,
                  cmdline="lhv.end=halt")
        self.assertEqual([p.name for p in r.problems], ["screenshot"])


class VgaConsole(unittest.TestCase):
    """lhv.console=vga: LHV's serial output stops once the platform is up
    (the runner once read that as "qemu exited before SUMMARY"); the runner
    reads port 0xe9 instead and saves the screen. The matrix boots it
    (amd64-grub-vga-console, i386-bochs-vga-console)."""

    def test_qemu_reads_port_e9_and_saves_the_screen(self):
        c = test3.parse_args(["--subarch", "amd64", "--boot", "direct", "--work-dir", "/w/r",
                              "--cmdline", "lhv.console=vga"])
        self.assertTrue(c.vga_only)
        self.assertEqual(c.cmdline, "lhv.console=vga lhv.e9=1 lhv.end=halt")
        self.assertEqual(c.screenshot, "/w/r/screen.png")
        cmd = test3.Qemu().command(c, test3.BootImage(kernel="k", module="m", cmdline="x"))
        self.assertEqual(cmd[cmd.index("-debugcon") + 1], "file:/w/r/e9.out")
        self.assertEqual(cmd[cmd.index("-serial") + 1], "file:/w/r/com1.out")

    def test_own_screenshot_and_end_action_are_kept(self):
        c = test3.parse_args(["--subarch", "amd64", "--cmdline", "lhv.console=vga",
                              "--screenshot", "mine.png"])
        self.assertEqual(c.screenshot, os.path.abspath("mine.png"))
        c = test3.parse_args(["--subarch", "amd64", "--cmdline",
                              "lhv.console=vga lhv.end=poweroff"])
        self.assertIsNone(c.screenshot)
        self.assertEqual(test3.end_action(c.cmdline), "poweroff")

    def test_bochs_reads_its_stdout(self):
        c = test3.parse_args(["--subarch", "i386", "--emulator", "bochs", "--work-dir", "/w/b",
                              "--cmdline", "lhv.console=both lhv.console=vga"])
        self.assertIsNone(c.screenshot)
        self.assertEqual(test3.console_path(c), "/w/b/bochs.out")
        self.assertIn("lhv.e9=1", c.cmdline.split())

    def test_serial_console_unchanged(self):
        for words in ("lhv.console=both", "lhv.console=vga lhv.console=serial"):
            c = test3.parse_args(["--subarch", "amd64", "--boot", "direct", "--cmdline", words])
            self.assertFalse(c.vga_only)
            self.assertEqual(c.cmdline, words)
            cmd = test3.Qemu().command(c, test3.BootImage(kernel="k", module="m", cmdline="x"))
            self.assertEqual(cmd[cmd.index("-serial") + 1], "stdio")
            self.assertNotIn("-debugcon", cmd)

    def test_e9_off_is_refused(self):
        with self.assertRaisesRegex(test3.SetupError, "lhv.e9=0 leaves the runner nothing"):
            test3.parse_args(["--subarch", "amd64", "--cmdline", "lhv.console=vga lhv.e9=0"])


def setup_error(*argv):
    """The SetupError message parse_args gives for argv (None when none)."""
    try:
        test3.parse_args(list(argv))
    except test3.SetupError as e:
        return str(e)
    return None


class BootDir(unittest.TestCase):
    """--boot-dir was once ignored without a word when unusable: the run
    built a fresh ISO and passed."""

    def test_missing_empty_or_without_iso(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertRegex(setup_error("--subarch", "amd64", "--boot-dir", d + "/no"),
                             "no such directory")
            self.assertRegex(setup_error("--subarch", "amd64", "--boot-dir", d),
                             r"no ISO whose name contains amd64 .*it is empty")
            open(os.path.join(d, "lhv-i386.iso"), "w").close()
            self.assertRegex(setup_error("--subarch", "amd64", "--boot-dir", d),
                             r"no ISO whose name contains amd64 .*it holds lhv-i386.iso")
            self.assertIsNone(setup_error("--subarch", "i386", "--boot-dir", d))

    def test_refused_with_direct_boot(self):
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "lhv-amd64.iso"), "w").close()
            self.assertRegex(setup_error("--subarch", "amd64", "--boot", "direct",
                                         "--boot-dir", d), "cannot go with --boot direct")

    def test_main_exits_2_with_the_reason(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(test3.main(["--subarch", "amd64", "--boot-dir", "/nonexistent"]), 2)
        self.assertIn("--boot-dir /nonexistent: no such directory", err.getvalue())


class WrongWayErrors(unittest.TestCase):
    """Messages that once pointed the wrong way, or tracebacks."""

    def test_missing_images_name_test3s_own_option(self):
        with tempfile.TemporaryDirectory() as d:
            c = test3.parse_args(["--subarch", "amd64", "--xmhf-bin", d, "--work-dir", d])
            with self.assertRaises(test3.SetupError) as e:
                test3.prepare_boot(c)
            self.assertIn("--xmhf-bin DIR", str(e.exception))
            self.assertNotIn("--bin-dir", str(e.exception))

    def test_direct_boot_with_only_the_gz(self):
        with tempfile.TemporaryDirectory() as d:
            for name in ("init-x86-amd64.bin", "hypervisor-x86-amd64.bin.gz"):
                open(os.path.join(d, name), "w").close()
            c = test3.parse_args(["--subarch", "amd64", "--boot", "direct", "--xmhf-bin", d])
            with self.assertRaisesRegex(test3.SetupError,
                                        "direct boot needs the uncompressed image.*gunzip -k"):
                test3.prepare_boot(c)

    def test_compare_after_other_options(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(test3.main(["--subarch", "amd64", "--compare", "a", "b"]), 2)
        self.assertIn("goes alone (it boots nothing): drop --subarch amd64", err.getvalue())
        self.assertNotIn("takes two", err.getvalue())

    def test_timeout_must_be_positive(self):
        for value in ("-1", "0", "nan"):
            self.assertRegex(setup_error("--subarch", "amd64", "--timeout", value),
                             "above 0", value)

    def test_junit_into_a_missing_directory(self):
        self.assertRegex(setup_error("--subarch", "amd64", "--junit", "/nonexistent/j.xml"),
                         "the directory /nonexistent does not exist")

    def test_gdb_kill_and_signals_are_no_triple_fault(self):
        with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
            q = test3.Qemu()
            q.stderr_path = f.name
            self.assertEqual(q.ending(0, True)[0], "reset")
            for text in ("qemu-system-x86_64: QEMU: Terminated via GDBstub",
                         "qemu-system-x86_64: terminating on signal 2 from pid 7 (bash)"):
                f.seek(0)
                f.truncate()
                f.write(text + "\n")
                f.flush()
                kind, detail, _ = q.ending(0, True)
                self.assertEqual(kind, "stopped")
                o = test3.Outcome(exited=True, exit_status=0, exit_kind=kind, stderr_tail=detail)
                message = judge(["PASS: a/b"], o).problems[0].message
                self.assertNotIn("triple fault", message)
                self.assertIn("stopped from outside", message)

    def test_ctrl_c_ends_without_a_traceback(self):
        """A real run (QEMU started stopped, -S, so it is still running),
        SIGINT to the whole process group as a terminal's Ctrl-C sends it:
        exit 130, one line naming the log, no traceback."""
        with tempfile.TemporaryDirectory() as d:
            proc = subprocess.Popen(
                [sys.executable, os.path.join(ROOT, ".jenkins", "test3.py"), "--subarch",
                 "amd64", "--boot", "direct", "--work-dir", d, "--extra-qemu-args=-S",
                 "--timeout", "60"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                start_new_session=True)
            log = os.path.join(d, "serial.log")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not os.path.exists(log):
                time.sleep(0.05)
            time.sleep(0.5)
            os.killpg(proc.pid, signal.SIGINT)
            out, err = proc.communicate(timeout=20)
            self.assertEqual(proc.returncode, 130, err)
            self.assertNotIn("Traceback", err)
            self.assertIn("interrupted (Ctrl-C)", err)
            self.assertIn(log, err)


class RunFiles(unittest.TestCase):
    def test_previous_log_is_kept(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertIsNone(test3.keep_previous_log(d))
            with open(os.path.join(d, "serial.log"), "w") as f:
                f.write("[  0.100] PASS: a/b\n")
            kept = test3.keep_previous_log(d)
            self.assertEqual(kept, os.path.join(d, "serial.prev.log"))
            self.assertFalse(os.path.exists(os.path.join(d, "serial.log")))
            with open(kept) as f:
                self.assertIn("PASS: a/b", f.read())

    def test_stale_image_warning(self):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "lhv", "suite"))
            src = os.path.join(root, "lhv", "suite", "x.c")
            images = [os.path.join(root, n) for n in ("init-x86-amd64.bin",
                                                      "hypervisor-x86-amd64.bin.gz")]
            for path in [src] + images:
                open(path, "w").close()
            os.utime(src, (1000, 1000))
            for path in images:
                os.utime(path, (2000, 2000))
            c = test3.parse_args(["--subarch", "amd64", "--xmhf-bin", root])
            self.assertEqual(test3.stale_warning(c, root), "")
            os.utime(src, (3000, 3000))
            self.assertRegex(test3.stale_warning(c, root), r"lhv/suite/x.c changed after "
                             r"hypervisor-x86-amd64.bin.gz was built.*--build")
            # make rebuilds only the hypervisor image for a change in lhv/:
            # init, older than the change, is not stale (it once was said to be)
            os.utime(images[1], (4000, 4000))
            self.assertEqual(test3.stale_warning(c, root), "")
            os.makedirs(os.path.join(root, "xmhf", "lib"))
            lib = os.path.join(root, "xmhf", "lib", "y.c")
            open(lib, "w").close()
            os.utime(lib, (5000, 5000))
            self.assertRegex(test3.stale_warning(c, root),
                             r"xmhf/lib/y.c changed after init-x86-amd64.bin was built")
            other = test3.parse_args(["--subarch", "amd64", "--xmhf-bin", root + "/lhv"])
            self.assertEqual(test3.stale_warning(other, root), "")  # not the tree's images


class StackTraces(unittest.TestCase):
    REPORT = ["EXCEPTION: #PF page fault (vector 14) on CPU 0, error code 0x2",
              "  ip 0x10004347 cs 0x8 flags 0x297",
              "  stack trace: 0x100048c9 lhv_main+0x20 0x1000301f bogus"]

    def test_addresses(self):
        traces = test3.trace_addresses(self.REPORT)
        self.assertEqual(traces, [[("ip 0x10004347", 0x10004347), ("0x100048c9", 0x100048c8),
                                   ("lhv_main+0x20", ("lhv_main", 0x1f)),
                                   ("0x1000301f", 0x1000301e)]])
        self.assertEqual(test3.trace_addresses(["ip 0x1 cs 0x8", "PASS: a/b"]), [])

    def test_named_from_the_elf(self):
        """Against the tree's own release ELF (make builds it): a return
        address after a call names the caller, and NAME+0xOFF resolves."""
        elf = os.path.join(ROOT, "runtime-x86-amd64.elf")
        if not os.path.isfile(elf):
            self.skipTest("no runtime-x86-amd64.elf (run make)")
        symbols = test3.elf_symbols(elf)
        main = symbols["lhv_main"]
        report = ["  ip 0x%x cs 0x8 flags 0x2" % (main + 4),
                  "  stack trace: lhv_main+0x10 0x%x" % main]
        config = argparse.Namespace(xmhf_bin=ROOT, subarch="amd64")
        lines = test3.symbolised_frames([(0.0, t) for t in report], config)
        self.assertIn("ADDR-1", lines[0])
        self.assertRegex(lines[1], r"ip 0x[0-9a-f]+ +lhv_main")
        self.assertRegex(lines[2], r"lhv_main\+0x10 +lhv_main")
        # the return address main points after a call just before lhv_main:
        # ADDR-1 lies in the function before it, not in lhv_main
        self.assertNotRegex(lines[3], r" lhv_main")


def bochsrc_fields(text):
    """bochsrc text -> {directive: value}, comments and blank lines dropped."""
    fields = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    return fields


def options(value):
    """'a=1, b="x, y"' -> {'a': '1', 'b': 'x, y'} (commas inside quotes kept)."""
    out = {}
    for m in re.finditer(r'\s*([a-z_0-9]+)=("[^"]*"|[^,]*)\s*(?:,|$)', value):
        out[m.group(1)] = m.group(2).strip('"')
    return out


class Bochsrc(unittest.TestCase):
    def rc(self, model="corei7_skylake_x", cpus=1, mib=512, iso="/w/lhv-amd64.iso"):
        return bochsrc_fields(test3.bochsrc_text(model, cpus, mib, iso, "/w/com1.out",
                                                 "/w/bochs.log"))

    def test_every_directive(self):
        self.assertEqual(set(self.rc()), {
            "romimage", "vgaromimage", "megs", "ata0-master", "boot", "cpu", "clock", "com1",
            "port_e9_hack", "log", "panic", "error", "info", "debug", "magic_break", "sound",
            "display_library"})

    def test_fixed_values(self):
        rc = self.rc()
        self.assertEqual(options(rc["romimage"])["file"], "/usr/share/bochs/BIOS-bochs-latest")
        self.assertEqual(options(rc["vgaromimage"])["file"],
                         "/usr/share/bochs/VGABIOS-lgpl-latest")
        self.assertEqual(options(rc["ata0-master"]),
                         {"type": "cdrom", "path": "/w/lhv-amd64.iso", "status": "inserted"})
        self.assertEqual(rc["boot"], "cdrom")
        self.assertEqual(options(rc["com1"]),
                         {"enabled": "1", "mode": "file", "dev": "/w/com1.out"})
        self.assertEqual(options(rc["port_e9_hack"]), {"enabled": "1"})
        self.assertEqual(options(rc["clock"]), {"sync": "none", "time0": "local"})
        self.assertEqual(rc["log"], '"/w/bochs.log"')
        self.assertEqual([options(rc[k]) for k in ("panic", "error", "info", "debug")],
                         [{"action": "fatal"}] + [{"action": "ignore"}] * 3)
        self.assertEqual(options(rc["magic_break"]), {"enabled": "1"})
        self.assertEqual(options(rc["display_library"].replace("rfb,", "library=rfb,")),
                         {"library": "rfb", "options": "timeout=0"})

    def test_cpu_line(self):
        cpu = options(self.rc()["cpu"])
        self.assertEqual(cpu, {"model": "corei7_skylake_x", "count": "1", "ips": "10000000",
                               "reset_on_triple_fault": "0", "ignore_bad_msrs": "0"})

    def test_model_count_and_megs_substituted(self):
        rc = self.rc(model="atom_n270", cpus=4, mib=2048)
        self.assertEqual(options(rc["cpu"])["model"], "atom_n270")
        self.assertEqual(options(rc["cpu"])["count"], "4")
        self.assertEqual(options(rc["cpu"])["ignore_bad_msrs"], "0")
        self.assertEqual(rc["megs"], "2048")

    def test_memory_above_2g_uses_guest_size(self):
        rc = self.rc(mib=6144)
        self.assertNotIn("megs", rc)
        self.assertEqual(options(rc["memory"]), {"guest": "6144", "host": "2048"})

    def test_paths_are_quoted(self):
        rc = self.rc(iso="/w/a b,c.iso")
        self.assertIn('path="/w/a b,c.iso"', rc["ata0-master"])
        with self.assertRaises(test3.SetupError):
            self.rc(iso='/w/a"b.iso')

    def test_memory_sizes(self):
        self.assertEqual([test3.memory_mib(t) for t in ("512M", "512", "2G", "6g", "1048576K")],
                         [512, 512, 2048, 6144, 1024])
        for bad in ("1.5G", "512X", "", "0", "100K"):
            with self.assertRaises(test3.SetupError, msg=bad):
                test3.memory_mib(bad)


BOCHS_POWEROFF = """00000000000i[      ] reading configuration from bochsrc
========================================================================
Bochs is exiting with the following message:
[UNMAP ] Shutdown port: shutdown requested
========================================================================
"""
BOCHS_TRIPLE_FAULT = BOCHS_POWEROFF.replace(
    "[UNMAP ] Shutdown port: shutdown requested",
    "[CPU0  ] exception(): 3rd (13) exception with no resolution")


class BochsEnding(unittest.TestCase):
    def test_shutdown_port_is_the_power_off(self):
        self.assertEqual(test3.bochs_exit_kind(1, BOCHS_POWEROFF), "poweroff")

    def test_triple_fault(self):
        self.assertEqual(test3.bochs_exit_kind(1, BOCHS_TRIPLE_FAULT), "reset")
        self.assertIn("3rd (13) exception", test3.bochs_exit_detail(BOCHS_TRIPLE_FAULT))

    def test_other_endings(self):
        self.assertEqual(test3.bochs_exit_kind(-9, BOCHS_POWEROFF), "killed")
        self.assertEqual(test3.bochs_exit_kind(1, "*** buffer overflow detected ***"), "error")
        self.assertEqual(test3.bochs_exit_detail("00000000000i[  ] x\n*** buffer overflow\n"),
                         "*** buffer overflow")
        self.assertIn("magic breakpoint",
                      test3.bochs_exit_detail("", "<bochs:1> fgets() returned ERROR."))

    def test_triple_fault_fails_with_last_line_and_log(self):
        o = test3.Outcome(exited=True, exit_status=1, exit_kind="reset", emulator="bochs",
                          stderr_tail="[CPU0  ] exception(): 3rd (13) exception",
                          log_hint="Bochs log: /w/bochs.log")
        r = judge(["PASS: boot/params", "vmx: entering the guest"], o)
        self.assertFalse(r.ok)
        message = r.problems[0].message
        for part in ("triple fault", "last line: vmx: entering the guest", "/w/bochs.log"):
            self.assertIn(part, message)

    def test_power_off_after_summary_passes(self):
        o = test3.Outcome(exited=True, exit_status=1, exit_kind="poweroff", emulator="bochs")
        self.assertTrue(judge(GOOD_RUN, o).ok)


# What Bochs' gui/rfb.cc does at start: one socket with SO_REUSEADDR binds
# the first port it can, then listens; a failed listen leaves the socket
# bound, so no later port binds. The pause between bind and listen makes two
# at once meet as two Bochs do now and then.
RFB_LIKE = """
import socket, sys, time
first = int(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
for port in (first, first + 1):
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    time.sleep(0.3)
    try:
        s.listen()
    except OSError:
        continue
    time.sleep(0.5)
    sys.exit(0)
sys.exit(3)
"""


class BochsStart(unittest.TestCase):
    def free_port_pair(self):
        import socket
        for _ in range(50):
            with socket.socket() as a, socket.socket() as b:
                try:
                    a.bind(("127.0.0.1", 0))
                    b.bind(("127.0.0.1", a.getsockname()[1] + 1))
                    return a.getsockname()[1]
                except OSError:
                    continue
        self.skipTest("no two adjacent free ports")

    def two_at_once(self, start):
        """Exit statuses of two RFB_LIKE processes started by start() from
        two threads at the same moment."""
        import threading
        port, procs = self.free_port_pair(), []
        go = threading.Barrier(2)

        def one():
            go.wait()
            procs.append(start([sys.executable, "-c", RFB_LIKE, str(port)]))
        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sorted(p.wait(timeout=10) for p in procs)

    def test_serialised_starts_both_get_a_port(self):
        # with subprocess.Popen in its place: [0, 3]
        from lhvtest.bochs import start_serialised
        self.assertEqual(self.two_at_once(start_serialised), [0, 0])

    def test_listening(self):
        from lhvtest.bochs import listening
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.assertFalse(listening(os.getpid()))
            s.listen()
            self.assertTrue(listening(os.getpid()))


class BochsOptions(unittest.TestCase):
    def args(self, *extra):
        return test3.parse_args(["--subarch", "amd64", "--emulator", "bochs"] + list(extra))

    def test_defaults(self):
        c = self.args()
        self.assertEqual((c.bochs_cpu, c.smp, c.memory, c.timeout),
                         ("corei7_skylake_x", 1, "512M", 120.0))
        self.assertEqual(os.path.basename(c.work_dir), "amd64-bochs")
        self.assertEqual(test3.parse_args(["--subarch", "amd64"]).timeout, 30.0)

    def test_command_and_generated_bochsrc(self):
        c = self.args("--smp", "2", "--memory", "1G", "--bochs-cpu", "corei7_icelake_u")
        bochs = test3.Bochs()
        image = test3.BootImage(iso="/w/lhv-amd64.iso")
        cmd = bochs.command(c, image)
        self.assertEqual(cmd[:3], ["env", "LC_ALL=C", "bochs"])
        self.assertEqual(cmd[3:5], ["-q", "-f"])
        self.assertEqual(cmd[-2], "-rc")
        rc = bochsrc_fields(bochs.bochsrc(c, image))
        self.assertEqual((options(rc["cpu"])["model"], options(rc["cpu"])["count"], rc["megs"]),
                         ("corei7_icelake_u", "2", "1024"))

    def test_bochs_versions(self):
        image = test3.BootImage(iso="/w/lhv-amd64.iso")
        old, new = self.args(), self.args("--bochs-version", "3.0", "--cmdline", "lhv.cpus=1")
        self.assertEqual((old.bochs_version, new.bochs_version), ("2.7", "3.0"))
        self.assertTrue(old.cmdline.endswith(" lhv.bochs=2.7 lhv.test-timeout=60"))
        self.assertEqual(new.cmdline, "lhv.cpus=1 lhv.bochs=3.0 lhv.test-timeout=60")
        given = self.args("--timeout", "300", "--cmdline", "lhv.test-timeout=5")
        self.assertEqual(given.cmdline, "lhv.test-timeout=5 lhv.bochs=2.7")
        self.assertTrue(self.args("--timeout", "300").cmdline.endswith(" lhv.test-timeout=150"))
        self.assertEqual(os.path.basename(new.work_dir), "amd64-bochs-3.0")
        cmd = test3.Bochs().command(new, image)
        self.assertEqual(cmd[2], test3.BOCHS_BINARIES["3.0"])
        self.assertNotIn("-rc", cmd)  # built without the debugger: it runs at once
        rc = bochsrc_fields(test3.Bochs().bochsrc(new, image))
        self.assertNotIn("sound", rc)  # built without sound: the line is fatal there
        self.assertIn("sound", bochsrc_fields(test3.Bochs().bochsrc(old, image)))
        with self.assertRaises(test3.SetupError):
            test3.parse_args(["--subarch", "amd64", "--bochs-version", "3.0"])

    def test_refusals(self):
        for extra in (["--boot", "direct"], ["--cpu", "Haswell"], ["--memory", "1.5G"],
                      ["--cmdline", "lhv.end=reboot"], ["--smp", "0"]):
            with self.assertRaises(test3.SetupError, msg=extra):
                self.args(*extra)
        with self.assertRaises(test3.SetupError):
            test3.parse_args(["--subarch", "amd64", "--bochs-cpu", "atom_n270"])

    def test_direct_boot_message_names_grub(self):
        with self.assertRaises(test3.SetupError) as e:
            self.args("--boot", "direct")
        self.assertIn("GRUB image only", str(e.exception))


LOG_A = """\
[  0.263] loader: qemu; emulator: QEMU TCG
[  0.300] PASS: boot/params
[  0.400] SKIP: vmx/vmxon: CPU has no VMX
[  0.500] PASS: pic/mask
[  1.342] platform: CPU "QEMU Virtual CPU version 2.5+", family 15 model 107 stepping 1, L0: QEMU TCG
[  1.342] table: boot/params PASS
[  1.343] table: vmx/vmxon SKIP
[  1.343] table: pic/mask PASS
[  1.400] SUMMARY: 3 tests, 0 failures, 1 skipped
"""
LOG_B = """\
[  0.263] loader: unnamed; emulator: Bochs
[  0.300] PASS: boot/params
[  0.400] PASS: vmx/vmxon
[  0.500] FAIL: timer/x: late
[  9.000] platform: CPU "Intel(R) Core(TM) i7-7500U", family 6 model 142 stepping 9, L0: Bochs
[  9.000] table: boot/params PASS
[  9.001] table: vmx/vmxon PASS
[  9.002] table: timer/x FAIL
[  9.100] SUMMARY: 3 tests, 1 failures, 0 skipped
"""


class Compare(unittest.TestCase):
    def logs(self, a, b):
        d = tempfile.mkdtemp()
        paths = []
        for name, text in (("a.log", a), ("b.log", b)):
            paths.append(os.path.join(d, name))
            with open(paths[-1], "w") as f:
                f.write(text)
        return paths

    def run_compare(self, a, b):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = test3.main(["--compare"] + self.logs(a, b))
        return status, out.getvalue().splitlines()

    def test_differences_and_one_sided_tests(self):
        status, lines = self.run_compare(LOG_A, LOG_B)
        self.assertEqual(status, 1)
        rows = [line.split() for line in lines[2:-1]]
        self.assertEqual(rows, [["test", "A", "B"], ["vmx/vmxon", "SKIP", "PASS"],
                                ["pic/mask", "PASS", "-"], ["timer/x", "-", "FAIL"]])
        self.assertIn("L0: QEMU TCG", lines[0])
        self.assertIn("L0: Bochs", lines[1])
        self.assertEqual(lines[-1], "1 differ, 1 only in A, 1 only in B (3 tests in A, 3 in B)")

    def test_identical_logs_exit_0(self):
        status, lines = self.run_compare(LOG_A, LOG_A.replace("1.342", "7.000"))
        self.assertEqual(status, 0)
        self.assertEqual(lines[-1], "0 differ, 0 only in A, 0 only in B (3 tests in A, 3 in B)")

    def test_without_a_table_the_verdict_lines_count_worst_first(self):
        verdicts, platform = test3.log_verdicts([
            "[  0.1] PASS: timer/x", "[  0.2] FAIL: timer/x: late", "[  0.3] PASS: timer/x",
            "SKIP: vmx/vmxon: no VMX", "[ 12.5] XFAIL: vmx/nmi: Bochs"])
        self.assertEqual(verdicts, {"timer/x": "FAIL", "vmx/vmxon": "SKIP", "vmx/nmi": "XFAIL"})
        self.assertEqual(platform, "")

    def test_the_table_wins_over_verdict_lines(self):
        verdicts, platform = test3.log_verdicts(LOG_B.splitlines())
        self.assertEqual(verdicts, {"boot/params": "PASS", "vmx/vmxon": "PASS", "timer/x": "FAIL"})
        self.assertTrue(platform.startswith('platform: CPU "Intel(R)'))

    def test_bad_use_is_a_setup_error(self):
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(test3.main(["--compare", "only-one.log"]), 2)
            self.assertEqual(test3.main(["--compare", "/nonexistent/a", "/nonexistent/b"]), 2)
            self.assertEqual(test3.main(["--subarch", "amd64", "--compare", "a", "b"]), 2)


class Report(unittest.TestCase):
    def test_last_line_is_the_plain_count(self):
        lines = test3.report_lines(judge(GOOD_RUN))
        self.assertEqual(lines[-1], "1 passed, 0 failed, 1 skipped")
        self.assertRegex(lines[-1], r"^\d+ passed, \d+ failed, \d+ skipped$")
        self.assertEqual(lines[-2], "expected failures (XFAIL, not counted below): 1: "
                                    "vmx/nmi-window")
        self.assertFalse(any(line.startswith("failed:") for line in lines))

    def test_failing_tests_named_before_the_count(self):
        r = judge(["PASS: a/ok", "FAIL: a/bad: no", "XPASS: a/fixed: yes", "FAIL: a/bad: again",
                   "SUMMARY: 4 tests, 2 failures, 0 skipped"])
        lines = test3.report_lines(r)
        self.assertEqual(lines[-2], "failed: a/bad, a/fixed, runner/summary-count")
        self.assertEqual(lines[-1], "1 passed, 4 failed, 0 skipped")

    def test_where_the_vmx_tests_run(self):
        lines = test3.report_lines(judge(GOOD_RUN))
        note = [line for line in lines if "want of VMX" in line]
        self.assertEqual(len(note), 1)
        self.assertRegex(note[0], r"^test3: 1 tests SKIP .*make run-bochs.*--accel kvm.*hardware")
        lines = test3.report_lines(judge(["PASS: a/b", "SKIP: c/d: no ACPI PM timer",
                                          "SUMMARY: 2 tests, 0 failures, 1 skipped"]))
        self.assertFalse(any("want of VMX" in line for line in lines))

    def test_expected_fail_is_not_named(self):
        r = judge(["FAIL: smp/x: cpu 3 never answered", "SUMMARY: 1 tests, 1 failures, 0 skipped"],
                  expect_fail=["smp/x:never answered"])
        self.assertEqual(r.failed_names(), [])
        self.assertEqual(test3.report_lines(r)[-1], "1 passed, 0 failed, 0 skipped")

    def test_end_action_last_wins(self):
        self.assertEqual(test3.end_action("lhv.end=halt x lhv.end=reboot"), "reboot")
        self.assertEqual(test3.end_action("serial=115200,8n1,0x3f8"), "poweroff")


class Package(unittest.TestCase):
    """.jenkins/lhvtest: its modules in layers (each imports only the ones
    its __init__.py imports before it), and test3.py only its command line."""

    PACKAGE = os.path.join(ROOT, ".jenkins", "lhvtest")
    IMPORT_RE = re.compile(r"^from \.(\w*) import ([\w, ()]+)", re.M)

    def imports(self, name):
        """The package's modules that module `name` imports."""
        with open(os.path.join(self.PACKAGE, name + ".py")) as f:
            text = f.read()
        found = []
        for module, names in self.IMPORT_RE.findall(text):
            found += [module] if module else [n.strip() for n in names.strip("()").split(",")]
        return found

    def test_modules_in_layers(self):
        order = self.imports("__init__")
        files = sorted(f[:-3] for f in os.listdir(self.PACKAGE)
                       if f.endswith(".py") and f != "__init__.py")
        self.assertEqual(sorted(order), files, "__init__.py imports every module once")
        for i, name in enumerate(order):
            for used in self.imports(name):
                self.assertIn(used, order[:i], "%s imports %s, which comes after it" % (name, used))

    def test_layer_check_can_fail(self):
        saved = self.imports
        self.imports = lambda name: (["common", "cli"] if name == "serial" else saved(name))
        with self.assertRaisesRegex(AssertionError, "serial imports cli"):
            self.test_modules_in_layers()

    def test_test3_py_is_the_parsers_command_line(self):
        run = subprocess.run([sys.executable, os.path.join(ROOT, ".jenkins", "test3.py"),
                              "--help"], capture_output=True, text=True)
        parser = test3.build_parser()
        parser.prog = "test3.py"
        self.assertEqual((run.returncode, run.stdout), (0, parser.format_help()))


class MatrixSelection(unittest.TestCase):
    """tests/system/matrix.py: which cases make test and make test-full run
    (a bad-input case once landed in --full only through a field order)."""

    @classmethod
    def setUpClass(cls):
        spec = importlib.util.spec_from_file_location(
            "matrix", os.path.join(ROOT, "tests", "system", "matrix.py"))
        cls.matrix = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cls.matrix)
        cls.cases = cls.matrix.all_cases("/nonexistent", "/nonexistent")

    def names(self, *argv):
        args = argparse.Namespace(full="--full" in argv, quick="--quick" in argv, filter=None)
        return [c.name for c in self.matrix.select(self.cases, args)]

    def test_bad_inputs_and_faults_in_make_test(self):
        names = self.names()
        for prefix in ("bad-", "fault-"):
            self.assertTrue(any(n.startswith(prefix) for n in names), prefix)
        every = [c for c in self.cases if c.name.startswith("bad-") and c.fatal_within]
        self.assertTrue(every)
        self.assertTrue(all(not c.full for c in every))

    def test_full_adds_cases_and_keeps_the_rest(self):
        default, full = set(self.names()), set(self.names("--full"))
        self.assertTrue(default < full)
        self.assertIn("amd64-bochs-tigerlake-smp2", default)
        self.assertIn("amd64-bochs-ryzen-no-vmx", full - default)
        self.assertIn("i386-bochs3-tigerlake-smp1", default)
        self.assertIn("amd64-bochs3-corei7_icelake_u-smp2", full - default)

    def test_quick_is_a_subset(self):
        self.assertTrue(set(self.names("--quick")) <= set(self.names()))


if __name__ == "__main__":
    unittest.main()
