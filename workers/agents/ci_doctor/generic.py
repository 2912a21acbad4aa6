"""The fallback for logs no framework parser recognised.

It still points at the blocks a human would look at (`error:`, `FAILED`, `panic:`) but, not knowing
the framework, it never invents a test id: every failure it reports has an empty id.
"""

from __future__ import annotations

import re
from typing import ClassVar

from workers.agents.ci_doctor.collect import BlockBuffer, excerpt_of
from workers.agents.ci_doctor.report import Failure, FailureKind, FrameworkResult

MAX_BLOCKS = 50
_BLOCK_LINES = 8
_ERROR = re.compile(r"(?:^|[\s:\[(])(?:error|fatal)(?:\[[\w-]{1,20}\])?:", re.IGNORECASE)
_FAILED = re.compile(r"\bFAILED\b|\bFAIL:|\bpanic:")
# `path/to/file.ext:12:` or `path/to/file.ext:12:5:` at the start of a compiler-style message.
_LOCATION = re.compile(r"([\w./\\-]{1,300}\.\w{1,10}):(\d{1,7})(?::\d{1,7})?:")


class GenericParser:
    name: ClassVar[str] = "unknown"

    def __init__(self) -> None:
        self._failures: list[Failure] = []
        self._block = BlockBuffer(limit=_BLOCK_LINES)
        self._block_kind: FailureKind | None = None

    def feed(self, line: str) -> None:
        if self._block_kind is not None:
            if line.strip() and len(self._block.lines) < _BLOCK_LINES and not _starts_block(line):
                self._block.add(line)
                return
            self._close_block()
        if len(self._failures) >= MAX_BLOCKS:
            return
        kind = _block_kind(line)
        if kind is not None:
            self._block_kind = kind
            self._block.add(line)

    def finish(self) -> FrameworkResult:
        self._close_block()
        return FrameworkResult(detected=False, build_error=False, failures=list(self._failures))

    def _close_block(self) -> None:
        if self._block_kind is None:
            return
        first = self._block.lines[0]
        location = _LOCATION.search(first)
        self._failures.append(
            Failure(
                id="",
                kind=self._block_kind,
                excerpt=excerpt_of(self._block.lines),
                file=location.group(1) if location else None,
                line=int(location.group(2)) if location else None,
                framework=self.name,
            )
        )
        self._block_kind = None
        self._block.clear()


def _starts_block(line: str) -> bool:
    return _block_kind(line) is not None


def _block_kind(line: str) -> FailureKind | None:
    if ("FAIL" in line or "panic:" in line) and _FAILED.search(line):
        return FailureKind.FAILED
    if (":" in line and ("rror" in line or "RROR" in line or "atal" in line)) and _ERROR.search(
        line
    ):
        return FailureKind.ERROR
    return None
