"""Reading issues and pairs from CSV and JSON Lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from workers.agents.triage.duplicates.evaluation import DuplicatePair
from workers.agents.triage.duplicates.files import (
    IssueFileError,
    parse_time,
    read_issues,
    read_pairs,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30/Sep/21 17:20", datetime(2021, 9, 30, 17, 20, tzinfo=UTC)),
        ("2024-03-01T08:00:00Z", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
        ("2024-03-01 08:00:00", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
        ("", None),
        ("yesterday", None),
    ],
)
def test_parse_time_accepts_jira_and_iso(text: str, expected: datetime | None) -> None:
    assert parse_time(text) == expected


def test_csv_issues_with_optional_columns(tmp_path: Path) -> None:
    path = tmp_path / "issues.csv"
    body = "line one\n" + "x" * 200_000  # longer than csv's default field limit
    path.write_text(
        "id,title,body,state,closed_at\n"
        f'7,"Crash, again","{body}",closed,2024-01-02T00:00:00Z\n'
        "8,Other,,open,\n",
        encoding="utf-8",
    )
    first, second = read_issues(path)
    assert (first.id, first.title, first.state) == ("7", "Crash, again", "closed")
    assert first.closed_at == datetime(2024, 1, 2, tzinfo=UTC)
    assert len(first.body) == len(body)
    assert (second.state, second.body, second.created_at) == ("open", "", None)


def test_jsonl_pairs_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"id": 1, "duplicate_id": 2}\n\n{"id": "3", "duplicate_id": "4"}\n')
    assert read_pairs(path) == [DuplicatePair("1", "2"), DuplicatePair("3", "4")]
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": 1, "duplicate_id": 2}\nnot json\n')
    with pytest.raises(IssueFileError, match=r"broken\.jsonl:2"):
        read_pairs(broken)
    with pytest.raises(IssueFileError, match="duplicate_id"):
        read_pairs(_one_line(tmp_path, '{"id": 1}'))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("1,Crash,a\n2,Hang,b\n1,Crash again,c\n", r"id '1' is used by issues 1 and 3"),
        ("1,Crash,a\n ,Hang,b\n", r"issue 2 has no id"),
    ],
)
def test_every_issue_needs_an_id_of_its_own(tmp_path: Path, rows: str, message: str) -> None:
    # Pairs name issues by id: with two issues under one id, one of them would silently win.
    path = tmp_path / "issues.csv"
    path.write_text("id,title,body\n" + rows)
    with pytest.raises(IssueFileError, match=message):
        read_issues(path)


def _one_line(folder: Path, line: str) -> Path:
    path = folder / "one.jsonl"
    path.write_text(line + "\n")
    return path


def test_jsonl_label_lists_read_as_several_labels(tmp_path: Path) -> None:
    from workers.agents.triage.issue_type.files import read_labelled_issues

    path = tmp_path / "issues.jsonl"
    path.write_text(
        '{"repo": "a/b", "label": ["kind/bug", "area/ui"], "title": "t", "body": null}\n'
        '{"repo": "a/b", "label": "question", "title": "t2", "body": "b"}\n'
    )
    first, second = read_labelled_issues(path)
    assert first.labels == ("kind/bug", "area/ui")
    assert first.body == ""
    assert second.labels == ("question",)
