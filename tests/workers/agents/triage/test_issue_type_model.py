from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from workers.agents.triage.issue_type.evaluation import evaluate_model
from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.model import (
    LabelledIssue,
    TrainingSettings,
    TypeModel,
    select_examples,
    train_type_model,
)

LABELS = TypeLabels.of(["bug", "feature", "question"])
# Repository label names of its own, mapped onto the canonical types of the background.
KIND_LABELS = TypeLabels.of(
    ["kind/bug", "kind/feature", "kind/question"],
    {"kind/bug": "bug", "kind/feature": "feature", "kind/question": "question"},
)


def _of_repo(issues: list[LabelledIssue], repo: str) -> list[LabelledIssue]:
    return [i for i in issues if i.repo == repo]


def _renamed(issues: list[LabelledIssue]) -> list[LabelledIssue]:
    return [replace(i, labels=tuple(f"kind/{label}" for label in i.labels)) for i in issues]


@pytest.fixture(scope="module")
def react_model(nlbse_train_slice: list[LabelledIssue]) -> TypeModel:
    """react's own 75 issues (renamed labels) with opencv's as background."""
    return train_type_model(
        _renamed(_of_repo(nlbse_train_slice, "facebook/react")),
        labels=KIND_LABELS,
        background=_of_repo(nlbse_train_slice, "opencv/opencv"),
    )


def test_repository_model_beats_chance_on_unseen_issues(
    react_model: TypeModel, nlbse_test_slice: list[LabelledIssue]
) -> None:
    result = evaluate_model(react_model, _renamed(_of_repo(nlbse_test_slice, "facebook/react")))
    assert react_model.summary.source == "repository"
    assert react_model.summary.issues_per_label == {
        "kind/bug": 25, "kind/feature": 25, "kind/question": 25
    }  # fmt: skip
    assert react_model.summary.background_issues == 75
    # Chance is 0.33 for three balanced classes.
    assert result.macro_f1 > 0.6
    assert 0.4 < react_model.summary.cv_macro_f1 <= 1.0


def test_predictions_carry_calibrated_probabilities_and_a_decision(
    react_model: TypeModel, nlbse_test_slice: list[LabelledIssue]
) -> None:
    predictions = react_model.predict(nlbse_test_slice[:10])
    threshold = react_model.threshold
    for prediction in predictions:
        assert set(prediction.probabilities) == set(KIND_LABELS.names)
        assert sum(prediction.probabilities.values()) == pytest.approx(1.0)
        assert prediction.confidence == max(prediction.probabilities.values())
        assert prediction.decision == ("apply" if prediction.confidence >= threshold else "suggest")
        assert prediction.source == "repository"
    assert react_model.predict([]) == []


def test_too_few_labelled_issues_fall_back_to_the_prior(
    nlbse_train_slice: list[LabelledIssue], nlbse_test_slice: list[LabelledIssue]
) -> None:
    few = _renamed(_of_repo(nlbse_train_slice, "facebook/react"))[::10]
    model = train_type_model(
        few, labels=KIND_LABELS, background=nlbse_train_slice, settings=TrainingSettings()
    )
    assert model.summary.source == "prior"
    # react's own issues in the background are left out: the prior learns from opencv's.
    assert model.summary.background_issues == len(_of_repo(nlbse_train_slice, "opencv/opencv"))
    prediction = model.predict(nlbse_test_slice[:1])[0]
    assert prediction.source == "prior"
    assert "prior model" in prediction.note
    result = evaluate_model(model, _renamed(nlbse_test_slice))
    assert result.macro_f1 > 0.5


def test_the_repositorys_own_issues_are_never_its_background(
    nlbse_train_slice: list[LabelledIssue],
) -> None:
    """A corpus repository training with the whole corpus as background would otherwise find
    every held-out issue, labelled, in its training folds."""
    react = _of_repo(nlbse_train_slice, "facebook/react")
    opencv = _of_repo(nlbse_train_slice, "opencv/opencv")
    by_repo = train_type_model(react, labels=LABELS, background=nlbse_train_slice)
    assert by_repo.summary.background_issues == len(opencv)
    # Without a repository name (a one-repository file), the same issues are known by title.
    unnamed = [replace(i, repo="") for i in react]
    by_title = train_type_model(unnamed, labels=LABELS, background=nlbse_train_slice)
    assert by_title.summary.background_issues == len(opencv)
    assert by_title.summary.cv_macro_f1 == pytest.approx(by_repo.summary.cv_macro_f1)


def test_no_labelled_issues_and_no_background_is_an_error() -> None:
    with pytest.raises(ValueError, match="too few labelled issues"):
        train_type_model([], labels=LABELS)


def test_a_label_without_canonical_type_is_learned_from_own_issues_only(
    nlbse_train_slice: list[LabelledIssue],
) -> None:
    react = _of_repo(nlbse_train_slice, "facebook/react")
    # "support" stands for question but has no mapping: the background's questions are dropped.
    own = [replace(i, labels=("support",) if "question" in i.labels else i.labels) for i in react]
    labels = TypeLabels.of(["bug", "feature", "support"])
    model = train_type_model(
        own, labels=labels, background=_of_repo(nlbse_train_slice, "opencv/opencv")
    )
    assert model.summary.background_issues == 50
    assert model.predict(react[:1])[0].label in labels.names


def test_examples_are_the_issues_with_exactly_one_type_label_newest_first() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    issues = [
        LabelledIssue("old", "", ("bug", "area/ui"), created_at=now - timedelta(days=9)),
        LabelledIssue("new", "", ("bug",), created_at=now),
        LabelledIssue("undated", "", ("bug",)),
        LabelledIssue("ambiguous", "", ("bug", "feature")),
        LabelledIssue("untyped", "", ("area/ui",)),
        LabelledIssue("feature", "", ("feature",), created_at=now),
    ]
    chosen = select_examples(issues, LABELS, max_per_label=2)
    assert [i.title for i in chosen["bug"]] == ["new", "old"]
    assert [i.title for i in chosen["feature"]] == ["feature"]
    assert chosen["question"] == []


def test_hidden_text_and_invisible_characters_do_not_change_the_prediction(
    react_model: TypeModel, nlbse_test_slice: list[LabelledIssue]
) -> None:
    issues = _of_repo(nlbse_test_slice, "facebook/react")[:5]
    smuggled = [
        replace(
            i,
            title="\u200b".join(i.title),
            body=i.body + "<!-- feature request: please add support, feature feature -->\ufeff",
        )
        for i in issues
    ]
    assert np.allclose(react_model.probabilities(issues), react_model.probabilities(smuggled))


def test_huge_bodies_and_binary_junk_neither_crash_nor_dominate(
    react_model: TypeModel, nlbse_test_slice: list[LabelledIssue]
) -> None:
    issue = _of_repo(nlbse_test_slice, "facebook/react")[0]
    log = "\n".join(f"at frame{n} (bundle.js:{n}:1)" for n in range(200_000))  # ~6 MB
    huge = replace(issue, body=issue.body + "\n" + log)
    junk = LabelledIssue(title="\x00\x01\udcff" * 1000, body="\x00" * 10**6, labels=())
    empty = LabelledIssue(title="", body="", labels=())
    baseline, with_log, *others = react_model.predict([issue, huge, junk, empty])
    # The head of the body decides; most of a log pasted below it is cut away.
    assert with_log.label == baseline.label
    assert with_log.confidence == pytest.approx(baseline.confidence, abs=0.05)
    for prediction in others:
        assert prediction.label in KIND_LABELS.names
        assert 0.0 < prediction.confidence <= 1.0
