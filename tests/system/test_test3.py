#!/usr/bin/python3
"""Self-tests of .jenkins/test3.py's pure parts: escape stripping, verdict
parsing, counting, the JUnit XML, the generated bochsrc and the reading of
how Bochs ended. No emulator runs.

    python3 tests/system/test_test3.py
"""

import importlib.util
import os
import re
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


class Report(unittest.TestCase):
    def test_last_line_is_the_plain_count(self):
        self.assertEqual(test3.report_lines(judge(GOOD_RUN))[-1], "1 passed, 0 failed, 2 skipped")

    def test_end_action_last_wins(self):
        self.assertEqual(test3.end_action("lhv.end=halt x lhv.end=reboot"), "reboot")
        self.assertEqual(test3.end_action("serial=115200,8n1,0x3f8"), "poweroff")


if __name__ == "__main__":
    unittest.main()
