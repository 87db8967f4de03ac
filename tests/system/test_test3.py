#!/usr/bin/python3
"""Self-tests of .jenkins/test3.py's pure parts: escape stripping, verdict
parsing, counting, and the JUnit XML. No emulator runs.

    python3 tests/system/test_test3.py
"""

import importlib.util
import os
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


class Report(unittest.TestCase):
    def test_last_line_is_the_plain_count(self):
        self.assertEqual(test3.report_lines(judge(GOOD_RUN))[-1], "1 passed, 0 failed, 2 skipped")

    def test_end_action_last_wins(self):
        self.assertEqual(test3.end_action("lhv.end=halt x lhv.end=reboot"), "reboot")
        self.assertEqual(test3.end_action("serial=115200,8n1,0x3f8"), "poweroff")


if __name__ == "__main__":
    unittest.main()
