"""vitest console output: the "Failed Suites" and "Failed Tests" sections.

Every reporter (default, verbose, dot) ends with these sections, one ` FAIL  file > describe >
test` header per failure (several headers share one block when the error is the same). A file
that failed to load reads ` FAIL  file [ file ]` and is reported by its path; a suite whose hook
threw is listed under "Failed Suites" by its describe name.
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

_RUN_BANNER = re.compile(r" RUN  v\d")
_SUMMARY = re.compile(r"\s*Test Files  ")
_SECTION = "⎯⎯⎯"
_FAIL_HEADER = " FAIL  "
_MAX_SHARED_HEADERS = 100  # failures sharing one error block; bounds a run of bare headers
_PROJECT_PREFIX = re.compile(r"\|[^|]{1,200}\| ")


class VitestParser:
    name: ClassVar[str] = "vitest"
    # Outside a failure block only FAIL headers, the RUN banner, the summary and `⎯` rules.
    wake: ClassVar[str] = r"FAIL  |RUN  |Test Files  |⎯⎯⎯"

    def __init__(self) -> None:
        self._failures = FailureList(self.name)
        self._detected = False
        self._section_kind: FailureKind | None = None
        self._headers: list[tuple[str, str, FailureKind]] = []  # (id, file, kind)
        self._block = BlockBuffer()

    @property
    def busy(self) -> bool:
        return bool(self._headers)

    def feed(self, line: str) -> None:
        first = line[:1]
        if first == " ":
            if line.startswith(_FAIL_HEADER):
                if self._section_kind is not None:
                    self._add_header(line[len(_FAIL_HEADER) :])
                return
            if line.startswith(" RUN  ") and _RUN_BANNER.match(line):
                self._detected = True
                return
            if "Test Files  " in line and _SUMMARY.match(line):
                self._detected = True
                self._close()
                self._section_kind = None
                return
        elif first == "⎯" and line.startswith(_SECTION):
            self._close()
            if "Failed Tests" in line:
                self._section_kind = FailureKind.FAILED
            elif "Failed Suites" in line:
                self._section_kind = FailureKind.ERROR
            elif "Unhandled Errors" in line:
                self._section_kind = None
            return
        if self._headers:
            self._block.add(line)

    def finish(self) -> FrameworkResult:
        self._close()
        failures = self._failures.as_list()
        build_error = any(failure.kind == FailureKind.COLLECTION for failure in failures)
        return FrameworkResult(detected=self._detected, build_error=build_error, failures=failures)

    def _add_header(self, rest: str) -> None:
        if self._block.lines or len(self._headers) >= _MAX_SHARED_HEADERS:
            self._close()  # a header after a block's text starts a new block
        rest = _PROJECT_PREFIX.sub("", rest, count=1).strip()
        if rest.endswith(" ]") and " [ " in rest:
            file = rest.split(" [ ", 1)[0]
            self._headers.append((file, file, FailureKind.COLLECTION))
            return
        file, separator, name = rest.partition(" > ")
        if separator and self._section_kind is not None:
            self._headers.append((name, file, self._section_kind))

    def _close(self) -> None:
        headers = self._headers
        if headers:
            for failure_id, file, kind in headers:
                excerpt, location = _excerpt(self._block.lines, test_file=file)
                self._failures.add(
                    failure_id,
                    kind,
                    excerpt=excerpt,
                    file=location[0] if location else file,
                    line=location[1] if location else None,
                )
        self._headers = []
        self._block.clear()


def _excerpt(lines: list[str], *, test_file: str) -> tuple[str, tuple[str, int] | None]:
    """The error and its diff, then the `❯ file:line` frame in the test file."""
    message: list[str] = []
    location: tuple[str, int] | None = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("❯ "):
            found = frame_location(stripped)
            if found and is_dependency(found[0]):
                continue
            if found and (location is None or found[0] == test_file):
                location = found
            if found and found[0] == test_file:
                break
        elif is_code_frame(line) or stripped.startswith("|"):
            continue
        elif location is None and len(message) < MAX_MESSAGE_LINES:
            message.append(line.rstrip())
    while message and not message[-1].strip():
        message.pop()
    if location:
        message.append(f"❯ {location[0]}:{location[1]}")
    return "\n".join(message), location
