"""Bounded building blocks the framework parsers share: excerpts and failure lists.

Every parser keeps at most `MAX_FAILURES` failures and at most `MAX_EXCERPT_LINES` lines per
excerpt, whatever the log holds, so memory stays bounded on a hostile 100 MB log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workers.agents.ci_doctor.report import Failure, FailureKind

MAX_FAILURES = 2_000
MAX_EXCERPT_LINES = 40
MAX_EXCERPT_LINE_CHARS = 500
DEFAULT_EXCERPT_LINES = 12


@dataclass(slots=True)
class BlockBuffer:
    """The first lines of one failure's block of output, kept up to a fixed count."""

    limit: int = MAX_EXCERPT_LINES
    lines: list[str] = field(default_factory=list)
    dropped: int = 0

    def add(self, line: str) -> None:
        if len(self.lines) < self.limit:
            self.lines.append(line[:MAX_EXCERPT_LINE_CHARS])
        else:
            self.dropped += 1

    def clear(self) -> None:
        self.lines.clear()
        self.dropped = 0


def excerpt_of(lines: list[str], *, max_lines: int = DEFAULT_EXCERPT_LINES) -> str:
    """The lines that matter from a block: blank edges trimmed, common indentation removed."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    kept = _squeeze_blank_runs(lines[start:end])[:max_lines]
    indents = [len(line) - len(line.lstrip(" ")) for line in kept if line.strip()]
    margin = min(indents, default=0)
    return "\n".join(line[margin:].rstrip() for line in kept)


def _squeeze_blank_runs(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line)
    return out


@dataclass(slots=True)
class FailureList:
    """Failures in log order, one per (id, kind), capped at `MAX_FAILURES`.

    Frameworks often print a failure twice (in place and again in a summary); the first report
    keeps its position and a later one may add a location or an excerpt it lacked.
    """

    framework: str
    items: dict[tuple[str, FailureKind], Failure] = field(default_factory=dict)

    def add(
        self,
        failure_id: str,
        kind: FailureKind,
        *,
        excerpt: str = "",
        file: str | None = None,
        line: int | None = None,
        merge_excerpts: bool = False,
    ) -> None:
        """Record a failure; a repeat of the same (id, kind) fills in what the first lacked, or
        with `merge_excerpts` also appends an excerpt that differs (one test can fail and then
        error in its teardown, printed as two blocks)."""
        key = (failure_id, kind)
        known = self.items.get(key)
        if known is None:
            if len(self.items) >= MAX_FAILURES:
                return
            self.items[key] = Failure(
                id=failure_id,
                kind=kind,
                excerpt=excerpt,
                file=file,
                line=line,
                framework=self.framework,
            )
            return
        merged = known.excerpt or excerpt
        if merge_excerpts and known.excerpt and excerpt and excerpt not in known.excerpt:
            merged = f"{known.excerpt}\n\n{excerpt}"[: MAX_EXCERPT_LINES * MAX_EXCERPT_LINE_CHARS]
        self.items[key] = Failure(
            id=failure_id,
            kind=kind,
            excerpt=merged,
            file=known.file or file,
            line=known.line if known.line is not None else line,
            framework=self.framework,
        )

    def __contains__(self, key: tuple[str, FailureKind]) -> bool:
        return key in self.items

    def as_list(self) -> list[Failure]:
        return list(self.items.values())
