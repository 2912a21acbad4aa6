"""Which parsers read a log, and how their findings become one report.

Every parser sees every line once (a job may run two frameworks, e.g. pytest then jest); the
report names the frameworks that recognised their own output. When none did, the generic
fallback's blocks are reported under the framework "unknown".

To add a framework: write a `LineParser` in its own module and list its class in `PARSERS`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from workers.agents.ci_doctor.actions import unwrap_line
from workers.agents.ci_doctor.cargo import CargoParser
from workers.agents.ci_doctor.generic import GenericParser
from workers.agents.ci_doctor.go import GoParser
from workers.agents.ci_doctor.jest import JestParser
from workers.agents.ci_doctor.junit_xml import MAX_XML_CHARS, JUnitXmlParser
from workers.agents.ci_doctor.lines import iter_stream_lines, iter_text_lines
from workers.agents.ci_doctor.maven import MavenParser
from workers.agents.ci_doctor.node_test import NodeTestParser
from workers.agents.ci_doctor.pytest_log import PytestParser
from workers.agents.ci_doctor.report import Failure, LineParser, Report
from workers.agents.ci_doctor.unittest_log import UnittestParser
from workers.agents.ci_doctor.vitest import VitestParser

PARSERS: tuple[type[LineParser], ...] = (
    PytestParser,
    UnittestParser,
    JestParser,
    VitestParser,
    NodeTestParser,
    JUnitXmlParser,
    CargoParser,
    GoParser,
    MavenParser,
)

UNKNOWN_FRAMEWORK = GenericParser.name
_SNIFF_BYTES = 512


def parse_lines(lines: Iterable[str], *, parsers: Iterable[type[LineParser]] = PARSERS) -> Report:
    """Parse a log given as lines (raw or GitHub Actions form, without line endings)."""
    active: list[LineParser] = [parser_class() for parser_class in parsers]
    fallback = GenericParser()
    feeds = [parser.feed for parser in active]
    feeds.append(fallback.feed)
    for raw in lines:  # the hot loop of a 100 MB log: no generator between reader and parsers
        line = unwrap_line(raw)
        if line is None:
            continue
        for feed in feeds:
            feed(line)
    return _combine(active, fallback)


def parse_log(stream: BinaryIO) -> Report:
    """Parse a log read from a binary stream, line by line, never holding it whole.

    A stream that starts as an XML document is first tried as a JUnit report in one piece:
    report writers (pytest among them) often put the whole document on one line, longer than
    any console line the line reader keeps.
    """
    head = stream.read(_SNIFF_BYTES)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"<?xml", b"<testsuite")):
        document = head + stream.read(MAX_XML_CHARS + 1 - len(head))
        report = _parse_junit_document(document) if len(document) <= MAX_XML_CHARS else None
        if report is not None:
            return report
        head = document
    return parse_lines(iter_stream_lines(io.BufferedReader(_Prefixed(head, stream))))


def parse_file(path: Path | str) -> Report:
    with Path(path).open("rb") as stream:
        return parse_log(stream)


def parse_text(text: str | bytes) -> Report:
    """Parse a log already in memory."""
    return parse_lines(iter_text_lines(text))


def _parse_junit_document(document: bytes) -> Report | None:
    parser = JUnitXmlParser()
    parser.feed_document(document.decode("utf-8", errors="replace"))
    if not parser.finish().detected:
        return None
    return _combine([parser], GenericParser())


class _Prefixed(io.RawIOBase):
    """Bytes already read from a stream, followed by the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)  # consumed by moving the view, never by copying
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            count = min(len(view), len(self._head))
            view[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def _combine(active: list[LineParser], fallback: GenericParser) -> Report:
    frameworks: list[str] = []
    failures: list[Failure] = []
    build_error = False
    for parser in active:
        result = parser.finish()
        if not result.detected:
            continue
        name = result.framework or parser.name
        if name not in frameworks:
            frameworks.append(name)
        failures.extend(result.failures)
        build_error = build_error or result.build_error
    if not frameworks:
        return Report(
            frameworks=[UNKNOWN_FRAMEWORK], build_error=False, failures=fallback.finish().failures
        )
    return Report(frameworks=frameworks, build_error=build_error, failures=failures)
