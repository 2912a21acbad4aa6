"""Fixtures of the triage tests: small slices of the NLBSE'24 training split (from ../shared)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from workers.agents.triage.issue_type.files import by_repository, read_labelled_issues
from workers.agents.triage.issue_type.model import LabelledIssue

NLBSE_REPOS = ("facebook/react", "opencv/opencv")
NLBSE_LABELS = ("bug", "feature", "question")


@pytest.fixture(scope="session")
def nlbse_issues(shared_dir: Path) -> dict[str, list[LabelledIssue]]:
    """All 1,500 training issues, by repository."""
    return by_repository(read_labelled_issues(shared_dir / "datasets/nlbse24/issues_train.csv"))


def _slice(issues: dict[str, list[LabelledIssue]], start: int, stop: int) -> list[LabelledIssue]:
    """Issues `start:stop` of each label of each repository in `NLBSE_REPOS`."""
    chosen = []
    for repo in NLBSE_REPOS:
        for label in NLBSE_LABELS:
            chosen += [i for i in issues[repo] if label in i.labels][start:stop]
    return chosen


@pytest.fixture(scope="session")
def nlbse_train_slice(nlbse_issues: dict[str, list[LabelledIssue]]) -> list[LabelledIssue]:
    """25 issues per label of two repositories."""
    return _slice(nlbse_issues, 0, 25)


@pytest.fixture(scope="session")
def nlbse_test_slice(nlbse_issues: dict[str, list[LabelledIssue]]) -> list[LabelledIssue]:
    """The next 15 issues per label of the same two repositories."""
    return _slice(nlbse_issues, 25, 40)


def _write_csv(path: Path, issues: list[LabelledIssue]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["repo", "label", "title", "body"])
        writer.writeheader()
        for issue in issues:
            writer.writerow(
                {
                    "repo": issue.repo,
                    "label": ",".join(issue.labels),
                    "title": issue.title,
                    "body": issue.body,
                }
            )
    return path


@pytest.fixture(scope="session")
def nlbse_train_csv(
    nlbse_train_slice: list[LabelledIssue], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return _write_csv(tmp_path_factory.mktemp("nlbse") / "train.csv", nlbse_train_slice)


@pytest.fixture(scope="session")
def nlbse_test_csv(
    nlbse_test_slice: list[LabelledIssue], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return _write_csv(tmp_path_factory.mktemp("nlbse") / "test.csv", nlbse_test_slice)


@pytest.fixture(scope="session")
def minilm_fp32_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """all-MiniLM-L6-v2 exported to ONNX in full precision (no corpus vectors), once per run."""
    from workers.agents.triage.issue_type.onnx_encoder import export_minilm

    out = tmp_path_factory.mktemp("onnx") / "fp32"
    export_minilm(out, quantize=False)
    return out
