"""Reading issues and duplicate pairs from CSV or JSON Lines files (the CLI's and bench's I/O)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson

from workers.agents.triage.duplicates.evaluation import DuplicatePair
from workers.agents.triage.duplicates.index import IssueRecord, IssueState

# Jira exports write "30/Sep/21 17:20"; GitHub writes ISO 8601.
_EXTRA_DATE_FORMATS = ("%d/%b/%y %H:%M", "%Y-%m-%d %H:%M:%S")


class IssueFileError(ValueError):
    """A file of issues or pairs that cannot be read as such."""


def _cell(value: object) -> str:
    """A JSON value as the text a CSV cell would hold: a list (`"labels": ["bug", "ui"]`) is
    comma-separated, as several labels are in a CSV file."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(_cell(item) for item in value)
    return str(value)


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a CSV file (header line) or of a JSON Lines file (`.jsonl`/`.ndjson`), as strings."""
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    raise IssueFileError(f"{path}:{number}: not JSON ({error})") from error
                if not isinstance(row, dict):
                    raise IssueFileError(f"{path}:{number}: expected a JSON object")
                yield {str(k): _cell(v) for k, v in row.items()}
        return
    # Issue bodies with pasted logs exceed csv's default 128 KiB field limit.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for row in csv.DictReader(handle):
            yield {str(k): v or "" for k, v in row.items()}


def parse_time(text: str) -> datetime | None:
    """A timestamp in ISO 8601 or Jira's export format, as aware UTC; None when empty/unknown."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
        for date_format in _EXTRA_DATE_FORMATS:
            try:
                moment = datetime.strptime(text, date_format)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _state(row: dict[str, str]) -> IssueState:
    return "closed" if row.get("state", "").strip().lower() == "closed" else "open"


def _require(row: dict[str, str], column: str, path: Path) -> str:
    if column not in row:
        raise IssueFileError(f"{path}: missing column {column!r}")
    return row[column]


def read_issues(path: Path) -> list[IssueRecord]:
    """Issues with columns id, title, body and optionally created_at, state, closed_at. Every
    issue needs an id of its own: pairs name issues by id, and an index keeps one issue per id."""
    issues: list[IssueRecord] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(read_rows(path), start=1):
        issue_id = _require(row, "id", path).strip()
        if not issue_id:
            raise IssueFileError(f"{path}: issue {number} has no id")
        if issue_id in seen:
            raise IssueFileError(
                f"{path}: id {issue_id!r} is used by issues {seen[issue_id]} and {number}"
            )
        seen[issue_id] = number
        issues.append(
            IssueRecord(
                id=issue_id,
                title=_require(row, "title", path),
                body=row.get("body", ""),
                created_at=parse_time(row.get("created_at", "")),
                state=_state(row),
                closed_at=parse_time(row.get("closed_at", "")),
            )
        )
    return issues


def read_pairs(path: Path) -> list[DuplicatePair]:
    """Pairs with columns id (the duplicate report) and duplicate_id (the one it duplicates)."""
    return [
        DuplicatePair(
            query_id=_require(row, "id", path).strip(),
            duplicate_id=_require(row, "duplicate_id", path).strip(),
        )
        for row in read_rows(path)
    ]
