"""Logs are attacker-controlled: huge lines, binary, endless failures. Parsing must stay fast,
bounded and crash-free."""

from __future__ import annotations

import io
import os
import time
import tracemalloc

import pytest

from workers.agents.ci_doctor import junit_xml
from workers.agents.ci_doctor.collect import MAX_FAILURES
from workers.agents.ci_doctor.generic import GenericParser
from workers.agents.ci_doctor.registry import PARSERS, parse_log, parse_text

MEGABYTE = 1_000_000
# Line shapes that each parser's patterns look for, repeated to 1 MB: what a regex with
# catastrophic backtracking would choke on.
ADVERSARIAL_LINES = [
    "=" * MEGABYTE,
    "= " * (MEGABYTE // 2),
    "_" * MEGABYTE,
    "FAILED " + "[" * MEGABYTE,
    "FAILED a" + " - [" * (MEGABYTE // 4),
    "ERROR: x (" + "(" * MEGABYTE,
    '  File "' + "a" * MEGABYTE,
    "  ● " + " › " * (MEGABYTE // 3),
    " FAIL  " + " > " * (MEGABYTE // 3),
    " FAIL  a [ " + "[ " * (MEGABYTE // 2),
    "# Subtest: " + "\\#" * (MEGABYTE // 2),
    "not ok 1 - " + " # SKIP" * (MEGABYTE // 7),
    "✖ " + "(1ms) " * (MEGABYTE // 6),
    "    at " + "(a:1:1 " * (MEGABYTE // 7),
    "<testsuites" + " a='1'" * (MEGABYTE // 6),
    "\x1b[" + "1;" * (MEGABYTE // 2),
    "\x1b]" + "x" * MEGABYTE,
    "2024-01-15T10:20:30." + "1" * MEGABYTE,
    "error: " + "a.c:1:" * (MEGABYTE // 6),
    "src/" * (MEGABYTE // 4) + ".py:1: x",
]


@pytest.mark.parametrize("line", ADVERSARIAL_LINES, ids=lambda line: repr(line[:12]))
def test_every_parser_handles_a_1mb_line_quickly(line: str) -> None:
    # Fed straight to the parsers, past the line reader's cap, so each pattern itself is tested.
    # CPU time, not wall time: a loaded machine slows the test, not the parser.
    start = time.process_time()
    for parser_class in (*PARSERS, GenericParser):
        parser = parser_class()
        for _ in range(3):
            parser.feed(line)
        parser.finish()
    assert time.process_time() - start < 2.0


@pytest.mark.parametrize("line", ADVERSARIAL_LINES, ids=lambda line: repr(line[:12]))
def test_a_log_of_adversarial_lines_parses_quickly(line: str) -> None:
    data = (line + "\n").encode("utf-8") * 3
    start = time.process_time()
    report = parse_log(io.BytesIO(data))
    assert time.process_time() - start < 1.0
    assert report.frameworks


def test_binary_garbage_does_not_crash() -> None:
    data = os.urandom(2 * MEGABYTE) + b"\n\xff\xfe\x00\x00FAILED \xc3(\n"
    report = parse_log(io.BytesIO(data))
    assert report.build_error is False


@pytest.mark.slow  # tracemalloc makes it take seconds on a busy machine
def test_endless_failures_are_capped_and_memory_stays_bounded() -> None:
    header = "=========================== short test summary info ============================\n"
    body = "".join(
        f"FAILED tests/test_x.py::test_{n} - AssertionError: no\n" for n in range(60_000)
    )
    data = (header + body).encode()
    tracemalloc.start()
    try:
        report = parse_log(io.BytesIO(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(report.failures) == MAX_FAILURES
    assert peak < 8 * MEGABYTE


def test_an_xml_bomb_is_not_expanded() -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
        '<testsuites><testsuite name="s"><testcase classname="C" name="t">'
        "<failure message='&lol2;'/></testcase></testsuite></testsuites>\n"
    )
    report = parse_text(bomb)
    assert report.frameworks == ["unknown"]
    assert all(failure.id == "" for failure in report.failures)


def test_an_unterminated_xml_document_is_dropped_at_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(junit_xml, "MAX_XML_CHARS", 50_000)
    parser = junit_xml.JUnitXmlParser()
    parser.feed("<testsuites>")
    tracemalloc.start()
    try:
        for _ in range(20_000):
            parser.feed("<testcase name='x'>")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 500_000  # about the cap's worth of lines, not 20 000 of them
    assert parser.finish().failures == []


FLOODS = {
    "unittest": (
        "Ran 3 tests in 0.1s",
        lambda n: f"{'=' * 70}\nFAIL: test_{n} (pkg.mod.Case.test_{n})",
    ),
    "jest": ("FAIL test/a.test.js", lambda n: f"  ● suite › test {n}\n    boom"),
    "vitest": (
        " RUN  v3.2.7 /w\n⎯⎯⎯ Failed Tests 9 ⎯⎯⎯",
        lambda n: f" FAIL  test/a.test.js > t{n}",
    ),
    "node-dot": ("Failed tests:", lambda n: f"✖ test {n} (1.0ms)\n  Error: boom"),
    "node-tap": ("TAP version 13", lambda n: f"not ok {n} - test {n}"),
}


@pytest.mark.parametrize("name", FLOODS)
def test_a_flood_of_failures_is_capped(name: str) -> None:
    opening, failure = FLOODS[name]
    text = opening + "\n" + "\n".join(failure(n) for n in range(MAX_FAILURES + 1_000)) + "\n"
    report = parse_text(text)
    assert MAX_FAILURES // 2 < len(report.failures) <= MAX_FAILURES
