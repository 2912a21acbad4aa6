"""`go test` output: plain, `-v`, `-json`, `-race`, `-failfast`, `-timeout`, build and vet failures.

The testing package prints `--- FAIL: TestName (0.00s)` for every failed test and subtest (indented
four spaces per level), the test's `t.Error`/`t.Log` lines indented under it (or, with `-v`, before
it, after `=== RUN`), and one `FAIL\t<package>\t<time>` line when the package is done. Ids are
`TestName` and `TestName/subtest` as printed (the package is left out: `go test -run` takes the
name). A parent that failed only because a subtest did, with no output of its own, is left out.

`-json` lines are test2json events whose `Output` is that same text, so they are decoded (after a
cheap prefix check) and fed through the same state machine with the event's own test name. A build
or vet failure prints `# <package>` and the compiler's `file.go:L:C: message` lines, then
`FAIL\t<package> [build failed]`; its id is the package import path, which is what reruns it.

A timeout panics the test binary: Go 1.20+ lists the `running tests:`; Go 1.19 only shows them as
`<package>.TestName(…)` frames in the goroutine dump (or, with `-v`, as tests that started and never
finished), so all three are used. Likewise a test that kills the binary (`log.Fatal`, `os.Exit`)
is the one left running when its package reports FAIL; plain output does not name it at all.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import ClassVar

import orjson

from workers.agents.ci_doctor.report import Failure, FailureKind, FrameworkResult

MAX_LINE_CHARS = 2_000
MAX_TEST_LINES = 30
MAX_EXCERPT_LINES = 15
MAX_OPEN_TESTS = 5_000
MAX_FAILURES = 2_000
MAX_BUILD_LINES = 12
MAX_EVENT_CHARS = 65_536
MAX_PENDING_BUILDS = 500

_RUN_MARK = re.compile(r"=== (?P<verb>RUN|CONT|NAME|PAUSE) +(?P<test>\S+)")
_STATUS = re.compile(
    r"(?P<indent> *)--- (?P<status>FAIL|PASS|SKIP): (?P<test>\S+)(?: \([\d.]+s\))?"
)
_PACKAGE_END = re.compile(
    r"(?P<status>FAIL|ok) *\t(?P<package>\S+)(?:\t| \[(?P<why>[a-z ]{1,40})\]|$)"
)
_BUILD_HEADER = re.compile(r"# (?P<package>\S+)(?: \[\S+\])?")
_DIAGNOSTIC = re.compile(r"(?:vet: )?(?P<file>[^\s:]+\.go):(?P<line>\d+)(?::\d+)?: \S")
_TEST_OUTPUT = re.compile(r"\s+(?P<file>[^\s:]+\.go):(?P<line>\d+): ")
_FRAME_LOCATION = re.compile(r"\t(?P<file>\S+\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?")
_RUNNING_TEST = re.compile(r"\t(?P<test>\S+) \(\S+\)")
_JSON_PREFIX = '{"'
_TRIGGERS = ("=== ", "--- ", "FAIL", "ok ", "# ", "panic: ", _JSON_PREFIX)


@dataclass(slots=True)
class _Test:
    lines: list[str] = field(default_factory=list)
    panic: list[str] = field(default_factory=list)
    failed: bool = False
    finished: bool = False
    file: str | None = None
    line: int | None = None

    def has_output(self) -> bool:
        return bool(self.panic) or any(text.strip() for text in self.lines)

    def add(self, text: str) -> None:
        # A race report can fill the buffer before the `testing.go: race detected` line that
        # says why the test failed, so the test's own log lines get extra room.
        if len(self.lines) < MAX_TEST_LINES or (
            len(self.lines) < 2 * MAX_TEST_LINES and _TEST_OUTPUT.match(text)
        ):
            self.lines.append(text)


@dataclass(slots=True)
class _Panic:
    """A panic being read: its message, then the goroutine dump (`in_dump`)."""

    package: str
    owner: tuple[str, str] | None
    message: str
    timed_out: bool
    in_dump: bool = False
    listing_running: bool = False
    frame_test: str | None = None


@dataclass(slots=True)
class _Build:
    lines: list[str] = field(default_factory=list)
    file: str | None = None
    line: int | None = None


def decode_event(line: str) -> tuple[str, str, str | None, str | None] | None:
    """A test2json event as (action, package, test, output); None for anything else."""
    if not line.startswith(_JSON_PREFIX) or '"Action"' not in line:
        return None
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(event, dict):
        return None
    action, package = event.get("Action"), event.get("Package") or event.get("ImportPath")
    test, output = event.get("Test"), event.get("Output")
    if not isinstance(action, str) or not isinstance(package, str):
        return None
    return (
        action,
        package.split(" ", 1)[0],
        test if isinstance(test, str) else None,
        output if isinstance(output, str) else None,
    )


def assertion_lines(lines: list[str]) -> list[str]:
    """`t.Error`/`t.Fatal` output (`    file_test.go:17: message`) with its continuation lines,
    which the testing package indents deeper; everything the test printed when it logged none."""
    picked: list[str] = []
    inside = False
    for text in lines:
        if _TEST_OUTPUT.match(text):
            inside = True
            picked.append(text.strip())
        elif inside and text.startswith(("        ", "\t")):
            picked.append(text.strip())
        else:
            inside = False
    if not picked:
        picked = [text.strip() for text in lines if text.strip()]
    return picked[:MAX_EXCERPT_LINES]


def frame_test_name(line: str) -> str | None:
    """`example.com/m/calc.TestTable.func1(0xc000…)` is a frame of test `TestTable`."""
    paren = line.find("(")
    if paren <= 0 or line[0] in " \t":
        return None
    function = line[:paren]
    if " " in function:
        return None
    package_path, _, qualified = function.rpartition("/")
    package, *names = qualified.split(".")
    if (package_path + package).startswith("testing") or not names:
        return None
    first = names[0]
    return first if first.startswith("Test") else None


def parent_of(test_id: str) -> str | None:
    head, slash, _ = test_id.rpartition("/")
    return head if slash else None


class GoParser:
    """A `LineParser` for `go test` output, text and `-json` alike."""

    name: ClassVar[str] = "go"
    wake: ClassVar[str] = "|".join(re.escape(trigger) for trigger in _TRIGGERS)

    def __init__(self) -> None:
        self._detected = False
        self._failures: list[Failure] = []
        self._build_failed = False
        # Open tests by (package, id); the package is "" in text mode until its FAIL/ok line.
        self._tests: OrderedDict[tuple[str, str], _Test] = OrderedDict()
        self._current: tuple[str, str] | None = None
        self._builds: dict[str, _Build] = {}
        self._build_package: str | None = None
        self._last_failed: tuple[str, str] | None = None
        self._panic: _Panic | None = None

    @property
    def busy(self) -> bool:
        return (
            self._current is not None or self._build_package is not None or self._panic is not None
        )

    def feed(self, line: str) -> None:
        # Most lines of a job log are not go's: skip them with one cheap test unless a test's
        # output, a build error or a panic is being read.
        idle = self._current is None and self._build_package is None and self._panic is None
        if idle and not line.lstrip(" ").startswith(_TRIGGERS):
            return
        line = line.rstrip("\r\n")
        event = decode_event(line) if len(line) <= MAX_EVENT_CHARS else None
        if event is None:
            self._feed_text(line[:MAX_LINE_CHARS], package="", test=None)
            return
        self._detected = True
        action, package, test, output = event
        if output is not None:
            for piece in output.splitlines() or [""]:
                self._feed_text(piece[:MAX_LINE_CHARS], package=package, test=test)
        if test is not None:
            if action == "fail":
                self._open(package, test).failed = True
            elif action in ("pass", "skip"):
                self._tests.pop((package, test), None)
        elif action in ("fail", "pass"):
            self._end_package(package, failed=action == "fail")

    def finish(self) -> FrameworkResult:
        for package, _ in list(self._tests):
            # A log cut off mid-package says nothing about the tests still running.
            self._end_package(package, failed=False)
        # `go vet ./...` and `go build ./...` steps print the same `# package` blocks as
        # `go test` but no `FAIL <package> [build failed]` line after them.
        for package, build in list(self._builds.items()):
            if build.file is not None:
                self._detected = True
                self._report_build_failure(package)
        return FrameworkResult(
            detected=self._detected,
            build_error=self._build_failed,
            failures=list(self._failures),
        )

    def _open(self, package: str, test: str) -> _Test:
        key = (package, test)
        record = self._tests.get(key)
        if record is None:
            if len(self._tests) >= MAX_OPEN_TESTS:
                self._evict_one()
            record = self._tests[key] = _Test()
        return record

    def _evict_one(self) -> None:
        """Keep memory bounded on a log of endless running tests: forget the oldest, sparing
        (a few times) failed ones, in constant time."""
        for _ in range(8):
            oldest = next(iter(self._tests))
            if not self._tests[oldest].failed:
                break
            self._tests.move_to_end(oldest)
        del self._tests[oldest]

    def _feed_text(self, line: str, *, package: str, test: str | None) -> None:
        if self._feed_framework_line(line, package=package, event_test=test):
            return
        if self._feed_build_line(line):
            return
        if self._feed_panic_line(line, package=package, event_test=test):
            return
        owner = (package, test) if test is not None else self._current
        if owner is not None and owner in self._tests:
            self._tests[owner].add(line)

    def _feed_framework_line(self, line: str, *, package: str, event_test: str | None) -> bool:
        if line in ("FAIL", "PASS") or (line.startswith("=== CONT  ") and not line[10:].strip()):
            # Go 1.19 -v prints `=== CONT` with no name when output switches back to a parent.
            return True
        run = _RUN_MARK.fullmatch(line)
        if run is not None:
            self._detected = True
            key = (package, run["test"])
            self._open(*key)
            self._current = None if run["verb"] == "PAUSE" else key
            return True
        status = _STATUS.fullmatch(line)
        if status is not None:
            self._detected = True
            self._on_status(package, status["test"], failed=status["status"] == "FAIL")
            return True
        end = _PACKAGE_END.match(line)
        if end is not None and (end["status"] == "FAIL" or line.startswith("ok  ")):
            self._detected = True
            if end["why"] in ("build failed", "setup failed"):
                self._report_build_failure(end["package"])
            self._end_package(end["package"], failed=end["status"] == "FAIL")
            return True
        return False

    def _on_status(self, package: str, test: str, *, failed: bool) -> None:
        key = (package, test)
        if not failed:
            self._tests.pop(key, None)
            self._current = None
            return
        record = self._open(package, test)
        record.failed = True
        record.finished = True
        # Without -v the failed test's own lines follow its `--- FAIL` line, and so does a panic.
        self._current = key
        self._last_failed = key

    def _feed_build_line(self, line: str) -> bool:
        header = _BUILD_HEADER.fullmatch(line)
        if header is not None:
            package = header["package"]
            if package in self._builds or len(self._builds) < MAX_PENDING_BUILDS:
                self._build_package = package
                self._builds.setdefault(package, _Build())
            return True
        if self._build_package is None:
            return False
        diagnostic = _DIAGNOSTIC.match(line)
        if diagnostic is None and not line.startswith(("\t", "    ")):
            self._build_package = None
            return False
        build = self._builds[self._build_package]
        if len(build.lines) < MAX_BUILD_LINES:
            build.lines.append(line)
        if diagnostic is not None and build.file is None:
            build.file, build.line = diagnostic["file"], int(diagnostic["line"])
        return True

    def _feed_panic_line(self, line: str, *, package: str, event_test: str | None) -> bool:
        if line.startswith("panic: "):
            self._start_panic(line, package=package, event_test=event_test)
            return True
        panic = self._panic
        if panic is None:
            return False
        if line == "running tests:":
            panic.listing_running = True
        elif panic.listing_running and (running := _RUNNING_TEST.fullmatch(line)):
            self._mark_failed(panic.package, running["test"], [panic.message, line.strip()])
        elif not panic.in_dump and line.startswith(("\tpanic: ", "[")):
            self._add_panic_detail(panic, line)
        elif not line.strip():
            panic.in_dump = True
            panic.listing_running = False
        else:
            self._feed_goroutine_frame(panic, line)
        return True

    def _start_panic(self, line: str, *, package: str, event_test: str | None) -> None:
        owner = (package, event_test) if event_test is not None else self._last_failed
        timed_out = line.startswith("panic: test timed out after")
        if timed_out and event_test is None:
            # -v: the tests that started and never finished are the ones the timeout killed.
            for key, test in list(self._tests.items()):
                if not test.finished and key[0] == package:
                    self._mark_failed(package, key[1], [line])
            owner = None
        self._panic = _Panic(package=package, owner=owner, message=line, timed_out=timed_out)
        if owner is not None:
            self._mark_failed(package, owner[1], [line])

    def _add_panic_detail(self, panic: _Panic, line: str) -> None:
        if panic.owner is None or panic.owner not in self._tests:
            return
        record = self._tests[panic.owner]
        if len(record.panic) < 4:
            record.panic.append(line)

    def _feed_goroutine_frame(self, panic: _Panic, line: str) -> None:
        """The goroutine dump after a panic says where the test panicked, and, for a Go 1.19
        timeout without -v, which tests were still running."""
        test = frame_test_name(line)
        if test is not None:
            panic.frame_test = test
            if panic.timed_out and panic.owner is None:
                self._mark_failed(panic.package, test, [panic.message])
            return
        location = _FRAME_LOCATION.fullmatch(line)
        owner = panic.owner
        if location is not None and owner is not None and panic.frame_test == owner[1]:
            record = self._tests.get(owner)
            if record is not None and record.file is None:
                record.file, record.line = location["file"], int(location["line"])
        panic.frame_test = None

    def _mark_failed(self, package: str, test: str, panic_lines: list[str]) -> None:
        record = self._open(package, test)
        record.failed = True
        if not record.panic:
            record.panic = panic_lines

    def _report_build_failure(self, package: str) -> None:
        self._build_failed = True
        build = self._builds.pop(package, _Build())
        self._append(
            Failure(
                id=package,
                kind=FailureKind.BUILD,
                excerpt="\n".join(build.lines) or f"{package} [build failed]",
                file=build.file,
                line=build.line,
                framework=self.name,
            )
        )

    def _end_package(self, package: str, *, failed: bool) -> None:
        done = [key for key in self._tests if key[0] in (package, "")]
        if failed:
            # A test that started (`=== RUN`) and never finished in a failed package is the one
            # that took the test binary down: `log.Fatal`, `os.Exit`, a crash in a goroutine.
            for key in done:
                if not self._tests[key].finished:
                    self._tests[key].failed = True
        parents_of_failures = {
            parent
            for key in done
            if self._tests[key].failed and (parent := parent_of(key[1])) is not None
        }
        for key in done:
            record = self._tests.pop(key)
            # A parent that failed only because a subtest did adds nothing to its subtests.
            if record.failed and not (key[1] in parents_of_failures and not record.has_output()):
                self._append(self._failure(key[1], record))
        self._current = None
        self._last_failed = None
        self._panic = None
        self._build_package = None

    def _failure(self, test_id: str, record: _Test) -> Failure:
        lines = record.panic or assertion_lines(record.lines)
        file, line_no = record.file, record.line
        if file is None:
            for text in record.lines:
                located = _TEST_OUTPUT.match(text)
                if located is not None:
                    file, line_no = located["file"], int(located["line"])
                    break
        return Failure(
            id=test_id,
            kind=FailureKind.FAILED,
            excerpt="\n".join(lines),
            file=file,
            line=line_no,
            framework=self.name,
        )

    def _append(self, failure: Failure) -> None:
        if len(self._failures) < MAX_FAILURES:
            self._failures.append(failure)
