"""Which parsers read a log, and how their findings become one report.

Every parser may see every line (a job may run two frameworks, e.g. pytest then jest); the
report names the frameworks that recognised their own output. When none did, the generic
fallback's blocks are reported under the framework "unknown".

Calling nine parsers on each of a log's lines cost more than the parsing itself, so lines are
dispatched: one combined regex of the parsers' `wake` patterns tells, per line, whether any
idle parser could care; a line that no `wake` matches goes only to the parsers that are `busy`
(inside one of their blocks), usually none or one.

To add a framework: write a `LineParser` in its own module and list its class in `PARSERS`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from functools import cache
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


def parse_lines(
    lines: Iterable[str],
    *,
    parsers: Iterable[type[LineParser]] = PARSERS,
    dispatch: bool = True,
) -> Report:
    """Parse a log given as lines (raw or GitHub Actions form, without line endings).

    `dispatch=False` feeds every parser every line: slower, and the same report (tests compare
    the two to check each parser's `wake`/`busy` contract).
    """
    active: list[LineParser] = [parser_class() for parser_class in parsers]
    fallback = GenericParser()
    if dispatch:
        _feed_dispatched(lines, active, fallback)
    else:
        _feed_every_parser(lines, active, fallback)
    return _combine(active, fallback)


@cache
def _wake_pattern(parsers: tuple[type[LineParser], ...]) -> re.Pattern[str]:
    """One pattern that, matched at a line's start, tells which parsers' `wake` lines it is:
    group N is set when parser N's pattern matches, and `lastindex` is None when none does.
    Each parser's pattern is an optional lookahead, so one call tries them all. Leading blanks
    are skipped possessively, so a line of blanks cannot make the lookaheads backtrack."""
    lookaheads = "".join(f"(?:(?=(?P<wake{n}>{p.wake}))|)" for n, p in enumerate(parsers))
    return re.compile(rf"\s*+{lookaheads}")


def _feed_dispatched(
    lines: Iterable[str], active: list[LineParser], fallback: GenericParser
) -> None:
    pattern = _wake_pattern(tuple(type(parser) for parser in active))
    wake_match = pattern.match
    # Where parser N's group sits in `groups()` (a parser's own pattern may hold groups too).
    slots = [pattern.groupindex[f"wake{index}"] - 1 for index in range(len(active))]
    feeds = [parser.feed for parser in active]
    everyone = range(len(active))
    fallback_feed = fallback.feed
    busy: list[int] = []  # the parsers that were busy after their last line, by index
    for raw in lines:  # the hot loop of a 100 MB log: no generator between reader and parsers
        line = unwrap_line(raw)
        if line is None:
            continue
        fallback_feed(line)
        woken = wake_match(line)  # always matches: the lookaheads are optional
        if woken is not None and woken.lastindex is not None:
            wakes = woken.groups()
            was_busy = busy
            busy = []
            for index in everyone:
                if wakes[slots[index]] is not None or index in was_busy:
                    feeds[index](line)
                    if active[index].busy:
                        busy.append(index)
        elif busy:
            still_busy = True
            for index in busy:
                feeds[index](line)
                if not active[index].busy:
                    still_busy = False
            if not still_busy:
                busy = [index for index in busy if active[index].busy]


def _feed_every_parser(
    lines: Iterable[str], active: list[LineParser], fallback: GenericParser
) -> None:
    feeds = [parser.feed for parser in active]
    feeds.append(fallback.feed)
    for raw in lines:
        line = unwrap_line(raw)
        if line is None:
            continue
        for feed in feeds:
            feed(line)


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
