"""The shipped background corpus and the prior model built from it.

`nlbse24_train.jsonl.gz` is the NLBSE'24 tool-competition training split (1,500 GitHub issues,
300 each from facebook/react, tensorflow/tensorflow, microsoft/vscode, bitcoin/bitcoin and
opencv/opencv, labelled bug/feature/question), sanitized and capped at 12,000 characters per body;
`python -m bench.triage.prior_corpus` rebuilds it. It ships as text rather than as a fitted model so
that it serves both as every repository's down-weighted background and as the prior for
repositories with too few labelled issues, and survives any library upgrade.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources

import orjson

from workers.agents.triage.duplicates.files import parse_time
from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.model import (
    LabelledIssue,
    TrainingSettings,
    TypeModel,
    train_type_model,
)

CORPUS_RESOURCE = "nlbse24_train.jsonl.gz"


@lru_cache(maxsize=1)
def shipped_corpus() -> tuple[LabelledIssue, ...]:
    """The shipped background issues, labelled with the canonical types."""
    data = resources.files(__package__).joinpath(CORPUS_RESOURCE).read_bytes()
    issues: list[LabelledIssue] = []
    for line in gzip.decompress(data).splitlines():
        if not line.strip():
            continue
        row = orjson.loads(line)
        issues.append(
            LabelledIssue(
                title=row["title"],
                body=row["body"],
                labels=(row["label"],),
                created_at=parse_time(row.get("created_at", "")),
                repo=row["repo"],
            )
        )
    return tuple(issues)


def prior_model(labels: TypeLabels, *, settings: TrainingSettings | None = None) -> TypeModel:
    """The model of the shipped corpus alone, for `labels` (which must map to canonical types);
    its threshold comes from holding out one corpus repository at a time."""
    return train_type_model([], labels=labels, background=shipped_corpus(), settings=settings)
