from __future__ import annotations

import numpy as np
import pytest

from workers.agents.triage.issue_type.calibration import (
    NEVER,
    choose_threshold,
    fit_calibration,
    probabilities,
    wilson_lower_bound,
)


def _log_loss(probs: np.ndarray, truth: np.ndarray) -> float:
    return float(-np.mean(np.log(probs[np.arange(len(truth)), truth])))


def test_calibration_turns_overconfident_scores_into_better_probabilities() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=600)
    # Scores 10× too sharp, with a third of them pointing at a wrong class.
    noisy = np.where(rng.random(600) < 0.33, rng.integers(0, 3, size=600), truth)
    scores = np.eye(3)[noisy] * 10.0 + rng.normal(0, 1, size=(600, 3))
    naive = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    calibration = fit_calibration(scores, truth, n_classes=3)
    calibrated = probabilities(calibration, scores)
    assert np.allclose(calibrated.sum(axis=1), 1.0)
    assert _log_loss(calibrated, truth) < _log_loss(naive, truth)
    # About 78% of the argmax predictions are right; the mean confidence should say so.
    assert abs(calibrated.max(axis=1).mean() - (calibrated.argmax(axis=1) == truth).mean()) < 0.05


def test_two_classes_and_an_absent_class_are_handled() -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, size=200)
    scores = np.c_[-(truth * 2.0 - 1), truth * 2.0 - 1] + rng.normal(0, 1, size=(200, 2))
    calibrated = probabilities(fit_calibration(scores, truth, n_classes=2), scores)
    assert (calibrated.argmax(axis=1) == truth).mean() > 0.8
    three = np.c_[scores, np.zeros(200)]
    with_absent = probabilities(fit_calibration(three, truth, n_classes=3), three)
    assert with_absent[:, 2].max() < 1e-6


def test_threshold_is_the_lowest_confidence_reaching_the_target_precision() -> None:
    confidence = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.55, 0.52])
    correct = np.array([1, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
    probs = np.c_[confidence, 1 - confidence]
    truth = np.where(correct, 0, 1)
    choice = choose_threshold(probs, truth, target_precision=0.8, min_kept=2, z=0.0)
    # Kept at ≥ 0.6: 5 of 6 right (0.83); at ≥ 0.55: 5 of 7 (0.71).
    assert choice.threshold == 0.6
    assert choice.precision == 5 / 6
    assert choice.coverage == 6 / 8


def test_threshold_never_cuts_between_equal_confidences() -> None:
    probs = np.c_[[0.9, 0.7, 0.7, 0.7], [0.1, 0.3, 0.3, 0.3]]
    truth = np.array([0, 0, 1, 1])
    choice = choose_threshold(probs, truth, target_precision=0.9, min_kept=1, z=0.0)
    assert choice.threshold == 0.9


def test_unreachable_precision_means_never_apply() -> None:
    probs = np.c_[[0.9, 0.8], [0.1, 0.2]]
    choice = choose_threshold(probs, np.array([1, 1]), target_precision=0.9, min_kept=1)
    assert choice.threshold == NEVER
    assert choice.coverage == 0.0


def test_the_precision_bound_asks_for_more_evidence_than_the_observed_share() -> None:
    # 20 right predictions above 0.8, then one wrong one in every ten.
    confidence = np.r_[np.linspace(0.99, 0.81, 20), np.linspace(0.8, 0.6, 40)]
    correct = np.r_[np.ones(20, dtype=bool), np.arange(40) % 10 != 0]
    probs = np.c_[confidence, 1 - confidence]
    truth = np.where(correct, 0, 1)
    observed = choose_threshold(probs, truth, target_precision=0.9, z=0.0)
    bounded = choose_threshold(probs, truth, target_precision=0.9, z=1.0)
    assert observed.threshold == 0.6  # 56 of 60 right: 0.93
    assert bounded.threshold > observed.threshold
    assert bounded.coverage < observed.coverage


def test_wilson_lower_bound_matches_its_closed_form_at_the_extremes() -> None:
    # All right: n / (n + z²); none right: 0.
    bounds = wilson_lower_bound(np.array([10.0, 0.0]), np.array([10.0, 10.0]), z=1.0)
    assert bounds == pytest.approx([10 / 11, 0.0])
