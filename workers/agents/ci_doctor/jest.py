"""jest console output: `FAIL path` file headers and `● describe › test` failure blocks.

jest prints each failure under its file (and again under "Summary of all failing tests" when
several files ran); the `●` title is already the rerunnable `describe › test` name. A file that
could not be loaded gets the title "Test suite failed to run" and is reported by its path.
"""

from __future__ import annotations

import re
from typing import ClassVar

from workers.agents.ci_doctor.collect import BlockBuffer, FailureList
from workers.agents.ci_doctor.js_common import (
    MAX_MESSAGE_LINES,
    frame_location,
    is_code_frame,
    is_dependency,
)
from workers.agents.ci_doctor.report import FailureKind, FrameworkResult

_FILE_HEADER = re.compile(r"(PASS|FAIL) (\S{1,500}?)(?: \([\d.]+ m?s\))?$")
_SUMMARY = re.compile(r"Test Suites: .*\d+ total")
_SUITE_FAILED = "Test suite failed to run"
_NOT_TESTS = ("Console",)  # `● Console` lists console.log output, not a failure


class JestParser:
    name: ClassVar[str] = "jest"
    # Outside a `●` block only file headers, block titles and the summary lines matter.
    wake: ClassVar[str] = r"(?:PASS|FAIL) |● |Test Suites: |Summary of all failing tests"

    def __init__(self) -> None:
        self._failures = FailureList(self.name)
        self._summary_seen = False
        self._blocks_seen = False
        self._file: str | None = None
        self._title: str | None = None
        self._block = BlockBuffer()

    @property
    def busy(self) -> bool:
        return self._title is not None

    def feed(self, line: str) -> None:
        first = line[:1]
        if first in "PF" and (line.startswith(("PASS ", "FAIL "))):
            header = _FILE_HEADER.match(line)
            if header is not None:
                self._close()
                self._file = header.group(2)
                return
        if first == " " and line.startswith("  ● "):
            self._close()
            if self._file is not None:
                self._title = line[4:].strip()
            return
        if first == "T" and line.startswith("Test Suites: ") and _SUMMARY.match(line):
            self._summary_seen = True
            self._close()
            self._file = None
            return
        if first == "S" and line.startswith("Summary of all failing tests"):
            self._close()
            self._file = None
            return
        if self._title is not None:
            self._block.add(line)

    def finish(self) -> FrameworkResult:
        self._close()
        failures = self._failures.as_list()
        build_error = any(failure.kind == FailureKind.COLLECTION for failure in failures)
        detected = self._summary_seen or self._blocks_seen
        return FrameworkResult(detected=detected, build_error=build_error, failures=failures)

    def _close(self) -> None:
        title, file = self._title, self._file
        self._title = None
        if title is None or file is None:
            self._block.clear()
            return
        if title not in _NOT_TESTS:
            self._blocks_seen = True
            if title == _SUITE_FAILED:
                failure_id, kind = file, FailureKind.COLLECTION
            else:
                failure_id, kind = title, FailureKind.FAILED
            excerpt, location = _excerpt(self._block.lines, test_file=file)
            self._failures.add(
                failure_id,
                kind,
                excerpt=excerpt,
                file=location[0] if location else file,
                line=location[1] if location else None,
            )
        self._block.clear()


def _excerpt(lines: list[str], *, test_file: str) -> tuple[str, tuple[str, int] | None]:
    """The message (up to the code frame or the stack), the `>` code line and the test's frame."""
    message: list[str] = []
    pointer = ""
    location: tuple[str, int] | None = None
    in_message = True
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("at "):
            in_message = False
            found = frame_location(stripped)
            if found and location is None and not is_dependency(found[0]):
                location = found
            if found and found[0] == test_file:
                location = found
                break
        elif is_code_frame(line):
            in_message = False
            if stripped.startswith(">") and not pointer:
                pointer = stripped
        elif in_message and len(message) < MAX_MESSAGE_LINES:
            message.append(line)
    while message and not message[-1].strip():
        message.pop()
    while message and not message[0].strip():
        message.pop(0)
    margin = min((len(m) - len(m.lstrip()) for m in message if m.strip()), default=0)
    parts = [m[margin:] for m in message]
    if pointer:
        parts.append(pointer)
    if location:
        parts.append(f"at {location[0]}:{location[1]}")
    return "\n".join(parts), location
