"""JUnit XML reports, as a file or printed inside a console log (`vitest --reporter=junit`).

The document is gathered line by line (up to `MAX_XML_CHARS`) and parsed with junitparser once
its root element closes. Test ids follow the convention of the framework that wrote the report,
recognised from the report itself: vitest and node name test cases `describe > test`, pytest's
class names are dotted module paths, and anything else (Surefire, Gradle) is
`ClassName.method`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from junitparser import Attr, Error, Failure, IntAttr, JUnitXml, JUnitXmlError, TestCase

from workers.agents.ci_doctor.collect import DEFAULT_EXCERPT_LINES, FailureList, excerpt_of
from workers.agents.ci_doctor.js_common import frame_location
from workers.agents.ci_doctor.report import FailureKind, FrameworkResult

MAX_XML_CHARS = 32_000_000
GENERIC_FRAMEWORK = "junit"
# Entity declarations are how XML bombs expand; a test report never needs them.
_FORBIDDEN = ("<!DOCTYPE", "<!ENTITY")


class _Case(TestCase):
    """A test case with the `file`/`line` attributes pytest (xunit1) and others add."""

    file = Attr()
    line = IntAttr()


class JUnitXmlParser:
    name: ClassVar[str] = GENERIC_FRAMEWORK
    # Outside a document only its start matters.
    wake: ClassVar[str] = r"<\?xml|<testsuite"

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._chars = 0
        self._root: str | None = None  # "testsuites" or "testsuite" while gathering a document
        self._depth = 0
        self._in_prolog = False
        self._parsed = False
        self._producer: str | None = None
        self._failures = FailureList(GENERIC_FRAMEWORK)

    @property
    def busy(self) -> bool:
        return self._root is not None

    def feed(self, line: str) -> None:
        if self._root is None:
            if "<" in line:
                self._maybe_start(line)
            return
        self._gather(line)

    def finish(self) -> FrameworkResult:
        failures = self._failures.as_list()
        build_error = any(failure.kind == FailureKind.COLLECTION for failure in failures)
        return FrameworkResult(
            detected=self._parsed,
            build_error=build_error,
            failures=failures,
            framework=self._producer,
        )

    def feed_document(self, text: str) -> None:
        """A whole report at once (a report file), instead of line by line."""
        if len(text) <= MAX_XML_CHARS:
            self._parse(text)

    def _maybe_start(self, line: str) -> None:
        stripped = line.lstrip()
        if stripped.startswith("<?xml"):
            self._in_prolog = True
            stripped = stripped.split("?>", 1)[-1].lstrip()
            if not stripped:
                return
        root = _root_of(stripped)
        if root is None:
            self._in_prolog = self._in_prolog and not stripped.startswith("<")
            return
        self._root = root
        self._in_prolog = False
        self._depth = 0
        self._gather(stripped)

    def _gather(self, line: str) -> None:
        self._chars += len(line) + 1
        if self._chars > MAX_XML_CHARS:  # too big to be worth parsing: drop it, bounded
            self._reset()
            return
        self._lines.append(line)
        self._depth += _opens(line, self._root) - _closes(line, self._root)
        if self._depth <= 0:
            self._parse("\n".join(self._lines))
            self._reset()

    def _reset(self) -> None:
        self._lines = []
        self._chars = 0
        self._root = None
        self._depth = 0

    def _parse(self, text: str) -> None:
        if any(marker in text for marker in _FORBIDDEN):
            return
        try:
            report = JUnitXml.fromstring(text.encode("utf-8"))
        except (SyntaxError, JUnitXmlError):  # not well-formed: a log that merely looks like XML
            return
        self._parsed = True
        suite_name = report.name or ""
        cases = list(_cases(report))
        producer = _producer(suite_name, cases)
        if self._producer is None:
            self._producer = producer
        self._failures.framework = self._producer or GENERIC_FRAMEWORK
        for suites, case in cases:
            for result in case.result:
                if isinstance(result, (Failure, Error)):
                    self._add(case, result, producer=producer, suites=suites)

    def _add(
        self, case: _Case, result: Failure | Error, *, producer: str, suites: list[str]
    ) -> None:
        failure_id, kind = _identify(case, result, producer=producer, suites=suites)
        if not failure_id:
            return
        message = (result.message or "").strip()
        body = (result.text or "").strip().splitlines()
        if producer == "pytest":  # pytest's `E   ` lines are the message; the rest is the trace
            body = [text for text in body if text.startswith("E ")] or body[-DEFAULT_EXCERPT_LINES:]
        lines = [message, *body] if message and not (body and message in body[0]) else body
        file, line = _location(case, body)
        self._failures.add(
            failure_id,
            kind,
            excerpt=excerpt_of(lines[: DEFAULT_EXCERPT_LINES * 2]),
            file=file,
            line=line,
        )


def _location(case: _Case, body: list[str]) -> tuple[str | None, int | None]:
    """The case's own file/line attributes, else a stack frame in the file its class names
    (vitest and jest use the test file's path as the class name)."""
    if case.file:
        return case.file, case.line
    classname = case.classname or ""
    if "/" not in classname:
        return None, None
    for text in body:
        found = frame_location(text.strip())
        if found is not None and found[0] == classname:
            return classname, found[1]
    return classname, None


def _root_of(line: str) -> str | None:
    if line.startswith("<testsuites") and line[11:12] in (">", " ", "\t", ""):
        return "testsuites"
    if line.startswith("<testsuite") and line[10:11] in (">", " ", "\t", ""):
        return "testsuite"
    return None


def _opens(line: str, root: str | None) -> int:
    if root == "testsuites":
        return line.count("<testsuites")
    return line.count("<testsuite") - line.count("<testsuites")


def _closes(line: str, root: str | None) -> int:
    closes = line.count(f"</{root}>")
    if root == "testsuite":  # `<testsuite … />` closes itself
        closes += line.count("/>") if "<testsuite" in line and line.rstrip().endswith("/>") else 0
    return closes


def _cases(report: JUnitXml) -> Iterator[tuple[list[str], _Case]]:
    """Every test case with the names of the suites around it, outermost first."""
    stack: list[tuple[list[str], Any]] = [([], report._elem)]
    while stack:
        ancestors, element = stack.pop()
        for child in reversed(list(element)):
            if child.tag == "testsuite":
                stack.append(([*ancestors, child.get("name", "")], child))
            elif child.tag == "testcase":
                stack.append((ancestors, child))
        if element.tag == "testcase":
            yield ancestors, _Case.fromelem(element)  # type: ignore[no-untyped-call]


def _producer(report_name: str, cases: list[tuple[list[str], _Case]]) -> str:
    lowered = report_name.lower()
    if lowered.startswith("vitest"):
        return "vitest"
    if lowered.startswith("jest"):
        return "jest"
    if lowered.startswith("pytest") or any(suites[:1] == ["pytest"] for suites, _ in cases):
        return "pytest"
    # node's reporter writes a bare <testsuites>, nests a <testsuite> per describe and gives
    # every case the class name "test".
    if not report_name and cases and all(case.classname == "test" for _, case in cases):
        return "node"
    return GENERIC_FRAMEWORK


def _identify(
    case: _Case, result: Failure | Error, *, producer: str, suites: list[str]
) -> tuple[str, FailureKind]:
    name = case.name or ""
    classname = case.classname or ""
    kind = FailureKind.ERROR if isinstance(result, Error) else FailureKind.FAILED
    if producer == "node":
        if not suites and "/" in name:  # a file that failed to load
            return name, FailureKind.COLLECTION
        return " > ".join([*suites, name]), FailureKind.FAILED
    if producer in ("vitest", "jest"):
        if name == classname:  # a file that failed to load is a case named after the file
            return name, FailureKind.COLLECTION
        return name, FailureKind.FAILED
    if producer == "pytest":
        return _pytest_id(case, name=name, classname=classname, result=result, kind=kind)
    if not classname or name.startswith(classname):
        return name, kind
    return f"{classname}.{name}", kind


def _pytest_id(
    case: _Case, *, name: str, classname: str, result: Failure | Error, kind: FailureKind
) -> tuple[str, FailureKind]:
    if isinstance(result, Error) and result.message == "collection failure":
        return case.file or name.replace(".", "/") + ".py", FailureKind.COLLECTION
    parts = classname.split(".")
    if case.file:
        module_parts = case.file.removesuffix(".py").split("/")
        classes = parts[len(module_parts) :]
        return "::".join([case.file, *classes, name]), kind
    # Without a file attribute, classes are the parts that start with a capital letter.
    split = next((i for i, part in enumerate(parts) if part[:1].isupper()), len(parts))
    module = "/".join(parts[:split]) + ".py"
    return "::".join([module, *parts[split:], name]), kind
