#!/usr/bin/python3
"""Self-tests of .jenkins/test3.py's pure parts: escape stripping, verdict
parsing, counting, the JUnit XML, the generated bochsrc and the reading of
how Bochs ended. No emulator runs.

    python3 tests/system/test_test3.py
"""

import argparse
import contextlib
import importlib.util
import io
import os
import re
import tempfile
import unittest
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("test3", os.path.join(ROOT, ".jenkins", "test3.py"))
test3 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(test3)

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


class Judge(unittest.TestCase):
    def test_good_run(self):
        r = judge(GOOD_RUN)
        self.assertEqual(r.problems, [])
        self.assertEqual(r.counts(), (1, 0, 2))  # XFAIL counts as skipped
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
        self.saved = (test3.KVM_DEVICE, test3.KVM_INTEL_NESTED)
        test3.KVM_DEVICE, test3.KVM_INTEL_NESTED = self.device, self.nested

    def tearDown(self):
        test3.KVM_DEVICE, test3.KVM_INTEL_NESTED = self.saved
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
        test3.KVM_DEVICE, test3.KVM_INTEL_NESTED = self.saved
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
        self.assertTrue(old.cmdline.endswith(" lhv.bochs=2.7"))
        self.assertEqual(new.cmdline, "lhv.cpus=1 lhv.bochs=3.0")
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
        self.assertEqual(test3.report_lines(judge(GOOD_RUN))[-1], "1 passed, 0 failed, 2 skipped")

    def test_end_action_last_wins(self):
        self.assertEqual(test3.end_action("lhv.end=halt x lhv.end=reboot"), "reboot")
        self.assertEqual(test3.end_action("serial=115200,8n1,0x3f8"), "poweroff")


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
