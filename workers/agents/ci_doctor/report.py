"""The typed report every CI-log parser produces, and the protocol parsers implement."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol


class FailureKind(StrEnum):
    FAILED = "failed"  # the test ran and an assertion or exception failed it
    ERROR = "error"  # setup/teardown/fixture error around the test
    COLLECTION = "collection"  # the test file could not be collected/loaded
    BUILD = "build"  # the code did not compile, so the tests did not run


@dataclass(frozen=True, slots=True)
class Failure:
    id: str
    kind: FailureKind
    excerpt: str
    file: str | None = None
    line: int | None = None
    framework: str = "unknown"


@dataclass(slots=True)
class FrameworkResult:
    """What one framework parser found in one log."""

    detected: bool = False
    build_error: bool = False
    failures: list[Failure] = field(default_factory=list)
    # Set by a parser of a format several frameworks write (JUnit XML) to name the one that
    # wrote this log; None means the parser's own name.
    framework: str | None = None


@dataclass(slots=True)
class Report:
    frameworks: list[str]
    build_error: bool
    failures: list[Failure]

    def to_json(self) -> dict[str, Any]:
        return {
            "frameworks": list(self.frameworks),
            "build_error": self.build_error,
            "failures": [
                {k: v for k, v in asdict(f).items() if k != "framework"} for f in self.failures
            ],
        }


class LineParser(Protocol):
    """A streaming parser for one framework's console output.

    It is fed normalised lines of the log in order (GitHub Actions prefixes and ANSI colours
    already removed) and must keep bounded state: a log can be 100 MB of attacker text.

    Most lines of a log are not a given framework's, and calling every parser on every line is
    what made a 10 MB log slow. So a parser states which lines can change its state while it is
    not `busy`: `wake`, a regex matched at the start of a line after any blanks. The registry
    feeds a parser that is not busy only the lines `wake` matches, and a busy one every line.
    The contract, checked by feeding the corpus both ways: while `busy` is False, feeding a line
    `wake` does not match changes nothing.
    """

    name: ClassVar[str]
    wake: ClassVar[str]

    @property
    def busy(self) -> bool:
        """True while every line matters (inside a failure block, between a test's start and
        its end); False when only `wake` lines can change anything."""
        ...

    def feed(self, line: str) -> None: ...

    def finish(self) -> FrameworkResult: ...
