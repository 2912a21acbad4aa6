"""Train a repository's issue-type model and predict with calibrated confidences.

Training data is the repository's own labelled issues plus a *background* of other repositories'
issues labelled with the canonical types (by default the shipped NLBSE'24 corpus), down-weighted:
with a few hundred issues of its own a repository has too few words to learn from, and "crash",
"support for", "how do I" mean the same everywhere. A repository with fewer than
`min_issues_per_label` issues for some label gets the *prior*: a model of the background alone,
marked `source="prior"` on every prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.svm import LinearSVC

from workers.agents.triage.issue_type.calibration import (
    Calibration,
    ThresholdChoice,
    choose_threshold,
    fit_calibration,
    probabilities,
)
from workers.agents.triage.issue_type.features import FeatureSpace
from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.text import ModelText, model_text

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Source = Literal["repository", "prior"]
Decision = Literal["apply", "suggest"]

# A class the model never saw scores this low, so it is never predicted.
_ABSENT_CLASS_INTERCEPT = -10.0


class IssueLike(Protocol):
    """Anything with a title and a body (raw, untrusted)."""

    @property
    def title(self) -> str: ...

    @property
    def body(self) -> str: ...


@dataclass(frozen=True, slots=True)
class LabelledIssue:
    """One issue as training data. `labels` are all its labels; only the configured type labels
    count. `repo` groups background issues for cross-validation."""

    title: str
    body: str
    labels: tuple[str, ...]
    created_at: datetime | None = None
    repo: str = ""


@dataclass(frozen=True, slots=True)
class TrainingSettings:
    """Defaults chosen by cross-validation on the NLBSE'24 training split (docs/triage.md)."""

    background_weight: float = 0.3
    svm_c: float = 0.1
    calibration_folds: int = 5
    target_precision: float = 0.9
    min_issues_per_label: int = 10
    # The newest issues win: a repository's templates and vocabulary drift over the years.
    max_issues_per_label: int = 2_000
    seed: int = 0


@dataclass(frozen=True, slots=True)
class TrainingSummary:
    """What training saw and how the model did on issues it had not seen (out of fold)."""

    source: Source
    issues_per_label: dict[str, int]
    background_issues: int
    cv_macro_f1: float
    threshold: ThresholdChoice


@dataclass(frozen=True, slots=True)
class TypePrediction:
    label: str
    confidence: float
    probabilities: dict[str, float]
    decision: Decision
    source: Source

    @property
    def note(self) -> str:
        """One line for a comment or a log: what was decided and on what model."""
        verb = "label" if self.decision == "apply" else "suggest"
        origin = (
            "prior model (this repository has too few labelled issues)"
            if self.source == "prior"
            else "repository model"
        )
        return f"{verb} {self.label!r} (confidence {self.confidence:.2f}, {origin})"


@dataclass(frozen=True)
class TypeModel:
    """A trained issue-type model: features, a linear scorer and its calibration."""

    labels: TypeLabels
    features: FeatureSpace
    weights: FloatArray  # classes × features
    intercept: FloatArray
    calibration: Calibration
    summary: TrainingSummary = field(repr=False)

    @property
    def threshold(self) -> float:
        return self.summary.threshold.threshold

    def scores(self, texts: Sequence[ModelText]) -> FloatArray:
        matrix = self.features.transform(texts)
        result: FloatArray = np.asarray(matrix @ self.weights.T) + self.intercept
        return result

    def probabilities(self, issues: Sequence[IssueLike]) -> FloatArray:
        texts = [model_text(issue.title, issue.body) for issue in issues]
        return probabilities(self.calibration, self.scores(texts))

    def predict(self, issues: Sequence[IssueLike]) -> list[TypePrediction]:
        if not issues:
            return []
        return [self._prediction(row) for row in self.probabilities(issues)]

    def _prediction(self, row: FloatArray) -> TypePrediction:
        best = int(row.argmax())
        confidence = float(row[best])
        return TypePrediction(
            label=self.labels.names[best],
            confidence=confidence,
            probabilities={name: float(p) for name, p in zip(self.labels.names, row, strict=True)},
            decision="apply" if confidence >= self.threshold else "suggest",
            source=self.summary.source,
        )


@dataclass(frozen=True, slots=True)
class _Examples:
    texts: list[ModelText]
    classes: IntArray
    weights: FloatArray
    groups: list[str]


def select_examples(
    issues: Sequence[LabelledIssue], labels: TypeLabels, *, max_per_label: int
) -> dict[str, list[LabelledIssue]]:
    """The issues carrying exactly one configured type label, per label, newest first (issues
    without a date last), at most `max_per_label` each. Issues with two type labels are ambiguous
    and left out."""
    chosen: dict[str, list[LabelledIssue]] = {name: [] for name in labels.names}
    for issue in issues:
        matching = [name for name in labels.names if name in issue.labels]
        if len(matching) == 1:
            chosen[matching[0]].append(issue)
    for name, group in chosen.items():
        group.sort(key=_recency, reverse=True)
        chosen[name] = group[:max_per_label]
    return chosen


def _recency(issue: LabelledIssue) -> float:
    return issue.created_at.timestamp() if issue.created_at else float("-inf")


def map_background(
    background: Sequence[LabelledIssue], labels: TypeLabels
) -> list[tuple[LabelledIssue, int]]:
    """Background issues (labelled with canonical types) as (issue, class index) for the labels
    the repository maps to a canonical type; the rest are of no use to it."""
    mapped: list[tuple[LabelledIssue, int]] = []
    for issue in background:
        for kind in issue.labels:
            name = labels.from_canonical(kind)
            if name is not None:
                mapped.append((issue, labels.index(name)))
                break
    return mapped


def _examples(pairs: Sequence[tuple[LabelledIssue, int]], weight: float) -> _Examples:
    return _Examples(
        texts=[model_text(issue.title, issue.body) for issue, _ in pairs],
        classes=np.array([index for _, index in pairs], dtype=np.int64),
        weights=np.full(len(pairs), weight),
        groups=[issue.repo for issue, _ in pairs],
    )


def _fit_linear(
    matrix: sparse.csr_matrix,
    classes: IntArray,
    weights: FloatArray,
    *,
    n_classes: int,
    settings: TrainingSettings,
) -> tuple[FloatArray, FloatArray]:
    """A one-vs-rest linear SVM as (classes × features weights, intercepts), every class a row."""
    svm = LinearSVC(C=settings.svm_c, random_state=settings.seed)
    svm.fit(matrix, classes, sample_weight=weights)
    present = np.asarray(svm.classes_, dtype=np.int64)
    coef = np.asarray(svm.coef_, dtype=np.float64)
    intercept = np.asarray(svm.intercept_, dtype=np.float64)
    if len(present) == 2:
        # scikit-learn keeps one row for two classes (positive: the second).
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    full_coef = np.zeros((n_classes, matrix.shape[1]))
    full_intercept = np.full(n_classes, _ABSENT_CLASS_INTERCEPT)
    full_coef[present] = coef
    full_intercept[present] = intercept
    return full_coef, full_intercept


def _folds(
    primary: _Examples, *, by_group: bool, settings: TrainingSettings
) -> list[tuple[IntArray, IntArray]]:
    indexes = np.arange(len(primary.classes))
    if by_group and len(set(primary.groups)) >= 2:
        # The prior serves repositories it has never seen: hold out whole repositories.
        n_splits = min(settings.calibration_folds, len(set(primary.groups)))
        splitter = GroupKFold(n_splits=n_splits)
        return list(splitter.split(indexes, primary.classes, primary.groups))
    present_counts = np.bincount(primary.classes)
    smallest = int(present_counts[present_counts > 0].min())
    n_splits = max(2, min(settings.calibration_folds, smallest))
    stratified = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=settings.seed)
    return list(stratified.split(indexes, primary.classes))


def _training_sets(
    own: dict[str, list[LabelledIssue]],
    background: list[tuple[LabelledIssue, int]],
    *,
    labels: TypeLabels,
    use_prior: bool,
    settings: TrainingSettings,
) -> tuple[_Examples, _Examples]:
    """(primary, secondary): the primary issues are cross-validated for calibration, the
    secondary ones are in every training fold. The prior has only primary background issues."""
    if use_prior:
        return _examples(background, 1.0), _examples([], 0.0)
    own_pairs = [(i, labels.index(name)) for name, group in own.items() for i in group]
    return _examples(own_pairs, 1.0), _examples(background, settings.background_weight)


def train_type_model(
    issues: Sequence[LabelledIssue],
    *,
    labels: TypeLabels,
    background: Sequence[LabelledIssue] = (),
    settings: TrainingSettings | None = None,
) -> TypeModel:
    """Train `labels`' model from a repository's `issues` and a canonical-typed `background`.

    Confidences are calibrated and the labelling threshold chosen on out-of-fold predictions of
    the repository's own issues (of the background, repository by repository, for the prior)."""
    settings = settings or TrainingSettings()
    own = select_examples(issues, labels, max_per_label=settings.max_issues_per_label)
    counts = {name: len(group) for name, group in own.items()}
    mapped_background = map_background(background, labels)
    use_prior = min(counts.values()) < settings.min_issues_per_label
    if use_prior and not mapped_background:
        raise ValueError(
            f"too few labelled issues per label {counts} and no background to fall back on"
        )
    primary, secondary = _training_sets(
        own, mapped_background, labels=labels, use_prior=use_prior, settings=settings
    )
    texts = primary.texts + secondary.texts
    features = FeatureSpace.fit(texts)
    matrix = features.transform(texts)
    primary_matrix, secondary_matrix = matrix[: len(primary.texts)], matrix[len(primary.texts) :]
    n_classes = len(labels.names)

    def fit(rows: IntArray) -> tuple[FloatArray, FloatArray]:
        return _fit_linear(
            sparse.vstack([primary_matrix[rows], secondary_matrix], format="csr"),
            np.r_[primary.classes[rows], secondary.classes],
            np.r_[primary.weights[rows], secondary.weights],
            n_classes=n_classes,
            settings=settings,
        )

    out_of_fold = np.zeros((len(primary.texts), n_classes))
    for train_rows, test_rows in _folds(primary, by_group=use_prior, settings=settings):
        coef, intercept = fit(train_rows)
        out_of_fold[test_rows] = np.asarray(primary_matrix[test_rows] @ coef.T) + intercept
    calibration = fit_calibration(out_of_fold, primary.classes, n_classes=n_classes)
    coef, intercept = fit(np.arange(len(primary.texts)))
    return TypeModel(
        labels=labels,
        features=features,
        weights=coef,
        intercept=intercept,
        calibration=calibration,
        summary=TrainingSummary(
            source="prior" if use_prior else "repository",
            issues_per_label=counts,
            background_issues=len(mapped_background),
            cv_macro_f1=float(
                f1_score(
                    primary.classes, out_of_fold.argmax(axis=1), average="macro", zero_division=0
                )
            ),
            threshold=choose_threshold(
                probabilities(calibration, out_of_fold),
                primary.classes,
                target_precision=settings.target_precision,
            ),
        ),
    )
