"""JUnit XML for Jenkins: one testcase per verdict, one per runner problem."""

import re
import xml.etree.ElementTree as ET

from .serial import format_line


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
