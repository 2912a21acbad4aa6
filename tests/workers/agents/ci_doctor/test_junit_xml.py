from __future__ import annotations

import io
from pathlib import Path

from workers.agents.ci_doctor.registry import parse_log, parse_text
from workers.agents.ci_doctor.report import FailureKind

SUREFIRE_STYLE = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.CartTest" tests="2" failures="1" errors="1">
  <testcase name="addsItem" classname="com.example.CartTest" time="0.01">
    <failure message="expected: &lt;3&gt; but was: &lt;4&gt;" type="AssertionFailedError">
org.opentest4j.AssertionFailedError: expected: &lt;3&gt; but was: &lt;4&gt;
	at com.example.CartTest.addsItem(CartTest.java:21)
    </failure>
  </testcase>
  <testcase name="removesItem" classname="com.example.CartTest" time="0.01">
    <error message="boom" type="IllegalStateException">java.lang.IllegalStateException: boom
	at com.example.Cart.remove(Cart.java:9)</error>
  </testcase>
</testsuite>
"""


def test_a_report_from_an_unknown_producer_uses_class_dot_method() -> None:
    report = parse_log(io.BytesIO(SUREFIRE_STYLE.encode()))
    assert report.frameworks == ["junit"]
    assert [(f.id, f.kind) for f in report.failures] == [
        ("com.example.CartTest.addsItem", FailureKind.FAILED),
        ("com.example.CartTest.removesItem", FailureKind.ERROR),
    ]
    assert "expected: <3> but was: <4>" in report.failures[0].excerpt


def test_a_report_printed_inside_a_console_log_is_found() -> None:
    log = "Running tests…\n" + SUREFIRE_STYLE + "\nDone.\n"
    report = parse_text(log)
    assert [f.id for f in report.failures] == [
        "com.example.CartTest.addsItem",
        "com.example.CartTest.removesItem",
    ]


def test_xml_that_is_not_a_test_report_is_left_to_the_other_parsers() -> None:
    report = parse_text('<?xml version="1.0"?>\n<project><name>x</name></project>\n')
    assert report.frameworks == ["unknown"]
    assert report.failures == []


def test_pytest_xunit2_ids_are_rebuilt_from_dotted_class_names(corpus: Path) -> None:
    log = corpus / "pytest" / "junit_xml_report" / "output.log"
    assert log.read_text(encoding="utf-8").startswith("<?xml")
    with log.open("rb") as stream:
        report = parse_log(stream)
    ids = {f.id for f in report.failures}
    assert "tests/test_math.py::TestDivision::TestNested::test_inner" in ids
    assert "tests/test_syntax.py" in ids
    assert report.build_error is True
