"""GitHub Actions' filter patterns for branches, tags and paths.

Why not pathspec or fnmatch: both implement gitignore/shell semantics, which differ from Actions'
"filter pattern cheat sheet" — there `?` and `+` quantify the preceding character (`*.jsx?` matches
`page.js`), `[]` takes only alphanumeric characters and ranges, and a later `!pattern` overrides an
earlier match. So patterns are translated to regular expressions here, once per distinct pattern
(cached), at config load.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

_CLASS_CONTENT = re.compile(r"(?:[a-z](?:-[a-z])?|[A-Z](?:-[A-Z])?|[0-9](?:-[0-9])?)+")


class GlobError(ValueError):
    """A pattern that Actions would not accept."""


def _char_class(pattern: str, start: int) -> tuple[str, int]:
    """Translate the `[...]` starting at `start`; return the regex and the index after `]`."""
    end = pattern.find("]", start + 1)
    if end == -1:
        raise GlobError(f"unclosed '[' at position {start + 1}")
    content = pattern[start + 1 : end]
    if not _CLASS_CONTENT.fullmatch(content):
        raise GlobError(f"'[{content}]' may only list letters and digits or ranges a-z, A-Z, 0-9")
    return f"[{content}]", end + 1


def _translate(pattern: str) -> str:
    parts: list[str] = []
    quantifiable = False  # whether the last part is one character (or class) that ?/+ may repeat
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 == len(pattern):
                raise GlobError("pattern ends with an escape character '\\'")
            parts.append(re.escape(pattern[index + 1]))
            quantifiable, index = True, index + 2
        elif pattern.startswith("**/", index):
            parts.append("(?:.*/)?")  # `docs/**/*.md` matches docs/README.md too
            quantifiable, index = False, index + 3
        elif pattern.startswith("**", index):
            parts.append(".*")
            quantifiable, index = False, index + 2
        elif char == "*":
            parts.append("[^/]*")
            quantifiable, index = False, index + 1
        elif char in "?+":
            if not quantifiable:
                raise GlobError(
                    f"'{char}' at position {index + 1} must follow a character it repeats"
                )
            parts.append(char)
            quantifiable, index = False, index + 1
        elif char == "[":
            translated, index = _char_class(pattern, index)
            parts.append(translated)
            quantifiable = True
        else:
            parts.append(re.escape(char))
            quantifiable, index = True, index + 1
    return "".join(parts)


@functools.lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regex that matches exactly the names `pattern` matches (without a leading `!`)."""
    if not pattern:
        raise GlobError("empty pattern")
    return re.compile(_translate(pattern))


@dataclass(frozen=True, slots=True)
class PatternList:
    """An ordered list of patterns where the last matching one decides, `!` meaning "not".

    A list with only negations therefore matches nothing, as in Actions.
    """

    patterns: tuple[str, ...]
    _compiled: tuple[tuple[bool, re.Pattern[str]], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        compiled = tuple(
            (pattern.startswith("!"), compile_glob(pattern.removeprefix("!")))
            for pattern in self.patterns
        )
        object.__setattr__(self, "_compiled", compiled)

    def matches(self, name: str) -> bool:
        for negated, regex in reversed(self._compiled):
            if regex.fullmatch(name):
                return not negated
        return False

    def describe(self) -> str:
        return "[" + ", ".join(self.patterns) + "]"


def check_pattern(pattern: str) -> None:
    """Raise GlobError if `pattern` (possibly `!`-negated) is not a valid filter pattern."""
    if pattern == "!":
        raise GlobError("'!' must be followed by a pattern")
    compile_glob(pattern.removeprefix("!"))


@dataclass(frozen=True, slots=True)
class RefFilter:
    """`branches`/`tags` (include) or `branches-ignore`/`tags-ignore` (ignore) for one ref kind."""

    key: str  # the config key, for messages
    patterns: PatternList
    ignore: bool

    def check(self, *, ref: str, what: str) -> str | None:
        """None if the ref passes; otherwise why not."""
        matched = self.patterns.matches(ref)
        if matched == self.ignore:
            verb = "matched" if self.ignore else "not matched"
            return f"{self.key}: {what} {ref!r} {verb} by {self.patterns.describe()}"
        return None


@dataclass(frozen=True, slots=True)
class PathFilter:
    """`paths` (some changed file must be included) or `paths-ignore` (some must not be ignored)."""

    patterns: tuple[str, ...]
    ignore: bool = False
    _compiled: PatternList = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", PatternList(self.patterns))

    @property
    def key(self) -> str:
        return "paths-ignore" if self.ignore else "paths"

    def check(self, files: Sequence[str]) -> str | None:
        """None if the changed files pass; otherwise why not."""
        listed = self._compiled.describe()
        if self.ignore:
            if all(self._compiled.matches(path) for path in files):
                return f"paths-ignore: all {_files(files)} matched by {listed}"
            return None
        if any(self._compiled.matches(path) for path in files):
            return None
        return f"paths: none of {_files(files)} matched by {listed}"

    def to_json(self) -> dict[str, Any]:
        return {"patterns": list(self.patterns), "ignore": self.ignore}

    @classmethod
    def from_json(cls, data: Any) -> PathFilter:
        return cls(
            patterns=tuple(str(item) for item in data["patterns"]), ignore=bool(data["ignore"])
        )


def _files(files: Iterable[str]) -> str:
    count = sum(1 for _ in files)
    return "1 changed file" if count == 1 else f"{count} changed files"
