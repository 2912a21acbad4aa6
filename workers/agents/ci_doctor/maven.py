"""Maven Surefire console output (JUnit 5, and the JUnit 4 style names), and compile errors.

Surefire prints, per test class, `Tests run: …, Failures: …  <<< FAILURE! - in <class>` and then
one block per failed test: a header, the exception (message first) and its trimmed stack trace,
ending at a blank line. The header names the test three ways depending on the version:

- Surefire 2.22 with JUnit 5: `method  Time elapsed: 0.1 s  <<< FAILURE!` (class from the `in`
  line; `method{int}[2]` for a parameterised run; the class itself for a failing `@BeforeAll`);
- Surefire 3: `com.example.FooTest.method -- Time elapsed: 0.1 s <<< FAILURE!`;
- JUnit 4 style: `method(com.example.FooTest)  Time elapsed: 0.1 sec  <<< FAILURE!`.

Ids are `fully.qualified.Class.method` as Surefire's XML report names them. A `@Nested` class's
tests print only the method name under the outer class's `in` line, so the stack frame that runs
the method supplies the real class (`Outer$Inner`). With `-q` only the `[ERROR]` lines remain,
which include all of the above. Compile errors are javac's `[ERROR] File.java:[l,c] message`
lines, followed by `Failed to execute goal …maven-compiler-plugin… on project X: Compilation
failure`; the id is the project X.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from workers.agents.ci_doctor.report import Failure, FailureKind, FrameworkResult

MAX_LINE_CHARS = 2_000
MAX_MESSAGE_LINES = 8
MAX_FRAMES = 3
MAX_EXCERPT_LINES = 20
MAX_BLOCK_LINES = 200
MAX_FAILURES = 2_000
MAX_COMPILER_LINES = 12

_LEVEL = re.compile(r"\[(?P<level>INFO|ERROR|WARNING|WARN|DEBUG)\] ?")
_CLASS_SUMMARY = re.compile(
    r"Tests run: \d+, Failures: \d+, Errors: \d+, Skipped: \d+, Time elapsed: .{1,40}?"
    r" -{1,2} in (?P<class>\S+)"
)
_RUNNING = re.compile(r"Running (?P<class>[\w.$]+)")
_TIME_ELAPSED = re.compile(r" Time elapsed: [\d.,]+ s(?:ec)? +<<< (?P<outcome>FAILURE|ERROR)!")
_JUNIT4_NAME = re.compile(r"(?P<method>[^\s(]+)\((?P<class>[\w.$]+)\)")
_COMPILER_POSITION = re.compile(r":\[(?P<line>\d+),\d+\] \S")
_SUREFIRE_MARKERS = ("T E S T S", "maven-surefire-plugin", "maven-failsafe-plugin")


@dataclass(slots=True)
class _Block:
    """One failed test's header and what followed it, until the blank line closing it."""

    name: str
    test_class: str | None
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Frame:
    """`at com.example.FooTest.method(FooTest.java:12)`"""

    class_name: str
    method: str
    file: str | None
    line: int | None


def parse_frame(text: str) -> Frame | None:
    stripped = text.strip()
    if not stripped.startswith("at "):
        return None
    paren = stripped.find("(")
    close = stripped.find(")", paren)
    if paren < 0 or close < 0:
        return None
    class_name, dot, method = stripped[3:paren].rpartition(".")
    if not dot or " " in class_name:
        return None
    # `java.base/java.lang.Thread` names a JDK module first.
    class_name = class_name.rpartition("/")[2]
    file, colon, line = stripped[paren + 1 : close].rpartition(":")
    if not colon or not line.isdigit():
        return Frame(class_name=class_name, method=method, file=None, line=None)
    return Frame(class_name=class_name, method=method, file=file, line=int(line))


def parse_compiler_error(text: str) -> tuple[str, int] | None:
    """javac through Maven: `/path/Foo.java:[12,5] message` as (path, line)."""
    bracket = text.find(":[")
    if bracket <= 0 or " " in text[:bracket]:
        return None
    position = _COMPILER_POSITION.match(text, bracket)
    if position is None:
        return None
    return text[:bracket], int(position["line"])


def failed_compile_project(text: str) -> str | None:
    """`Failed to execute goal …maven-compiler-plugin… on project shop: Compilation failure`."""
    if not text.startswith("Failed to execute goal ") or "maven-compiler-plugin" not in text:
        return None
    marker = text.find(" on project ")
    if marker < 0:
        return None
    project = text[marker + len(" on project ") :].partition(":")[0].strip()
    return project or None


def split_level(line: str) -> tuple[str | None, str]:
    """`[ERROR] text` as ("ERROR", "text"); a line Maven did not prefix as (None, line)."""
    match = _LEVEL.match(line)
    if match is None:
        return None, line
    return match["level"], line[match.end() :]


def parse_header(text: str) -> str | None:
    """The name a failed test's header shows; None for any other line."""
    elapsed = _TIME_ELAPSED.search(text)
    if elapsed is None or elapsed.end() != len(text.rstrip()):
        return None
    name = text[: elapsed.start()].rstrip().removesuffix(" --").strip()
    return name or None


def method_of(name: str) -> str:
    """`discounts{int, int}[1]` and `discounts(int)[1]` run method `discounts`."""
    cut = len(name)
    for mark in "{([":
        index = name.find(mark)
        if index > 0:
            cut = min(cut, index)
    return name[:cut]


def test_identity(block: _Block) -> tuple[str, FailureKind]:
    """The XML report's `classname.name` for a block, and whether it failed or errored."""
    junit4 = _JUNIT4_NAME.fullmatch(block.name)
    if junit4 is not None:
        return f"{junit4['class']}.{junit4['method']}", FailureKind.FAILED
    outer = block.test_class
    if outer is None or block.name == outer or block.name.startswith(outer + "."):
        # Surefire 3 prints the full name; 2.22 prints the class itself for an error in
        # `@BeforeAll`/`@AfterAll`, which is around the tests rather than in one of them.
        kind = FailureKind.ERROR if block.name == outer else FailureKind.FAILED
        return block.name, kind
    method = method_of(block.name)
    for text in block.lines:
        frame = parse_frame(text)
        if frame is None or frame.method != method:
            continue
        if frame.class_name == outer or frame.class_name.startswith(outer + "$"):
            return f"{frame.class_name}.{block.name}", FailureKind.FAILED
    return f"{outer}.{block.name}", FailureKind.FAILED


def excerpt_lines(lines: list[str]) -> list[str]:
    """The exception and its message, the first frames, and each `Caused by:` line."""
    picked: list[str] = []
    frames = 0
    in_message = True
    for text in lines:
        if text.lstrip().startswith("at "):
            in_message = False
            frames += 1
            keep = frames <= MAX_FRAMES
        else:
            in_message = in_message and not text.lstrip().startswith("...")
            keep = text.startswith("Caused by: ") or (
                in_message and len(picked) < MAX_MESSAGE_LINES
            )
        if keep and len(picked) < MAX_EXCERPT_LINES:
            picked.append(text)
    return picked


def frame_location(lines: list[str], test_id: str) -> tuple[str | None, int | None]:
    """The first frame in the test's own class (or, for a class-level error, the class)."""
    for text in lines:
        frame = parse_frame(text)
        if frame is None or frame.file is None:
            continue
        if test_id == frame.class_name or test_id.startswith(frame.class_name + "."):
            return frame.file, frame.line
    return None, None


class MavenParser:
    """A `LineParser` for Maven builds that run tests with Surefire."""

    name: ClassVar[str] = "maven"
    # Outside a failed test's block and javac's continuation lines, only `[LEVEL]` lines.
    wake: ClassVar[str] = r"\[(?:INFO|ERROR|WARNING|WARN|DEBUG)\]"

    def __init__(self) -> None:
        self._detected = False
        self._build_error = False
        self._failures: list[Failure] = []
        self._seen: set[str] = set()
        self._class: str | None = None
        self._block: _Block | None = None
        self._compiler_lines: list[str] = []
        self._compiler_location: tuple[str, int] | None = None
        self._in_compiler_error = False

    @property
    def busy(self) -> bool:
        return self._block is not None or self._in_compiler_error

    def feed(self, line: str) -> None:
        # Outside a failed test's block Maven prefixes what matters with its `[LEVEL]`, except
        # javac's continuation lines.
        in_compiler_error, self._in_compiler_error = self._in_compiler_error, False
        if self._block is None and not line.startswith("["):
            if in_compiler_error and line.startswith("  ") and line.strip():
                self._in_compiler_error = True
                self._add_compiler_line(line[:MAX_LINE_CHARS].rstrip(), None)
            return
        level, text = split_level(line[:MAX_LINE_CHARS].rstrip("\r\n"))
        if self._block is not None:
            if level is None and text.strip():
                if len(self._block.lines) < MAX_BLOCK_LINES:
                    self._block.lines.append(text)
                return
            self._close_block()
        if level is not None:
            self._feed_maven_line(level, text)

    def finish(self) -> FrameworkResult:
        self._close_block()
        return FrameworkResult(
            detected=self._detected,
            build_error=self._build_error,
            failures=list(self._failures),
        )

    def _feed_maven_line(self, level: str, text: str) -> None:
        if text.startswith(_SUREFIRE_MARKERS) or "maven-surefire-plugin" in text:
            self._detected = True
        running = _RUNNING.fullmatch(text)
        if running is not None:
            self._class = running["class"]
            return
        summary = _CLASS_SUMMARY.match(text)
        if summary is not None:
            self._detected = True
            self._class = summary["class"]
            return
        if level == "ERROR":
            self._feed_error_line(text)

    def _feed_error_line(self, text: str) -> None:
        name = parse_header(text)
        if name is not None:
            self._detected = True
            self._block = _Block(name=name, test_class=self._class)
            return
        location = parse_compiler_error(text)
        if location is not None:
            self._add_compiler_line(text, location)
            # javac's `symbol:`/`location:` lines follow without a level prefix.
            self._in_compiler_error = True
            return
        project = failed_compile_project(text)
        if project is not None:
            self._report_build_failure(project)

    def _add_compiler_line(self, text: str, location: tuple[str, int] | None) -> None:
        if location is not None and self._compiler_location is None:
            self._compiler_location = location
        if len(self._compiler_lines) < MAX_COMPILER_LINES and text not in self._compiler_lines:
            self._compiler_lines.append(text)

    def _report_build_failure(self, project: str) -> None:
        self._detected = True
        self._build_error = True
        file, line = self._compiler_location or (None, None)
        self._append(
            Failure(
                id=project,
                kind=FailureKind.BUILD,
                excerpt="\n".join(self._compiler_lines) or f"{project}: compilation failure",
                file=file,
                line=line,
                framework=self.name,
            )
        )
        self._compiler_lines = []
        self._compiler_location = None

    def _close_block(self) -> None:
        block, self._block = self._block, None
        if block is None:
            return
        test_id, kind = test_identity(block)
        file, line = frame_location(block.lines, test_id)
        self._append(
            Failure(
                id=test_id,
                kind=kind,
                excerpt="\n".join(excerpt_lines(block.lines)),
                file=file,
                line=line,
                framework=self.name,
            )
        )

    def _append(self, failure: Failure) -> None:
        # Surefire reruns (`rerunFailingTestsCount`) and the goal's repeated compiler errors
        # print the same failure twice.
        if failure.id in self._seen or len(self._failures) >= MAX_FAILURES:
            return
        self._seen.add(failure.id)
        self._failures.append(failure)
