"""`cargo test` (libtest) console output: unit, integration and doc-tests, and compile errors.

libtest prints each failing test three ways: a status line (`test NAME ... FAILED`, or
`NAME --- FAILED` under `-q`), a `---- NAME stdout ----` section with what it printed, and the final
`failures:` list. The list is the one that survives every mode, so it decides the ids; the sections
and the panic lines (`thread 'NAME' panicked at FILE:LINE:COL:`) supply the excerpt. Under
`--nocapture` there are no sections and the panic is printed where it happened, possibly between
other tests' lines, but libtest names each test's thread after the test, so the panic still finds
its owner. With `--test-threads=1` the status line is split: `test NAME ... ` then the test's own
output, then `FAILED` on a line of its own. A stack overflow aborts the whole test binary before
any summary; its `thread 'NAME' has overflowed its stack` line is what names the test.

A compile error's id is the crate cargo names in `error: could not compile `NAME``; the excerpt is
rustc's first diagnostics and the location their first ` --> file:line:col`.

Only plain string operations and anchored regexes are used: every line is attacker-controlled text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from workers.agents.ci_doctor.report import Failure, FailureKind, FrameworkResult

MAX_LINE_CHARS = 2_000
MAX_EXCERPT_LINES = 15
MAX_SECTION_LINES = 60
MAX_FAILURES = 2_000

_RUNNING = re.compile(r"running \d+ tests?")
_RESULT_PREFIX = "test result: "
_SECTION = re.compile(r"---- (.+) std(?:out|err) ----")
_LOCATION = re.compile(r"(?P<file>[^\s:'\"]+):(?P<line>\d+):(?P<col>\d+)")
_COULD_NOT_COMPILE = re.compile(r"error: could not compile `(?P<crate>[^`]{1,200})`")
_DIAGNOSTIC_START = re.compile(r"error(?:\[E\d{4}\])?: ")
_DIAGNOSTIC_ARROW = re.compile(r"\s*--> (?P<loc>\S+)")
# cargo's own closing errors, which are not compiler diagnostics.
_CARGO_SUMMARY_ERRORS = ("error: test failed", "error: doctest failed", "error: could not compile")
_CARGO_TARGETS_FAILED = re.compile(r"error: \d+ targets? failed:")
# Outside a test binary's run, only these lines can start something cargo prints.
_TRIGGERS = ("running ", "error")
_PANIC_NOTES = ("note: run with `RUST_BACKTRACE", "note: Some details are omitted")
# A `#[should_panic]` test that returned normally.
_DID_NOT_PANIC = "note: test did not panic as expected at "
# Under `--test-threads=1` rustdoc's last line for a doc-test that did not compile runs into
# libtest's outcome.
_DOCTEST_NOT_COMPILED = "Couldn't compile the test.FAILED"
# libtest's status line names a `#[should_panic]` test with this suffix; its id has none.
SHOULD_PANIC_SUFFIX = " - should panic"


@dataclass(frozen=True, slots=True)
class Panic:
    """Where a test panicked and the lines that say why."""

    file: str | None
    line: int | None
    lines: tuple[str, ...]


def parse_panic_header(line: str) -> tuple[str, str | None, int | None] | None:
    """`thread 'NAME' (TID) panicked at FILE:L:C:` (and the pre-1.73 `at 'MSG', FILE:L:C`)
    as (thread name, file, line)."""
    if not line.startswith("thread '"):
        return None
    name_end = line.find("' ", 8)
    marker = line.find(" panicked at ", name_end)
    if name_end < 0 or marker < 0:
        return None
    name = line[8:name_end]
    location = line[marker + len(" panicked at ") :].rstrip(":")
    # Old format: `panicked at 'message', src/lib.rs:3:5`; the location is after the last comma.
    location = location.rsplit(", ", 1)[-1]
    match = _LOCATION.fullmatch(location)
    if match is None:
        return name, None, None
    return name, match["file"], int(match["line"])


def parse_stack_overflow(line: str) -> str | None:
    """`thread 'NAME' (TID) has overflowed its stack` names the test that overflowed."""
    if not line.startswith("thread '") or not line.endswith(" has overflowed its stack"):
        return None
    name_end = line.find("'", 8)
    return line[8:name_end] if name_end > 8 else None


def is_panic_terminator(line: str) -> bool:
    """Lines after a panic message that are boilerplate, not part of the message."""
    stripped = line.strip()
    return (
        not stripped
        or stripped.startswith(_PANIC_NOTES)
        or stripped == "stack backtrace:"
        or line.startswith("test ")
        or stripped == "FAILED"
    )


def excerpt_from_section(lines: list[str], test_id: str = "") -> str:
    """The panics and their messages from a `---- NAME stdout ----` section, the test's own
    thread's first (a thread the test spawned may have panicked before it and say more); the
    section's first lines when nothing panicked (a test returning `Err`, a doc-test that failed
    to compile)."""
    own: list[str] = []
    others: list[str] = []
    for index, line in enumerate(lines):
        header = parse_panic_header(line)
        if header is None:
            continue
        picked = [line]
        for follower in lines[index + 1 :]:
            if is_panic_terminator(follower) or len(picked) >= MAX_EXCERPT_LINES:
                break
            picked.append(follower)
        if header[0] == test_id and not own:
            own = picked
        elif len(others) < MAX_EXCERPT_LINES:
            others += picked
    if own or others:
        return "\n".join([*own, *others][:MAX_EXCERPT_LINES])
    meaningful = [line for line in lines if line.strip()]
    return "\n".join(meaningful[:MAX_EXCERPT_LINES])


def doctest_location(test_id: str) -> tuple[str | None, int | None]:
    """`src/lib.rs - path::item (line 3)` (maybe ` - compile fail` after it) names the file and
    the line of the doc-test."""
    file, separator, rest = test_id.partition(" - ")
    marker = rest.rfind("(line ")
    end = rest.find(")", marker)
    if not separator or " " in file or marker < 0 or end < 0:
        return None, None
    number = rest[marker + len("(line ") : end]
    return (file, int(number)) if number.isdigit() else (None, None)


def parse_location(text: str) -> tuple[str | None, int | None]:
    match = _LOCATION.fullmatch(text)
    if match is None:
        return None, None
    return match["file"], int(match["line"])


@dataclass(slots=True)
class _Target:
    """What one test binary (a `running N tests` … `test result:` block) printed."""

    failed: dict[str, None] = field(default_factory=dict)  # ordered set
    sections: dict[str, list[str]] = field(default_factory=dict)
    panics: dict[str, Panic] = field(default_factory=dict)

    def add_failed(self, test_id: str) -> None:
        if test_id not in self.failed and len(self.failed) < MAX_FAILURES:
            self.failed[test_id] = None


@dataclass(slots=True)
class _Diagnostic:
    lines: list[str]
    file: str | None = None
    line: int | None = None


class CargoParser:
    """A `LineParser` for `cargo test` output in every libtest mode."""

    name: ClassVar[str] = "cargo"
    wake: ClassVar[str] = "|".join(_TRIGGERS)

    def __init__(self) -> None:
        self._detected = False
        self._failures: list[Failure] = []
        self._target: _Target | None = None
        self._section: list[str] | None = None
        self._in_failure_list = False
        self._open_panic: tuple[str, list[str], str | None, int | None] | None = None
        self._unclaimed_panic: Panic | None = None
        self._split_status: str | None = None
        self._split_lines: list[str] = []
        self._diagnostics: list[_Diagnostic] = []
        self._open_diagnostic: _Diagnostic | None = None
        self._build_failed_units: set[str] = set()

    @property
    def busy(self) -> bool:
        return self._target is not None or self._open_diagnostic is not None

    def feed(self, line: str) -> None:
        # Most lines of a job log are not cargo's: skip them with one cheap test.
        if (
            self._target is None
            and self._open_diagnostic is None
            and not line.startswith(_TRIGGERS)
        ):
            return
        line = line[:MAX_LINE_CHARS].rstrip("\r\n")
        self._feed_diagnostics(line)
        if _RUNNING.fullmatch(line):
            self._start_target()
            return
        target = self._target
        if target is None:
            return
        if line.startswith(_RESULT_PREFIX):
            self._finish_target(target)
            return
        self._feed_panic(target, line)
        self._feed_target(target, line)

    def finish(self) -> FrameworkResult:
        if self._target is not None:
            # A log cut off mid-run (a killed job) still reports what it saw.
            self._finish_target(self._target)
        return FrameworkResult(
            detected=self._detected,
            build_error=bool(self._build_failed_units),
            failures=list(self._failures),
        )

    def _start_target(self) -> None:
        if self._target is not None:
            self._finish_target(self._target)
        self._detected = True
        self._target = _Target()
        self._section = None
        self._in_failure_list = False
        self._open_panic = None
        self._unclaimed_panic = None
        self._split_status = None
        # Diagnostics printed inside a doc-test's section belong to that test, not to the build.
        self._diagnostics = []

    def _feed_target(self, target: _Target, line: str) -> None:
        overflowed = parse_stack_overflow(line)
        if overflowed is not None:
            # The abort that follows kills the test binary before any summary: this line is
            # all that names the test.
            target.add_failed(overflowed)
            if len(target.panics) < MAX_FAILURES:
                target.panics.setdefault(overflowed, Panic(file=None, line=None, lines=(line,)))
            return
        if line == "failures:":
            self._section = None
            # The second `failures:` header (the only one under --nocapture, which prints no
            # sections, is followed directly by the list) opens the list of failed ids.
            self._in_failure_list = True
            return
        if self._in_failure_list:
            if line.startswith("    ") and line.strip():
                target.add_failed(line.strip())
                return
            if line.strip():
                self._in_failure_list = False
        section = _SECTION.fullmatch(line)
        if section is not None:
            self._in_failure_list = False
            test_id = section[1]
            target.add_failed(test_id)
            if test_id in target.sections or len(target.sections) < MAX_FAILURES:
                self._section = target.sections.setdefault(test_id, [])
            return
        if self._section is not None:
            if len(self._section) < MAX_SECTION_LINES:
                self._section.append(line)
            return
        self._feed_status_line(target, line)

    def _feed_status_line(self, target: _Target, line: str) -> None:
        if line.startswith("test ") and " ... " in line:
            test_id, _, outcome = line[len("test ") :].partition(" ... ")
            test_id = test_id.removesuffix(SHOULD_PANIC_SUFFIX)
            if outcome == "FAILED":
                self._mark_failed(target, test_id)
            elif outcome == "ok" or outcome.startswith("ignored"):
                self._split_status = None
            else:
                # `--test-threads=1`: the test's own output follows on the same line and the
                # outcome arrives later, alone on its line.
                self._split_status = test_id
                self._split_lines = [outcome]
                self._note_error_line(outcome)
        elif self._split_status is not None and line in ("FAILED", _DOCTEST_NOT_COMPILED):
            if line != "FAILED":
                self._split_lines.append(line.removesuffix("FAILED"))
            if self._unclaimed_panic is None and self._split_lines[0].startswith("error"):
                # rustdoc's compile errors, printed after the status line, are the reason.
                lines = tuple(self._split_lines[:MAX_EXCERPT_LINES])
                self._unclaimed_panic = Panic(file=None, line=None, lines=lines)
            self._mark_failed(target, self._split_status)
        elif not line.startswith((" ", "\t")) and line.endswith(" --- FAILED"):
            target.add_failed(line[: -len(" --- FAILED")].removesuffix(SHOULD_PANIC_SUFFIX))
        else:
            if self._split_status is not None and len(self._split_lines) < MAX_EXCERPT_LINES:
                self._split_lines.append(line)
            self._note_error_line(line)

    def _note_error_line(self, text: str) -> None:
        # A test returning `Err` prints `Error: {err:?}` from its own thread; under --nocapture
        # that line, not a section, is all that says why it failed.
        if text.startswith("Error: ") and self._unclaimed_panic is None:
            self._unclaimed_panic = Panic(file=None, line=None, lines=(text,))

    def _mark_failed(self, target: _Target, test_id: str) -> None:
        target.add_failed(test_id)
        # A doc-test runs as its own program, so under --nocapture its panic names thread
        # 'main'; it is the one printed just before the doc-test's outcome.
        if self._unclaimed_panic is not None and test_id not in target.panics:
            target.panics[test_id] = self._unclaimed_panic
        self._unclaimed_panic = None
        self._split_status = None

    def _feed_panic(self, target: _Target, line: str) -> None:
        """Panics printed live (--nocapture) are kept by thread name, which is the test id."""
        header = parse_panic_header(line)
        if header is not None:
            name, file, line_no = header
            self._open_panic = (name, [line], file, line_no)
            return
        if self._open_panic is None:
            return
        name, lines, file, line_no = self._open_panic
        if is_panic_terminator(line) or len(lines) >= MAX_EXCERPT_LINES:
            panic = Panic(file=file, line=line_no, lines=tuple(lines))
            if name == "main":
                self._unclaimed_panic = panic
            elif name not in target.panics and len(target.panics) < MAX_FAILURES:
                target.panics[name] = panic
            self._open_panic = None
        else:
            lines.append(line)

    def _finish_target(self, target: _Target) -> None:
        if self._open_panic is not None:
            self._feed_panic(target, "")
        for test_id in target.failed:
            if len(self._failures) >= MAX_FAILURES:
                break
            self._append(self._failure_for(target, test_id))
        self._target = None
        self._section = None
        self._in_failure_list = False

    def _failure_for(self, target: _Target, test_id: str) -> Failure:
        section = target.sections.get(test_id, [])
        excerpt = excerpt_from_section(section, test_id)
        panic = target.panics.get(test_id)
        if not excerpt and panic is not None:
            excerpt = "\n".join(panic.lines)
        file, line = doctest_location(test_id)
        if file is None:
            file, line = self._panic_location(section, panic, test_id)
        return Failure(
            id=test_id,
            kind=FailureKind.FAILED,
            excerpt=excerpt,
            file=file,
            line=line,
            framework=self.name,
        )

    @staticmethod
    def _panic_location(
        section: list[str], panic: Panic | None, test_id: str
    ) -> tuple[str | None, int | None]:
        first: tuple[str | None, int | None] = (None, None)
        for line in section:
            header = parse_panic_header(line)
            if header is not None and header[1] is not None:
                if header[0] == test_id:  # the test's own thread, not one it spawned
                    return header[1], header[2]
                first = first if first[0] is not None else (header[1], header[2])
            if line.startswith(_DID_NOT_PANIC):
                return parse_location(line[len(_DID_NOT_PANIC) :].strip())
        if first[0] is not None:
            return first
        if panic is not None:
            return panic.file, panic.line
        return None, None

    def _feed_diagnostics(self, line: str) -> None:
        """rustc diagnostics, kept until cargo says which crate they stopped from compiling."""
        failed = _COULD_NOT_COMPILE.match(line)
        if failed is not None:
            self._detected = True
            self._open_diagnostic = None
            self._report_build_failure(failed["crate"])
            return
        if line.startswith(_CARGO_SUMMARY_ERRORS) or _CARGO_TARGETS_FAILED.match(line):
            self._open_diagnostic = None
            return
        if _DIAGNOSTIC_START.match(line):
            self._open_diagnostic = _Diagnostic(lines=[line])
            if len(self._diagnostics) < 20:
                self._diagnostics.append(self._open_diagnostic)
            return
        diagnostic = self._open_diagnostic
        if diagnostic is None:
            return
        if not line.strip() or line.startswith(("warning", "For more information")):
            self._open_diagnostic = None
            return
        if len(diagnostic.lines) < MAX_EXCERPT_LINES:
            diagnostic.lines.append(line)
        arrow = _DIAGNOSTIC_ARROW.match(line)
        if arrow is not None and diagnostic.file is None:
            diagnostic.file, diagnostic.line = parse_location(arrow["loc"])

    def _report_build_failure(self, crate: str) -> None:
        if crate in self._build_failed_units or len(self._build_failed_units) >= MAX_FAILURES:
            self._diagnostics = []
            return
        self._build_failed_units.add(crate)
        diagnostics = self._diagnostics[:3]
        located = next((d for d in diagnostics if d.file is not None), None)
        excerpt = "\n".join("\n".join(d.lines) for d in diagnostics)
        if not excerpt:
            excerpt = f"could not compile `{crate}`"
        self._append(
            Failure(
                id=crate,
                kind=FailureKind.BUILD,
                excerpt=excerpt,
                file=located.file if located else None,
                line=located.line if located else None,
                framework=self.name,
            )
        )
        self._diagnostics = []

    def _append(self, failure: Failure) -> None:
        if len(self._failures) < MAX_FAILURES:
            self._failures.append(failure)
