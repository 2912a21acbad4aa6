"""Unified diffs between two file trees, and GitHub's rules for where a review comment may sit."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from service.github_sim.models import FileChange

Side = Literal["LEFT", "RIGHT"]
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _lines(text: str | None) -> list[str]:
    return [] if text is None else text.splitlines(keepends=True)


def _patch_body(old: str | None, new: str | None) -> str:
    """Hunks only (GitHub's `patch` field starts at the first `@@`)."""
    diff = difflib.unified_diff(_lines(old), _lines(new), n=3)
    body: list[str] = []
    for index, line in enumerate(diff):
        if index < 2:  # the ---/+++ header lines
            continue
        if not line.endswith("\n"):
            line = line + "\n\\ No newline at end of file\n"
        body.append(line)
    return "".join(body).rstrip("\n")


def file_changes(base: dict[str, str], head: dict[str, str]) -> list[FileChange]:
    """The files a pull request changes, in path order, as GitHub lists them."""
    changes: list[FileChange] = []
    for path in sorted(set(base) | set(head)):
        old, new = base.get(path), head.get(path)
        if old == new:
            continue
        patch = _patch_body(old, new)
        additions = sum(
            1 for line in patch.splitlines() if line.startswith("+") and not line.startswith("+++")
        )
        deletions = sum(
            1 for line in patch.splitlines() if line.startswith("-") and not line.startswith("---")
        )
        status: Literal["added", "removed", "modified"]
        status = "added" if old is None else "removed" if new is None else "modified"
        changes.append(
            FileChange(
                filename=path,
                status=status,
                patch=patch,
                additions=additions,
                deletions=deletions,
            )
        )
    return changes


def full_diff(changes: list[FileChange]) -> str:
    """The `application/vnd.github.diff` body: git-style headers around each file's hunks."""
    parts: list[str] = []
    for change in changes:
        path = change.filename
        parts.append(f"diff --git a/{path} b/{path}\n")
        if change.status == "added":
            parts.append("new file mode 100644\n--- /dev/null\n")
        else:
            parts.append(f"--- a/{path}\n")
        if change.status == "removed":
            parts.append("deleted file mode 100644\n+++ /dev/null\n")
        else:
            parts.append(f"+++ b/{path}\n")
        if change.patch:
            parts.append(change.patch + "\n")
    return "".join(parts)


@dataclass(frozen=True)
class DiffLine:
    """One line of a file's patch: its `position` (GitHub counts from 1 below the first `@@`)."""

    position: int
    hunk: int
    kind: Literal["context", "added", "removed", "header"]
    old_line: int | None
    new_line: int | None


def parse_patch(patch: str) -> list[DiffLine]:
    lines: list[DiffLine] = []
    old_no = new_no = 0
    hunk = -1
    for index, text in enumerate(patch.splitlines()):
        match = _HUNK_HEADER.match(text)
        if match:
            hunk += 1
            old_no, new_no = int(match.group(1)), int(match.group(3))
            if index > 0:
                lines.append(DiffLine(index, hunk, "header", None, None))
            continue
        if text.startswith("\\"):
            continue
        if text.startswith("+"):
            lines.append(DiffLine(index, hunk, "added", None, new_no))
            new_no += 1
        elif text.startswith("-"):
            lines.append(DiffLine(index, hunk, "removed", old_no, None))
            old_no += 1
        else:
            lines.append(DiffLine(index, hunk, "context", old_no, new_no))
            old_no += 1
            new_no += 1
    return lines


def find_line(lines: list[DiffLine], *, line: int, side: Side) -> DiffLine | None:
    """The diff line a (line, side) comment anchors to; None when it lies outside the diff."""
    for candidate in lines:
        if (
            side == "RIGHT"
            and candidate.kind in ("added", "context")
            and candidate.new_line == line
        ):
            return candidate
        if (
            side == "LEFT"
            and candidate.kind in ("removed", "context")
            and candidate.old_line == line
        ):
            return candidate
    return None


def find_position(lines: list[DiffLine], position: int) -> DiffLine | None:
    for candidate in lines:
        if candidate.position == position and candidate.kind != "header":
            return candidate
    return None


def hunk_text(patch: str, anchor: DiffLine) -> str:
    """GitHub's `diff_hunk`: the hunk header down to the commented line."""
    all_lines = patch.splitlines()
    start = 0
    for index in range(anchor.position, -1, -1):
        if _HUNK_HEADER.match(all_lines[index]):
            start = index
            break
    return "\n".join(all_lines[start : anchor.position + 1])
