"""pytest console output: the short test summary for ids, the FAILURES/ERRORS sections for
excerpts and locations.

The short summary (`FAILED id - message`, `ERROR id`) is printed in every mode (`-r fE` is the
default) and carries rerunnable node ids. Section headers only carry the test's dotted name
(`TestClass.test_x[param]`), so sections are matched to summary ids at the end; a log cut before
the summary still yields ids built from the section's file location.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar

from workers.agents.ci_doctor.collect import MAX_EXCERPT_LINE_CHARS, FailureList
from workers.agents.ci_doctor.report import FailureKind, FrameworkResult

_MAX_SECTIONS = 2_000
_MAX_E_LINES = 12
_TAIL_LINES = 6
_MAX_SUMMARY_CONTINUATION = 8
# `tests/test_x.py:12: AssertionError` (long/short tracebacks) or `/abs/tests/test_x.py:12: msg`.
_LOCATION = re.compile(r"([^\s:\"]{1,500}\.py):(\d{1,7}): ")
# `File "/abs/tests/test_x.py", line 30, in test_name` (native tracebacks).
_NATIVE_LOCATION = re.compile(r'\s*File "([^"]{1,500}\.py)", line (\d{1,7})')
_FINAL_STATS = re.compile(r"\d+ (?:failed|passed|errors?|skipped|deselected)\b|no tests ran")
_SESSION_BANNER = "test session starts"
_SUMMARY_BANNER = "short test summary info"
_SECTION_KINDS = {"FAILURES": FailureKind.FAILED, "ERRORS": FailureKind.ERROR}


@dataclass(slots=True)
class _Section:
    """One `____ title ____` entry of the FAILURES or ERRORS section."""

    name: str  # the node id's tail, `Class::test_x[param]`, or a path for a collection error
    kind: FailureKind
    pointer: str = ""  # the `>` source line right before the first `E` line
    e_lines: list[str] = field(default_factory=list)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))
    # The latest frames: a test's own frame comes last in a native traceback.
    locations: deque[tuple[str, int]] = field(default_factory=lambda: deque(maxlen=50))
    in_capture: bool = False

    def excerpt(self, file: str) -> str:
        if self.e_lines:
            lines = [self.pointer] if self.pointer else []
            lines += self.e_lines
            line = _line_in(self, file)
            if line is not None:
                lines.append(f"{file}:{line}")
            return "\n".join(lines)
        return "\n".join(line for line in self.tail if line.strip())


@dataclass(slots=True)
class _SummaryEntry:
    node_id: str
    kind: FailureKind
    message: list[str] = field(default_factory=list)


class PytestParser:
    name: ClassVar[str] = "pytest"
    # Outside a section only banners, the conftest error and `rootdir:` matter.
    wake: ClassVar[str] = r"[=!]|ImportError while loading conftest |rootdir: "

    def __init__(self) -> None:
        self._detected = False
        self._build_error = False
        self._rootdir = ""
        self._mode: str | None = None  # None, "section", "summary", "conftest"
        self._section_kind = FailureKind.FAILED
        self._sections: list[_Section] = []
        self._current: _Section | None = None
        self._summary: list[_SummaryEntry] = []
        self._continuing: _SummaryEntry | None = None
        self._conftest: _Section | None = None
        self._line_entries: list[tuple[str, int]] = []

    @property
    def busy(self) -> bool:
        return self._mode is not None

    def feed(self, line: str) -> None:
        first = line[:1]
        if first in "=!" and self._banner(line):
            return
        mode = self._mode
        if mode is None:
            if first == "I" and line.startswith("ImportError while loading conftest '"):
                self._start_conftest(line)
            elif first == "r" and line.startswith("rootdir: "):
                self._rootdir = line[9:].split(",", 1)[0].strip().rstrip("/") + "/"
        elif mode == "section":
            self._feed_section(line)
        elif mode == "summary":
            self._feed_summary(line)
        elif mode == "conftest" and self._conftest is not None:
            self._feed_traceback(self._conftest, line)

    def finish(self) -> FrameworkResult:
        failures = FailureList(self.name)
        if self._conftest is not None:
            path = _relative_conftest(self._conftest)
            failures.add(
                path,
                FailureKind.BUILD,
                excerpt=self._conftest.excerpt(path),
                file=path,
                line=_line_in(self._conftest, path),
            )
        by_section = self._match_sections()
        line_entries = list(self._line_entries)
        for entry in self._summary:
            section = by_section.get((entry.node_id, entry.kind))
            file = entry.node_id.split("::", 1)[0]
            excerpt = section.excerpt(file) if section else ""
            if not excerpt:
                excerpt = "\n".join(entry.message)
            line = _line_in(section, file) if section else None
            if section is None and entry.kind == FailureKind.FAILED:
                line = _take_line_entry(line_entries, file)
            failures.add(entry.node_id, entry.kind, excerpt=excerpt, file=file, line=line)
        if not self._summary:  # a log cut before the summary: ids from the sections alone
            for section in self._sections:
                node_id = _id_from_locations(section)
                if node_id is not None:
                    file = node_id.split("::", 1)[0]
                    failures.add(
                        node_id,
                        section.kind,
                        excerpt=section.excerpt(file),
                        file=file,
                        line=_line_in(section, file),
                    )
        found = failures.as_list()
        build_error = self._build_error or any(
            failure.kind in (FailureKind.COLLECTION, FailureKind.BUILD) for failure in found
        )
        return FrameworkResult(detected=self._detected, build_error=build_error, failures=found)

    # -- banners -------------------------------------------------------------------------------

    def _banner(self, line: str) -> bool:
        """Handle `==== title ====` and `!!!! Interrupted … !!!!` lines; False for other lines."""
        if line.startswith("!!!") and line.endswith("!!!"):
            if "during collection" in line:
                self._build_error = True
            return True
        if not (line.startswith("==") and line.endswith("==")):
            return False
        title = line.strip("=").strip()
        self._current = None
        self._continuing = None
        if title == _SESSION_BANNER:
            self._detected = True
            self._mode = None
        elif title in _SECTION_KINDS:
            self._detected = True
            self._mode = "section"
            self._section_kind = _SECTION_KINDS[title]
        elif title == _SUMMARY_BANNER:
            self._detected = True
            self._mode = "summary"
        else:
            self._mode = None
        return True

    # -- FAILURES / ERRORS -----------------------------------------------------------------------

    def _feed_section(self, line: str) -> None:
        if line.startswith("__") and line.endswith("__"):
            self._start_section(line.strip("_").strip())
            return
        current = self._current
        if current is None:
            if ".py:" in line:
                self._note_line_entry(line)
            return
        if line.startswith("----") and " Captured " in line:
            current.in_capture = True
            return
        self._feed_traceback(current, line)

    def _start_section(self, title: str) -> None:
        if len(self._sections) >= _MAX_SECTIONS:
            self._current = None
            return
        kind = self._section_kind
        if title.startswith("ERROR collecting "):
            name, kind = title[len("ERROR collecting ") :], FailureKind.COLLECTION
        elif title.startswith(("ERROR at setup of ", "ERROR at teardown of ")):
            name = _dotted_to_node(title.split(" of ", 1)[1])
            kind = FailureKind.ERROR
        else:
            name = _dotted_to_node(title)
        self._current = _Section(name=name, kind=kind)
        self._sections.append(self._current)

    def _feed_traceback(self, section: _Section, line: str) -> None:
        if section.in_capture:
            return
        line = line[:MAX_EXCERPT_LINE_CHARS]
        if line.startswith("E "):
            if len(section.e_lines) < _MAX_E_LINES:
                section.e_lines.append(line)
            if 'File "' in line:  # a SyntaxError's own location, inside the E lines
                self._note_location(section, line[1:])
            return
        if line.strip():
            section.tail.append(line)
            if line.startswith(">") and not section.e_lines:
                section.pointer = line
        if ".py" in line:
            self._note_location(section, line)

    def _note_location(self, section: _Section, line: str) -> None:
        found = _LOCATION.match(line) or _NATIVE_LOCATION.match(line)
        if found is None:
            return
        path = found.group(1)
        if self._rootdir and path.startswith(self._rootdir):
            path = path[len(self._rootdir) :]
        section.locations.append((path, int(found.group(2))))

    def _note_line_entry(self, line: str) -> None:
        """`--tb=line` prints one `/abs/path.py:12: message` per failure and no headers."""
        found = _LOCATION.match(line)
        if found is None or len(self._line_entries) >= _MAX_SECTIONS:
            return
        path = found.group(1)
        if self._rootdir and path.startswith(self._rootdir):
            path = path[len(self._rootdir) :]
        self._line_entries.append((path, int(found.group(2))))

    # -- short test summary ----------------------------------------------------------------------

    def _feed_summary(self, line: str) -> None:
        if line.startswith("FAILED "):
            self._add_summary(line[7:], FailureKind.FAILED)
        elif line.startswith("ERROR "):
            self._add_summary(line[6:], FailureKind.ERROR)
        elif line.startswith(("PASSED ", "SKIPPED ", "XFAIL ", "XPASS ")) or not line.strip():
            self._continuing = None
        elif self._continuing is not None:
            if _FINAL_STATS.match(line):
                self._continuing = None
            elif len(self._continuing.message) < _MAX_SUMMARY_CONTINUATION:
                self._continuing.message.append(line[:MAX_EXCERPT_LINE_CHARS])

    def _add_summary(self, rest: str, kind: FailureKind) -> None:
        node_id, message = _split_summary(rest)
        if not node_id or len(self._summary) >= _MAX_SECTIONS:
            self._continuing = None
            return
        if "::" not in node_id:
            kind = FailureKind.COLLECTION
        entry = _SummaryEntry(node_id=node_id, kind=kind, message=[message] if message else [])
        self._summary.append(entry)
        self._continuing = entry

    # -- conftest import errors ------------------------------------------------------------------

    def _start_conftest(self, line: str) -> None:
        self._detected = True
        self._build_error = True
        path = line.split("'", 2)[1]
        self._conftest = _Section(name=path, kind=FailureKind.BUILD)
        self._mode = "conftest"

    # -- matching sections to summary ids --------------------------------------------------------

    def _match_sections(self) -> dict[tuple[str, FailureKind], _Section]:
        """Pair each section with its summary entry: same kind, same name after the file (a
        collection error's name is the file). When two files hold a test of the same name, the
        one whose file appears in the section's traceback wins."""
        by_name: dict[tuple[FailureKind, str], list[_SummaryEntry]] = {}
        for entry in self._summary:
            by_name.setdefault((entry.kind, _section_name_of(entry)), []).append(entry)
        matched: dict[tuple[str, FailureKind], _Section] = {}
        for section in self._sections:
            candidates = by_name.get((section.kind, section.name))
            if not candidates:
                continue
            files = {file for file, _ in section.locations}
            chosen = next(
                (c for c in candidates if c.node_id.split("::", 1)[0] in files), candidates[0]
            )
            candidates.remove(chosen)
            matched[(chosen.node_id, chosen.kind)] = section
        return matched


def _section_name_of(entry: _SummaryEntry) -> str:
    if entry.kind == FailureKind.COLLECTION:
        return entry.node_id
    return entry.node_id.split("::", 1)[-1]


def _split_summary(rest: str) -> tuple[str, str]:
    """`path::Class::test[p] - message` into the node id and the message; a parameter id may
    itself contain ` - `, so the separator is looked for after the closing bracket."""
    search_from = 0
    bracket = rest.find("[")
    separator = rest.find(" - ")
    if bracket != -1 and (separator == -1 or bracket < separator):
        search_from = max(rest.rfind("]", 0, separator if separator != -1 else len(rest)), 0)
        closing = rest.find("] - ", bracket)
        search_from = closing + 1 if closing != -1 else search_from
    separator = rest.find(" - ", search_from)
    if separator == -1:
        return rest.strip(), ""
    return rest[:separator].strip(), rest[separator + 3 :].strip()


def _dotted_to_node(title: str) -> str:
    """`TestClass.test_x[1.5]` to `TestClass::test_x[1.5]`: dots outside the parameter id."""
    bracket = title.find("[")
    head, params = (title, "") if bracket == -1 else (title[:bracket], title[bracket:])
    return head.replace(".", "::") + params


def _line_in(section: _Section, file: str) -> int | None:
    for path, line in reversed(section.locations):
        if path == file or path.endswith("/" + file):
            return line
    return None


def _take_line_entry(entries: list[tuple[str, int]], file: str) -> int | None:
    """The next `--tb=line` location in `file`: they come in the order of the summary."""
    for index, (path, line) in enumerate(entries):
        if path == file:
            del entries[index]
            return line
    return None


def _relative_conftest(section: _Section) -> str:
    """The conftest's path as pytest printed it in the traceback, relative where it can be."""
    for path, _ in section.locations:
        if not path.startswith("/") and section.name.endswith("/" + path):
            return path
    return section.name


def _id_from_locations(section: _Section) -> str | None:
    if section.kind == FailureKind.COLLECTION:
        return section.name
    for path, _ in section.locations:
        if not path.startswith(("/", "<")):
            return f"{path}::{section.name}"
    return None
