"""`node --test` output: TAP (the default when stdout is not a terminal), spec and dot.

Ids are `describe > test`, the path of nested suites and tests. TAP states the nesting with
`# Subtest:` indentation; spec with a tree of `▶`/`✖` lines; dot only lists failures in
post-order, a parent after its children with `'N subtests failed'`, from which the nesting is
rebuilt. A parent that failed only because children failed is not reported. A test file that
could not be loaded is a top-level test named after its path, reported as a collection error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from workers.agents.ci_doctor.collect import MAX_EXCERPT_LINE_CHARS, MAX_FAILURES, FailureList
from workers.agents.ci_doctor.js_common import MAX_MESSAGE_LINES, frame_location, is_dependency
from workers.agents.ci_doctor.report import FailureKind, FrameworkResult

_TAP_SUBTEST = re.compile(r"( *)# Subtest: (.*)")
_TAP_NOT_OK = re.compile(r"( *)not ok \d+ - (.*)")
_TAP_DIRECTIVE = re.compile(r" # (?:SKIP|TODO)\b.*$", re.IGNORECASE)
_DURATION = re.compile(r"[\d.]{1,30}m?s")
_SUBTESTS_FAILED = re.compile(r"'(\d+) subtests? failed'")
_RECENT_ERROR = re.compile(r"(?:# )?(?:[\w.]+ )?\w*(?:Error|Exception)\b[^:]{0,80}: .+")
_YAML_KEY = re.compile(r"\s*(\w+): ?(.*)")
_MAX_STACK_DEPTH = 64
_RECENT_ERROR_TTL = 60
_CANCELLED = "test did not finish before its parent and was cancelled"


@dataclass(slots=True)
class _Pending:
    """A failed test whose detail lines are still being read."""

    parts: list[str]
    indent: int
    lines: list[str] = field(default_factory=list)


class NodeTestParser:
    name: ClassVar[str] = "node"
    # Outside a failure's details: TAP and spec/dot markers, the banners, and error lines that
    # may explain a file that failed to load.
    wake: ClassVar[str] = (
        r"# Subtest: |not ok |[▶✔✖﹣] |TAP version|ℹ tests |Failed tests:"
        r"|(?:# )?(?:[\w.]+ )?\w*(?:Error|Exception)\b"
    )

    def __init__(self) -> None:
        self._failures = FailureList(self.name)
        self._detected = False
        self._tap_names: list[str] = []
        self._tree: list[tuple[int, str]] = []  # spec: open suites as (indent, name)
        self._tree_done = False
        self._dot_list = False
        self._dot_groups: list[list[tuple[list[str], str, tuple[str, int] | None]]] = []
        self._dot_entries = 0
        self._cancelled_tail = 0  # dot: how many of the last entries were cancelled by a parent
        self._pending: _Pending | None = None
        self._pending_style = ""
        self._recent_error: list[str] = []
        self._recent_age = 0

    @property
    def busy(self) -> bool:
        # While an error line is recent every line ages it, so the parser stays fed.
        recent = bool(self._recent_error) and self._recent_age <= _RECENT_ERROR_TTL
        return self._pending is not None or recent

    def feed(self, line: str) -> None:
        self._recent_age += 1
        pending = self._pending
        if pending is not None:
            if self._continues(pending, line):
                if len(pending.lines) < 60:
                    pending.lines.append(line[:MAX_EXCERPT_LINE_CHARS])
                return
            self._flush()
        stripped = line.lstrip(" ")
        first = stripped[:1]
        if first == "#" or first == "n":
            if self._feed_tap(line):
                return
        elif first in "▶✔✖﹣":
            self._feed_marker(line)
            return
        elif first == "T" and line.startswith("TAP version"):
            self._detected = True
            return
        elif first == "ℹ" and stripped.startswith("ℹ tests "):
            self._detected = True
            self._tree_done = True
            return
        elif line == "Failed tests:":
            self._detected = True
            self._dot_list = True
            return
        if ("Error" in line or "Exception" in line) and _RECENT_ERROR.fullmatch(line):
            self._recent_error = [line.removeprefix("# ")]
            self._recent_age = 0

    def finish(self) -> FrameworkResult:
        self._flush()
        self._flush_dot_groups()
        failures = self._failures.as_list()
        build_error = any(failure.kind == FailureKind.COLLECTION for failure in failures)
        return FrameworkResult(detected=self._detected, build_error=build_error, failures=failures)

    # -- TAP -------------------------------------------------------------------------------------

    def _feed_tap(self, line: str) -> bool:
        subtest = _TAP_SUBTEST.fullmatch(line) if "# Subtest: " in line else None
        if subtest is not None:
            level = len(subtest.group(1)) // 4
            if level < _MAX_STACK_DEPTH:
                del self._tap_names[level:]
                self._tap_names.append(_tap_unescape(subtest.group(2)))
            return True
        not_ok = _TAP_NOT_OK.fullmatch(line) if "not ok " in line else None
        if not_ok is None:
            return False
        indent = len(not_ok.group(1))
        level = indent // 4
        name = _tap_unescape(_TAP_DIRECTIVE.sub("", not_ok.group(2)))
        parts = [*self._tap_names[:level], name]
        self._detected = True
        self._pending = _Pending(parts=parts, indent=indent)
        self._pending_style = "tap"
        return True

    # -- spec and dot ----------------------------------------------------------------------------

    def _feed_marker(self, line: str) -> None:
        stripped = line.lstrip(" ")
        if stripped[1:2] != " ":
            return
        indent, symbol, name = len(line) - len(stripped), stripped[0], _marker_name(stripped[2:])
        if name == "failing tests:":  # spec's closing recap repeats failures without parents
            self._tree_done = True
            return
        if self._dot_list:
            if symbol == "✖" and indent == 0:
                self._pending = _Pending(parts=[name], indent=0)
                self._pending_style = "dot"
            return
        if self._tree_done:
            return
        while self._tree and self._tree[-1][0] >= indent:
            closed_indent, closed_name = self._tree.pop()
            if closed_indent == indent and closed_name == name:
                # A suite's own closing line. Not a test; if it failed by itself (a hook
                # threw), the error under it explains its cancelled tests.
                if symbol == "✖":
                    parts = [suite for _, suite in self._tree] + [name]
                    self._pending = _Pending(parts=parts, indent=indent)
                    self._pending_style = "spec-suite"
                return
        if symbol == "▶":
            if len(self._tree) < _MAX_STACK_DEPTH:
                self._tree.append((indent, name))
        elif symbol == "✖":
            parts = [suite for _, suite in self._tree] + [name]
            self._pending = _Pending(parts=parts, indent=indent)
            self._pending_style = "spec"

    # -- failure details -------------------------------------------------------------------------

    def _continues(self, pending: _Pending, line: str) -> bool:
        if not line.strip():  # blank lines sit inside multi-line messages
            return True
        indent = len(line) - len(line.lstrip(" "))
        if self._pending_style == "tap":
            return indent > pending.indent and not line.lstrip().startswith(("# Subtest:", "ok "))
        return indent > pending.indent

    def _flush(self) -> None:
        pending, style = self._pending, self._pending_style
        self._pending = None
        if pending is None:
            return
        if style == "tap":
            fields = _tap_yaml(pending.lines)
            if _unquote(fields.get("failureType", "")) == "subtestsFailed":
                return
            excerpt, location = _tap_excerpt(fields)
            if _unquote(fields.get("type", "")) == "suite":
                # A describe whose hook threw: its tests are already reported (cancelled);
                # the hook's error is what explains them.
                self._explain_children(pending.parts, excerpt)
                return
        else:
            excerpt, location = _console_excerpt(pending.lines)
        if style == "spec-suite":
            if excerpt and not _SUBTESTS_FAILED.fullmatch(excerpt.strip()):
                self._explain_children(pending.parts, excerpt)
            return
        if style == "dot":
            self._collect_dot(pending.parts[0], excerpt, location)
            return
        self._record(pending.parts, excerpt, location)

    def _explain_children(self, parts: list[str], excerpt: str) -> None:
        prefix = " > ".join(parts) + " > "
        for failure in self._failures.as_list():
            if failure.id.startswith(prefix):
                self._failures.add(failure.id, failure.kind, excerpt=excerpt, merge_excerpts=True)

    def _collect_dot(self, name: str, excerpt: str, location: tuple[str, int] | None) -> None:
        children = _SUBTESTS_FAILED.fullmatch(excerpt.strip())
        if children is None and _CANCELLED in excerpt:
            self._cancelled_tail += 1
        elif children is None and self._cancelled_tail:
            # The entry after tests cancelled by their parent is that parent: a describe whose
            # hook threw. It adopts them and lends them its error; it is not a test itself.
            count = min(self._cancelled_tail, len(self._dot_groups))
            self._cancelled_tail = 0
            adopted = self._dot_groups[len(self._dot_groups) - count :]
            del self._dot_groups[len(self._dot_groups) - count :]
            merged = [
                ([name, *parts], f"{text}\n{excerpt}", where)
                for group in adopted
                for parts, text, where in group
            ]
            self._dot_groups.append(merged)
            return
        else:
            self._cancelled_tail = 0
        if children is None:
            if self._dot_entries < MAX_FAILURES:
                self._dot_entries += 1
                self._dot_groups.append([([name], excerpt, location)])
            return
        count = min(int(children.group(1)), len(self._dot_groups))
        adopted = self._dot_groups[len(self._dot_groups) - count :] if count else []
        del self._dot_groups[len(self._dot_groups) - count :]
        merged = [
            ([name, *parts], text, where) for group in adopted for parts, text, where in group
        ]
        self._dot_groups.append(merged)

    def _flush_dot_groups(self) -> None:
        for group in self._dot_groups:
            for parts, excerpt, location in group:
                self._record(parts, excerpt, location)
        self._dot_groups = []

    def _record(self, parts: list[str], excerpt: str, location: tuple[str, int] | None) -> None:
        name = parts[-1]
        if len(parts) == 1 and _looks_like_path(name):
            if self._recent_error and self._recent_age <= _RECENT_ERROR_TTL:
                excerpt = "\n".join([*self._recent_error, excerpt]).strip()
            self._recent_error = []
            self._failures.add(name, FailureKind.COLLECTION, excerpt=excerpt, file=name)
            return
        self._failures.add(
            " > ".join(parts),
            FailureKind.FAILED,
            excerpt=excerpt,
            file=location[0] if location else None,
            line=location[1] if location else None,
        )


def _marker_name(text: str) -> str:
    """`name (1.2ms)` or `name (1.2ms) # SKIP reason` to `name`, without a backtracking regex."""
    directive = text.rfind(" # ")
    if directive != -1 and text[directive + 3 : directive + 7] in ("SKIP", "TODO", "skip", "todo"):
        text = text[:directive]
    if text.endswith(")"):
        opening = text.rfind(" (")
        if opening != -1 and _DURATION.fullmatch(text, opening + 2, len(text) - 1):
            text = text[:opening]
    return text


def _tap_unescape(name: str) -> str:
    return name.replace("\\#", "#").replace("\\\\", "\\")


def _looks_like_path(name: str) -> bool:
    return "/" in name and name.rsplit(".", 1)[-1] in ("js", "mjs", "cjs", "ts", "mts", "cts")


def _tap_yaml(lines: list[str]) -> dict[str, str]:
    """The YAML diagnostics of a TAP failure, flat: block scalars joined with newlines."""
    fields: dict[str, str] = {}
    key: str | None = None
    key_indent = 0
    for line in lines:
        stripped = line.strip()
        if stripped in ("---", "..."):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if key is not None and (indent > key_indent or not stripped):
            fields[key] = f"{fields[key]}\n{stripped}" if fields[key] else stripped
            continue
        found = _YAML_KEY.match(line)
        if found is None:
            key = None
            continue
        key, value = found.group(1), found.group(2)
        key_indent = indent
        fields[key] = "" if value in ("|-", "|", ">-") else value
        if value not in ("|-", "|", ">-"):
            key = None if value else key
    return fields


def _tap_excerpt(fields: dict[str, str]) -> tuple[str, tuple[str, int] | None]:
    error = _unquote(fields.get("error", "")).strip()
    kind = _unquote(fields.get("name", ""))
    lines = [f"{kind}: {error}" if kind else error]
    location = frame_location(_unquote(fields.get("location", "")))
    stack = fields.get("stack", "").splitlines()
    frame = next((s for s in stack if (f := frame_location(s)) and not is_dependency(f[0])), "")
    if frame:
        lines.append(f"at {frame.strip()}")
    return "\n".join(lines).strip(), location


def _console_excerpt(lines: list[str]) -> tuple[str, tuple[str, int] | None]:
    message: list[str] = []
    location: tuple[str, int] | None = None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("at "):
            found = frame_location(stripped)
            if found and not is_dependency(found[0]):
                location = found
                break
            continue
        if location is None and len(message) < MAX_MESSAGE_LINES and stripped != "}":
            message.append(line)
    while message and not message[-1].strip():
        message.pop()
    margin = min((len(m) - len(m.lstrip()) for m in message if m.strip()), default=0)
    text = "\n".join(m[margin:].rstrip() for m in message)
    if location:
        text += f"\nat {location[0]}:{location[1]}"
    return text.strip(), location


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value
