"""Honest confidences: calibrated probabilities and a threshold chosen for a target precision.

A linear SVM's scores are not probabilities. A temperature and per-class biases over the scores
are fitted on *cross-validated* scores, i.e. on issues the scoring model did not see, so the
probabilities reflect how the model does on new issues. The threshold is then
the lowest confidence at which the cross-validated predictions kept were right at least
`target_precision` of the time: above it the agent labels, below it the agent only suggests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# A class never seen in training is never predicted.
_ABSENT_BIAS = -30.0
# One standard deviation: the threshold's precision is judged by the lower end of its interval.
PRECISION_BOUND_Z = 1.0
# Above 1: no prediction can reach it, so nothing is labelled, only suggested.
NEVER = 1.01


@dataclass(frozen=True, slots=True)
class Calibration:
    """probabilities = softmax(scores @ weights.T + bias)."""

    weights: FloatArray
    bias: FloatArray


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    """The chosen threshold and what it achieved on the cross-validated predictions."""

    threshold: float
    precision: float
    coverage: float
    target_precision: float


def fit_calibration(scores: FloatArray, truth: IntArray, *, n_classes: int) -> Calibration:
    """Temperature and per-class bias fitted on out-of-fold `scores` (n × k) by maximum likelihood.

    One shared, positive temperature keeps the order of a row's scores, so calibration can never
    turn one class into another; the biases correct a model that favours a class. (A full matrix
    could permute classes: fitted on cross-repository scores, it would carry their confusions
    over to the final model.)"""
    present = np.unique(truth)
    absent = np.setdiff1d(np.arange(n_classes), present)

    def loss(params: FloatArray) -> float:
        logits = scores * np.exp(params[0]) + params[1:]
        logits[:, absent] = -np.inf
        top = logits.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        nll = np.mean(log_norm - logits[np.arange(len(truth)), truth])
        # A small ridge keeps the biases finite when a class is perfectly separated.
        return float(nll + 1e-3 * np.sum(params[1:] ** 2))

    result = minimize(loss, np.zeros(n_classes + 1), method="L-BFGS-B")
    temperature = float(np.exp(result.x[0]))
    bias = np.asarray(result.x[1:], dtype=np.float64)
    bias[absent] = _ABSENT_BIAS
    return Calibration(weights=np.eye(n_classes) * temperature, bias=bias)


def probabilities(calibration: Calibration, scores: FloatArray) -> FloatArray:
    """Calibrated class probabilities for raw model `scores` (n × k); rows sum to 1."""
    logits = scores @ calibration.weights.T + calibration.bias
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    result: FloatArray = exp / exp.sum(axis=1, keepdims=True)
    return result


def wilson_lower_bound(successes: FloatArray, trials: FloatArray, *, z: float) -> FloatArray:
    """The lower end of the Wilson score interval of a proportion (z standard deviations)."""
    share = successes / trials
    centre = share + z * z / (2 * trials)
    spread = z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    bound: FloatArray = (centre - spread) / (1 + z * z / trials)
    return bound


def choose_threshold(
    probs: FloatArray,
    truth: IntArray,
    *,
    target_precision: float,
    min_kept: int = 5,
    z: float = PRECISION_BOUND_Z,
) -> ThresholdChoice:
    """The lowest confidence whose kept predictions (confidence ≥ it, at least `min_kept` of them)
    reach `target_precision`, judged by the lower Wilson bound of their precision (`z` = 0: the
    observed precision); `NEVER` when no threshold does.

    The bound matters: scanning all cut points and taking the widest one whose observed precision
    just reaches the target picks a lucky cut, and new issues then see less than the target."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == truth
    order = np.argsort(-confidence, kind="stable")
    kept_correct = np.cumsum(correct[order])
    kept = np.arange(1, len(order) + 1)
    precision = kept_correct / kept
    # Ties share one threshold: only cut after the last of a run of equal confidences.
    sorted_conf = confidence[order]
    cut_allowed = np.r_[sorted_conf[1:] < sorted_conf[:-1], True]
    bound = wilson_lower_bound(kept_correct.astype(np.float64), kept.astype(np.float64), z=z)
    ok = (bound >= target_precision) & (kept >= min_kept) & cut_allowed
    if not ok.any():
        return ThresholdChoice(
            threshold=NEVER, precision=0.0, coverage=0.0, target_precision=target_precision
        )
    last = int(np.flatnonzero(ok)[-1])
    return ThresholdChoice(
        threshold=float(sorted_conf[last]),
        precision=float(precision[last]),
        coverage=float(kept[last] / len(order)),
        target_precision=target_precision,
    )
