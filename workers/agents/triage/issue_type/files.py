"""Reading labelled issues from CSV or JSON Lines files (columns repo, label, title, body and
optionally created_at): the CLI's and the bench's I/O."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from workers.agents.triage.duplicates.files import IssueFileError, parse_time, read_rows
from workers.agents.triage.issue_type.model import LabelledIssue

REQUIRED_COLUMNS = ("title", "body")


def read_labelled_issues(path: Path, *, require_label: bool = True) -> list[LabelledIssue]:
    """Issues of a file; `label` holds one label or several separated by commas."""
    issues: list[LabelledIssue] = []
    for number, row in enumerate(read_rows(path), start=1):
        missing = [c for c in (*REQUIRED_COLUMNS, "label") if c not in row]
        if missing and (require_label or missing != ["label"]):
            raise IssueFileError(f"{path}: row {number} lacks column(s) {missing}")
        labels = tuple(part.strip() for part in row.get("label", "").split(",") if part.strip())
        issues.append(
            LabelledIssue(
                title=row["title"],
                body=row["body"],
                labels=labels,
                created_at=parse_time(row.get("created_at", "")),
                repo=row.get("repo", "").strip(),
            )
        )
    return issues


def by_repository(issues: list[LabelledIssue]) -> dict[str, list[LabelledIssue]]:
    """Issues grouped by their `repo` column, in order of first appearance."""
    groups: dict[str, list[LabelledIssue]] = defaultdict(list)
    for issue in issues:
        groups[issue.repo].append(issue)
    return dict(groups)
