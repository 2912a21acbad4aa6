"""Config problems, each with the place in the file where it was found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a config file; `line` and `column` are 1-based."""

    source: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: {self.message}"


class ConfigError(Exception):
    """A config that cannot be loaded; lists every problem found, one per line in `str()`."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        if not issues:
            raise ValueError("ConfigError needs at least one issue")
        self.issues: list[ConfigIssue] = sorted(
            issues, key=lambda issue: (issue.source, issue.line, issue.column)
        )
        super().__init__("\n".join(str(issue) for issue in self.issues))
