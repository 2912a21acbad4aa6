"""Scoring the type classifier the NLBSE'24 way: one model per repository, precision, recall and
F1 per class, macro F1 per repository, and the mean macro F1 over repositories."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from workers.agents.triage.issue_type.embeddings import TextEncoder
from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.model import (
    IssueDataError,
    LabelledIssue,
    TrainingSettings,
    TypeModel,
    train_type_model,
)


@dataclass(frozen=True, slots=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class RepositoryEvaluation:
    repo: str
    classes: dict[str, ClassScores]
    macro_f1: float
    test_issues: int
    source: str
    train_seconds: float
    predict_ms_per_issue: float
    # Of the predictions confident enough to be applied as labels: how many, how many right.
    applied: int
    applied_precision: float | None


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    repositories: list[RepositoryEvaluation]

    @property
    def mean_macro_f1(self) -> float:
        return float(np.mean([r.macro_f1 for r in self.repositories]))

    def as_json(self) -> dict[str, object]:
        return {
            "repositories": [asdict(r) for r in self.repositories],
            "mean_macro_f1": self.mean_macro_f1,
        }


def true_label(issue: LabelledIssue, labels: TypeLabels) -> str | None:
    """The issue's one configured type label, or None when it has none or several."""
    matching = [name for name in labels.names if name in issue.labels]
    return matching[0] if len(matching) == 1 else None


def class_scores(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> tuple[dict[str, ClassScores], float]:
    """Per-class scores and the macro F1 over the labels present in `truth`."""
    present = [name for name in labels if name in set(truth)]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=present, zero_division=0
    )
    classes = {
        name: ClassScores(float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(present, precision, recall, f1, support, strict=True)
    }
    return classes, float(np.mean(f1)) if present else 0.0


def evaluate_model(
    model: TypeModel,
    test: Sequence[LabelledIssue],
    *,
    repo: str = "",
    train_seconds: float = 0.0,
    clock: Callable[[], float] = time.perf_counter,
) -> RepositoryEvaluation:
    """Scores of `model` on the `test` issues carrying one of its labels."""
    scored = [(issue, true_label(issue, model.labels)) for issue in test]
    kept = [(issue, label) for issue, label in scored if label is not None]
    if not kept:
        raise IssueDataError(
            f"no test issue of {repo or 'the file'} carries one of {model.labels.names}"
        )
    started = clock()
    predictions = model.predict([issue for issue, _ in kept])
    predict_seconds = clock() - started
    truth = [label for _, label in kept]
    predicted = [p.label for p in predictions]
    classes, macro_f1 = class_scores(truth, predicted, model.labels.names)
    applied = [
        p.label == t for p, t in zip(predictions, truth, strict=True) if p.decision == "apply"
    ]
    return RepositoryEvaluation(
        repo=repo,
        classes=classes,
        macro_f1=macro_f1,
        test_issues=len(kept),
        source=model.summary.source,
        train_seconds=train_seconds,
        predict_ms_per_issue=1000 * predict_seconds / len(kept),
        applied=len(applied),
        applied_precision=sum(applied) / len(applied) if applied else None,
    )


def evaluate_per_repository(
    train: dict[str, list[LabelledIssue]],
    test: dict[str, list[LabelledIssue]],
    *,
    labels: TypeLabels,
    cross_repo: bool = True,
    settings: TrainingSettings | None = None,
    clock: Callable[[], float] = time.perf_counter,
    encoder: TextEncoder | None = None,
) -> EvaluationReport:
    """Train one model per test repository on its training issues (with the other training
    repositories as background when `cross_repo`; fusing `encoder`'s sentence embeddings in when
    given) and score it on its test issues."""
    if not any(test.values()):
        raise IssueDataError("no test issues to score")
    results = []
    for repo, test_issues in test.items():
        background = (
            [i for other, issues in train.items() if other != repo for i in issues]
            if cross_repo
            else []
        )
        started = clock()
        model = train_type_model(
            train.get(repo, []),
            labels=labels,
            background=background,
            settings=settings,
            encoder=encoder,
        )
        train_seconds = clock() - started
        results.append(
            evaluate_model(model, test_issues, repo=repo, train_seconds=train_seconds, clock=clock)
        )
    return EvaluationReport(repositories=results)


def format_report(report: EvaluationReport) -> str:
    """The report as text; its last line is `mean macro F1: 0.xxx`."""
    lines: list[str] = []
    for result in report.repositories:
        lines.append(
            f"{result.repo or '(no repo)'}: {result.test_issues} issues, {result.source} model, "
            f"train {result.train_seconds:.1f} s, "
            f"predict {result.predict_ms_per_issue:.1f} ms/issue"
        )
        lines.append(f"  {'label':<20} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
        for name, scores in result.classes.items():
            lines.append(
                f"  {name:<20} {scores.precision:>9.3f} {scores.recall:>7.3f} "
                f"{scores.f1:>6.3f} {scores.support:>8}"
            )
        applied = (
            f"{result.applied_precision:.3f}" if result.applied_precision is not None else "n/a"
        )
        lines.append(
            f"  macro F1: {result.macro_f1:.3f}; applied as labels: {result.applied}"
            f"/{result.test_issues}, precision {applied}"
        )
    lines.append(f"mean macro F1: {report.mean_macro_f1:.3f}")
    return "\n".join(lines)
