"""Train a repository's issue-type model and predict with calibrated confidences.

Training data is the repository's own labelled issues plus a *background* of other repositories'
issues labelled with the canonical types (by default the shipped NLBSE'24 corpus), down-weighted:
with a few hundred issues of its own a repository has too few words to learn from, and "crash",
"support for", "how do I" mean the same everywhere. A repository with fewer than
`min_issues_per_label` issues for some label gets the *prior*: a model of the background alone,
marked `source="prior"` on every prediction.

Optionally (the `dense` extra), a logistic regression over sentence embeddings is trained beside
the TF-IDF SVM and their scores are fused before calibration (`DenseHead`); see `embeddings.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.linear_model import LogisticRegression
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
from workers.agents.triage.issue_type.embeddings import TextEncoder, embedding_text
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
    # With an encoder (the `dense` extra): the logistic regression over sentence embeddings.
    dense_c: float = 1.0
    # The embedding scores' weight beside the TF-IDF scores, both scaled to unit spread.
    dense_weight: float = 1.0


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


class EncoderRequiredError(RuntimeError):
    """A model trained with sentence embeddings was asked to predict without its encoder."""


class IssueDataError(ValueError):
    """The issues given cannot train a model (too few per label and no background to fall back
    on) or cannot be scored (no test issue, or none carrying one of the model's labels)."""


@dataclass(frozen=True, slots=True)
class DenseHead:
    """The sentence-embedding part of a model: a linear scorer over `encoder_name`'s vectors,
    fused as `lexical / lexical_scale + weight · dense / dense_scale`. The scales are the spread
    of each part's out-of-fold scores, so the weight means the same in every repository."""

    encoder_name: str
    weights: FloatArray  # classes × embedding dimensions
    intercept: FloatArray
    lexical_scale: float
    dense_scale: float
    weight: float

    def fuse(self, lexical: FloatArray, vectors: FloatArray) -> FloatArray:
        dense = vectors @ self.weights.T + self.intercept
        fused: FloatArray = lexical / self.lexical_scale + self.weight * dense / self.dense_scale
        return fused


@dataclass(frozen=True)
class TypeModel:
    """A trained issue-type model: features, a linear scorer and its calibration; optionally a
    sentence-embedding scorer fused with it (`dense`, which needs `encoder` to predict)."""

    labels: TypeLabels
    features: FeatureSpace
    weights: FloatArray  # classes × features
    intercept: FloatArray
    calibration: Calibration
    summary: TrainingSummary = field(repr=False)
    dense: DenseHead | None = None
    encoder: TextEncoder | None = field(default=None, repr=False, compare=False)

    @property
    def threshold(self) -> float:
        return self.summary.threshold.threshold

    def with_encoder(self, encoder: TextEncoder) -> TypeModel:
        """This model predicting with `encoder` (which must be the model it was trained with)."""
        if self.dense is not None and encoder.name != self.dense.encoder_name:
            raise ValueError(
                f"model trained with {self.dense.encoder_name!r} embeddings, not {encoder.name!r}"
            )
        return replace(self, encoder=encoder)

    def scores(self, issues: Sequence[IssueLike]) -> FloatArray:
        """Uncalibrated class scores of raw, untrusted issues."""
        texts = [model_text(issue.title, issue.body) for issue in issues]
        matrix = self.features.transform(texts)
        lexical: FloatArray = np.asarray(matrix @ self.weights.T) + self.intercept
        if self.dense is None:
            return lexical
        if self.encoder is None:
            raise EncoderRequiredError(
                f"this model needs {self.dense.encoder_name!r} sentence embeddings: "
                "load it with an encoder (the `dense` extra)"
            )
        vectors = self.encoder.encode([embedding_text(i.title, i.body) for i in issues])
        return self.dense.fuse(lexical, np.asarray(vectors, dtype=np.float64))

    def probabilities(self, issues: Sequence[IssueLike]) -> FloatArray:
        return probabilities(self.calibration, self.scores(issues))

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
    embedding_texts: list[str]


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


def _not_own(
    background: Sequence[LabelledIssue], issues: Sequence[LabelledIssue]
) -> list[LabelledIssue]:
    """The background without the repository's own issues: a repository of the shipped corpus
    training on its issues would otherwise find each held-out issue, labelled, in the training
    folds' background, and its cross-validated F1 and threshold would be far too rosy. An issue
    is the repository's when it comes from the same repository or has the same title."""
    repos = {issue.repo for issue in issues if issue.repo}
    titles = {issue.title for issue in issues}
    return [i for i in background if i.repo not in repos and i.title not in titles]


def _examples(pairs: Sequence[tuple[LabelledIssue, int]], weight: float) -> _Examples:
    return _Examples(
        texts=[model_text(issue.title, issue.body) for issue, _ in pairs],
        classes=np.array([index for _, index in pairs], dtype=np.int64),
        weights=np.full(len(pairs), weight),
        groups=[issue.repo for issue, _ in pairs],
        embedding_texts=[embedding_text(issue.title, issue.body) for issue, _ in pairs],
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


def _fit_dense(
    vectors: FloatArray,
    classes: IntArray,
    weights: FloatArray,
    *,
    n_classes: int,
    settings: TrainingSettings,
) -> tuple[FloatArray, FloatArray]:
    """A multinomial logistic regression over embeddings as (classes × dims, intercepts)."""
    full_coef = np.zeros((n_classes, vectors.shape[1]))
    full_intercept = np.full(n_classes, _ABSENT_CLASS_INTERCEPT)
    present = np.unique(classes)
    if len(present) < 2:
        full_intercept[present] = 0.0
        return full_coef, full_intercept
    regression = LogisticRegression(C=settings.dense_c, max_iter=1_000)
    regression.fit(vectors, classes, sample_weight=weights)
    coef = np.asarray(regression.coef_, dtype=np.float64)
    intercept = np.asarray(regression.intercept_, dtype=np.float64)
    if len(present) == 2:
        # As for the SVM: one row for two classes, the positive one being the second.
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    full_coef[present] = coef
    full_intercept[present] = intercept
    return full_coef, full_intercept


def _spread(scores: FloatArray, classes: IntArray) -> float:
    """Standard deviation of the scores of the classes seen in training (1 when flat)."""
    present = np.unique(classes)
    spread = float(np.std(scores[:, present])) if len(scores) else 0.0
    return spread if spread > 1e-9 else 1.0


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


@dataclass(frozen=True, slots=True)
class _OutOfFold:
    """Scores of the primary issues by models that did not see them."""

    lexical: FloatArray
    dense: FloatArray | None


class _Fitter:
    """Fits the linear scorers on a subset of the primary issues plus all secondary ones."""

    def __init__(
        self,
        primary: _Examples,
        secondary: _Examples,
        *,
        n_classes: int,
        encoder: TextEncoder | None,
        settings: TrainingSettings,
    ) -> None:
        texts = primary.texts + secondary.texts
        self.features = FeatureSpace.fit(texts)
        matrix = self.features.transform(texts)
        split = len(primary.texts)
        self.primary, self.secondary = primary, secondary
        self.primary_matrix, self.secondary_matrix = matrix[:split], matrix[split:]
        self.primary_vectors: FloatArray | None = None
        self.secondary_vectors: FloatArray | None = None
        if encoder is not None:
            vectors = np.asarray(
                encoder.encode(primary.embedding_texts + secondary.embedding_texts),
                dtype=np.float64,
            )
            self.primary_vectors, self.secondary_vectors = vectors[:split], vectors[split:]
        self.n_classes = n_classes
        self.settings = settings

    def _rows(self, rows: IntArray) -> tuple[IntArray, FloatArray]:
        return (
            np.r_[self.primary.classes[rows], self.secondary.classes],
            np.r_[self.primary.weights[rows], self.secondary.weights],
        )

    def lexical(self, rows: IntArray) -> tuple[FloatArray, FloatArray]:
        classes, weights = self._rows(rows)
        matrix = sparse.vstack([self.primary_matrix[rows], self.secondary_matrix], format="csr")
        return _fit_linear(
            matrix, classes, weights, n_classes=self.n_classes, settings=self.settings
        )

    def dense(self, rows: IntArray) -> tuple[FloatArray, FloatArray] | None:
        if self.primary_vectors is None or self.secondary_vectors is None:
            return None
        classes, weights = self._rows(rows)
        vectors = np.vstack([self.primary_vectors[rows], self.secondary_vectors])
        return _fit_dense(
            vectors, classes, weights, n_classes=self.n_classes, settings=self.settings
        )

    def out_of_fold(self, folds: Sequence[tuple[IntArray, IntArray]]) -> _OutOfFold:
        count = len(self.primary.texts)
        lexical = np.zeros((count, self.n_classes))
        dense = None if self.primary_vectors is None else np.zeros((count, self.n_classes))
        for train_rows, test_rows in folds:
            coef, intercept = self.lexical(train_rows)
            lexical[test_rows] = np.asarray(self.primary_matrix[test_rows] @ coef.T) + intercept
            fitted = self.dense(train_rows)
            if fitted is not None and dense is not None and self.primary_vectors is not None:
                dense[test_rows] = self.primary_vectors[test_rows] @ fitted[0].T + fitted[1]
        return _OutOfFold(lexical=lexical, dense=dense)


def _dense_head(
    fitter: _Fitter, out_of_fold: _OutOfFold, *, encoder: TextEncoder | None
) -> DenseHead | None:
    fitted = fitter.dense(np.arange(len(fitter.primary.texts)))
    if fitted is None or out_of_fold.dense is None or encoder is None:
        return None
    classes = fitter.primary.classes
    return DenseHead(
        encoder_name=encoder.name,
        weights=fitted[0],
        intercept=fitted[1],
        lexical_scale=_spread(out_of_fold.lexical, classes),
        dense_scale=_spread(out_of_fold.dense, classes),
        weight=fitter.settings.dense_weight,
    )


def _fused(out_of_fold: _OutOfFold, head: DenseHead | None) -> FloatArray:
    if head is None or out_of_fold.dense is None:
        return out_of_fold.lexical
    fused: FloatArray = (
        out_of_fold.lexical / head.lexical_scale
        + head.weight * out_of_fold.dense / head.dense_scale
    )
    return fused


def train_type_model(
    issues: Sequence[LabelledIssue],
    *,
    labels: TypeLabels,
    background: Sequence[LabelledIssue] = (),
    settings: TrainingSettings | None = None,
    encoder: TextEncoder | None = None,
) -> TypeModel:
    """Train `labels`' model from a repository's `issues` and a canonical-typed `background`.

    Confidences are calibrated and the labelling threshold chosen on out-of-fold predictions of
    the repository's own issues (of the background, repository by repository, for the prior).
    With an `encoder`, a scorer of sentence embeddings is fused with the TF-IDF one; the model
    then keeps the encoder to predict."""
    settings = settings or TrainingSettings()
    own = select_examples(issues, labels, max_per_label=settings.max_issues_per_label)
    counts = {name: len(group) for name, group in own.items()}
    mapped_background = map_background(_not_own(background, issues), labels)
    use_prior = min(counts.values()) < settings.min_issues_per_label
    if use_prior and not mapped_background:
        raise IssueDataError(
            f"too few labelled issues per label {counts} and no background to fall back on"
        )
    primary, secondary = _training_sets(
        own, mapped_background, labels=labels, use_prior=use_prior, settings=settings
    )
    fitter = _Fitter(
        primary, secondary, n_classes=len(labels.names), encoder=encoder, settings=settings
    )
    out_of_fold = fitter.out_of_fold(_folds(primary, by_group=use_prior, settings=settings))
    head = _dense_head(fitter, out_of_fold, encoder=encoder)
    scores = _fused(out_of_fold, head)
    calibration = fit_calibration(scores, primary.classes, n_classes=len(labels.names))
    coef, intercept = fitter.lexical(np.arange(len(primary.texts)))
    return TypeModel(
        labels=labels,
        features=fitter.features,
        weights=coef,
        intercept=intercept,
        calibration=calibration,
        summary=TrainingSummary(
            source="prior" if use_prior else "repository",
            issues_per_label=counts,
            background_issues=len(mapped_background),
            cv_macro_f1=float(
                f1_score(primary.classes, scores.argmax(axis=1), average="macro", zero_division=0)
            ),
            threshold=choose_threshold(
                probabilities(calibration, scores),
                primary.classes,
                target_precision=settings.target_precision,
            ),
        ),
        dense=head,
        encoder=encoder if head is not None else None,
    )
