"""`python -m unittest` output: `FAIL:`/`ERROR:` blocks between separator lines.

A block header names the test as `test_x (pkg.mod.Class.test_x)` on Python 3.11+ and as
`test_x (pkg.mod.Class)` before; both become the dotted id `python -m unittest` accepts. Modules
that fail to import show up as `unittest.loader._FailedTest.<module>` and setUpClass failures as
`setUpClass (pkg.mod.Class)`; they are reported as the module and the class.
"""

from __future__ import annotations

import re
from collections import deque
from typing import ClassVar

from workers.agents.ci_doctor.collect import MAX_EXCERPT_LINE_CHARS, FailureList
from workers.agents.ci_doctor.report import FailureKind, FrameworkResult

_HEADER = re.compile(r"(FAIL|ERROR|UNEXPECTED SUCCESS): (\S{1,500}) \(([^()\s]{1,500})\)")
_RAN = re.compile(r"Ran \d+ tests? in ")
_FRAME = re.compile(r'  File "([^"]{1,500})", line (\d{1,7})')
_FAILED_IMPORT = "unittest.loader._FailedTest."
_CLASS_FIXTURES = ("setUpClass", "tearDownClass", "setUpModule", "tearDownModule")
_SEPARATOR_EQ = "=" * 70
_SEPARATOR_DASH = "-" * 70
_EXCERPT_LINES = 14


class _Block:
    __slots__ = ("frames", "kind", "opened", "stopped", "tail", "test_id")

    def __init__(self, test_id: str, kind: FailureKind) -> None:
        self.test_id = test_id
        self.kind = kind
        self.frames: deque[tuple[str, int]] = deque(maxlen=20)
        self.tail: list[str] = []  # the last frame and what follows it: the exception
        self.stopped = False
        self.opened = False

    def add(self, line: str) -> None:
        if self.stopped:
            return
        if line in ("Stdout:", "Stderr:"):  # `-b` appends the captured output after the trace
            self.stopped = True
            return
        if line.startswith("  File "):
            frame = _FRAME.match(line)
            if frame is not None:
                self.frames.append((frame.group(1), int(frame.group(2))))
                self.tail.clear()
        if len(self.tail) < _EXCERPT_LINES:
            self.tail.append(line[:MAX_EXCERPT_LINE_CHARS])

    def excerpt(self) -> str:
        lines = list(self.tail)
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(lines)

    def location(self) -> tuple[str | None, int | None]:
        """The deepest frame in the test's own module, as a path relative to the project."""
        module_path = _module_path(self.test_id, kind=self.kind)
        for path, line in reversed(self.frames):
            if path.endswith("/" + module_path) or path == module_path:
                return module_path, line
        return None, None


class UnittestParser:
    name: ClassVar[str] = "unittest"
    # Outside a block only the `=` separator that opens one and the closing `Ran N tests`.
    wake: ClassVar[str] = r"={70}|Ran "

    def __init__(self) -> None:
        self._detected = False
        self._failures = FailureList(self.name)
        self._block: _Block | None = None
        self._after_separator = False

    @property
    def busy(self) -> bool:
        return self._block is not None or self._after_separator

    def feed(self, line: str) -> None:
        if line == _SEPARATOR_EQ:  # a row of `=` opens every FAIL/ERROR block
            self._close()
            self._after_separator = True
            return
        if self._after_separator:
            self._after_separator = False
            if line.startswith(("FAIL: ", "ERROR: ", "UNEXPECTED SUCCESS: ")):
                self._start(line)
                return
        block = self._block
        if line == _SEPARATOR_DASH:  # under a header it opens the trace; later it ends the run
            if block is not None and block.opened:
                self._close()
            elif block is not None:
                block.opened = True
            return
        if line.startswith("Ran ") and _RAN.match(line):
            self._detected = True
            self._close()
        elif block is not None:
            block.add(line)

    def finish(self) -> FrameworkResult:
        self._close()
        failures = self._failures.as_list()
        build_error = any(failure.kind == FailureKind.COLLECTION for failure in failures)
        return FrameworkResult(detected=self._detected, build_error=build_error, failures=failures)

    def _start(self, line: str) -> None:
        self._close()
        header = _HEADER.match(line)
        if header is None:
            return
        self._block = _Block(*_test_id(header.group(2), header.group(3)))

    def _close(self) -> None:
        block = self._block
        if block is None:
            return
        self._block = None
        file, line = block.location()
        self._failures.add(
            block.test_id,
            block.kind,
            excerpt=block.excerpt(),
            file=file,
            line=line,
            merge_excerpts=True,
        )


def _test_id(name: str, qualifier: str) -> tuple[str, FailureKind]:
    if qualifier.startswith(_FAILED_IMPORT):
        return qualifier[len(_FAILED_IMPORT) :], FailureKind.COLLECTION
    if name in _CLASS_FIXTURES:
        return qualifier, FailureKind.ERROR
    if qualifier.endswith("." + name):  # Python 3.11+: the qualifier is the whole id
        return qualifier, FailureKind.FAILED
    return f"{qualifier}.{name}", FailureKind.FAILED


def _module_path(test_id: str, *, kind: FailureKind) -> str:
    parts = test_id.split(".")
    module_parts = {FailureKind.COLLECTION: parts, FailureKind.ERROR: parts[:-1]}.get(
        kind, parts[:-2]
    )
    return "/".join(module_parts) + ".py"
