"""Which lines of a pull request may carry an inline review comment, and what to do with the rest.

GitHub accepts a comment on `(path, side, line)` only where that line shows in the file's diff: on
the RIGHT side an added or context line numbered in the new file, on the LEFT side a removed or
context line numbered in the old file. A multi-line comment (`start_line`) must start earlier in
the same hunk. Anything else is refused with a 422 for the whole review, so comments that do not
fit are moved into the review body instead of being lost. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from workers.agents.base import InlineComment


@dataclass(frozen=True, slots=True)
class HunkLines:
    right: frozenset[int]
    left: frozenset[int]

    def has(self, *, side: str, line: int) -> bool:
        return line in (self.right if side == "RIGHT" else self.left)


def parse_file_patch(patch: str | None) -> tuple[HunkLines, ...]:
    """The commentable lines of one file, hunk by hunk, from GitHub's `patch` field (hunks only:
    GitHub omits the `---`/`+++` header, and the field is absent for binary or huge files)."""
    if not patch:
        return ()
    try:
        parsed = PatchSet(f"--- a/file\n+++ b/file\n{patch}\n")
    except UnidiffParseError:
        return ()
    hunks: list[HunkLines] = []
    for patched_file in parsed:
        for hunk in patched_file:
            right = {
                line.target_line_no
                for line in hunk
                if (line.is_added or line.is_context) and line.target_line_no is not None
            }
            left = {
                line.source_line_no
                for line in hunk
                if (line.is_removed or line.is_context) and line.source_line_no is not None
            }
            hunks.append(HunkLines(right=frozenset(right), left=frozenset(left)))
    return tuple(hunks)


class CommentableLines:
    """Where GitHub accepts inline comments on one pull request."""

    def __init__(self, hunks: Mapping[str, tuple[HunkLines, ...]]) -> None:
        self._hunks = dict(hunks)

    @classmethod
    def from_patches(cls, patches: Mapping[str, str | None]) -> CommentableLines:
        return cls({path: parse_file_patch(patch) for path, patch in patches.items()})

    def _hunk_index(self, path: str, *, side: str, line: int) -> int | None:
        for index, hunk in enumerate(self._hunks.get(path, ())):
            if hunk.has(side=side, line=line):
                return index
        return None

    def accepts(self, comment: InlineComment) -> bool:
        hunk = self._hunk_index(comment.path, side=comment.side, line=comment.line)
        if hunk is None:
            return False
        if comment.start_line is None:
            return True
        start = self._hunk_index(comment.path, side=comment.side, line=comment.start_line)
        return start == hunk and comment.start_line < comment.line


@dataclass(frozen=True, slots=True)
class Placement:
    inline: tuple[InlineComment, ...]
    outside: tuple[InlineComment, ...]


def place_comments(comments: Iterable[InlineComment], lines: CommentableLines) -> Placement:
    inline: list[InlineComment] = []
    outside: list[InlineComment] = []
    for comment in comments:
        (inline if lines.accepts(comment) else outside).append(comment)
    return Placement(inline=tuple(inline), outside=tuple(outside))


def inline_payload(comment: InlineComment) -> dict[str, str | int]:
    """The `comments[]` entry of GitHub's create-review request (line/side, not the legacy
    `position`)."""
    entry: dict[str, str | int] = {
        "path": comment.path,
        "line": comment.line,
        "side": comment.side,
        "body": comment.body,
    }
    if comment.start_line is not None:
        entry["start_line"] = comment.start_line
        entry["start_side"] = comment.side
    return entry


def _location(comment: InlineComment) -> str:
    lines = (
        f"lines {comment.start_line}-{comment.line}"
        if comment.start_line is not None
        else f"line {comment.line}"
    )
    old = " (old version)" if comment.side == "LEFT" else ""
    return f"`{comment.path}` {lines}{old}"


def review_body(body: str, outside: Iterable[InlineComment]) -> str:
    """The review's body with the comments that could not sit on the diff listed under it."""
    moved = list(outside)
    if not moved:
        return body
    items = "\n".join(
        f"- {_location(comment)}: {comment.body.strip().replace(chr(10), chr(10) + '  ')}"
        for comment in moved
    )
    return f"{body.rstrip()}\n\n**On lines outside this pull request's diff:**\n\n{items}"
