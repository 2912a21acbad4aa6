"""Measuring duplicate ranking the way the duplicate-bug-report literature does, and choosing the
few knobs (the time prior, the comment threshold) by cross-validation over folds of pairs.

Protocol: for each known pair (query, duplicate), rank every other issue of the project by score
and note where the duplicate lands; Recall@k is the share of pairs whose duplicate is in the top k.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from workers.agents.triage.duplicates.index import (
    DuplicateIndex,
    FloatArray,
    IssueRecord,
    TimePrior,
    time_prior_factors,
)

RECALL_KS = (1, 5, 10)
_NON_WORD = re.compile(r"\W+")
PRIOR_GRID = tuple(
    TimePrior(scale_days=scale, exponent=exponent)
    for scale in (30.0, 90.0, 365.0)
    for exponent in (0.0, 0.15, 0.3, 0.5)
)


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    query_id: str
    duplicate_id: str


@dataclass(frozen=True, slots=True)
class PairScores:
    """Everything needed to rank one pair's duplicate under any time prior, computed once."""

    similarity: FloatArray
    gap_days: FloatArray
    query_slot: int
    duplicate_slot: int

    def rank(self, prior: TimePrior) -> int:
        """0-based position of the duplicate among all other issues (ties count against it)."""
        scores = self.similarity * time_prior_factors(self.gap_days, prior)
        scores[self.query_slot] = -np.inf
        return int(np.count_nonzero(scores >= scores[self.duplicate_slot])) - 1


@dataclass(frozen=True, slots=True)
class Top1Outcome:
    """The best candidate's score for one query issue, and whether it is a known duplicate."""

    score: float
    correct: bool


@dataclass(frozen=True, slots=True)
class Top1Candidate:
    """A replayed would-be comment: `query_id` "possible duplicate of" `candidate_id`."""

    query_id: str
    candidate_id: str
    score: float
    marked: bool
    same_title: bool


@dataclass(frozen=True, slots=True)
class CrossValidated:
    """Recall@k of held-out pairs, each ranked with the prior chosen on the other folds."""

    recall: dict[int, float]
    chosen_priors: list[TimePrior]


def build_index(issues: Iterable[IssueRecord]) -> DuplicateIndex:
    index = DuplicateIndex()
    index.add_many(issues)
    return index


def usable_pairs(pairs: Iterable[DuplicatePair], issue_ids: set[str]) -> list[DuplicatePair]:
    """Pairs whose two issues are both known and distinct (data sets carry some that are not)."""
    return [
        pair
        for pair in pairs
        if pair.query_id != pair.duplicate_id
        and pair.query_id in issue_ids
        and pair.duplicate_id in issue_ids
    ]


def pair_scores(
    index: DuplicateIndex, issues: dict[str, IssueRecord], pairs: Sequence[DuplicatePair]
) -> list[PairScores]:
    slot_of = {issue_id: slot for slot, issue_id in enumerate(index.slot_ids())}
    result = []
    for pair in pairs:
        query = issues[pair.query_id]
        result.append(
            PairScores(
                similarity=index.similarities(query.title, query.body),
                gap_days=index.creation_gaps_days(query.created_at),
                query_slot=slot_of[pair.query_id],
                duplicate_slot=slot_of[pair.duplicate_id],
            )
        )
    return result


def recall_at(ranks: Sequence[int], ks: Sequence[int] = RECALL_KS) -> dict[int, float]:
    """Share of ranks below each k (rank 0 is the top)."""
    if not ranks:
        return dict.fromkeys(ks, 0.0)
    positions = np.asarray(ranks)
    return {k: float(np.mean(positions < k)) for k in ks}


def _selection_key(ranks: Sequence[int]) -> float:
    recall = recall_at(ranks, (1, 5))
    return recall[1] + recall[5]


def best_prior(scores: Sequence[PairScores], grid: Sequence[TimePrior] = PRIOR_GRID) -> TimePrior:
    """The grid prior with the highest Recall@1 + Recall@5 on `scores` (first one on ties)."""
    return max(grid, key=lambda prior: _selection_key([s.rank(prior) for s in scores]))


def fold_assignment(count: int, *, folds: int, seed: int) -> list[int]:
    """A fold number for each of `count` items, balanced and shuffled reproducibly."""
    assignment = [position % folds for position in range(count)]
    random.Random(seed).shuffle(assignment)
    return assignment


def cross_validate_prior(
    scores: Sequence[PairScores],
    *,
    folds: int = 5,
    seed: int = 0,
    grid: Sequence[TimePrior] = PRIOR_GRID,
) -> CrossValidated:
    assignment = fold_assignment(len(scores), folds=folds, seed=seed)
    held_out_ranks: list[int] = []
    chosen: list[TimePrior] = []
    for fold in range(folds):
        training = [s for s, f in zip(scores, assignment, strict=True) if f != fold]
        prior = best_prior(training, grid)
        chosen.append(prior)
        held_out_ranks += [
            s.rank(prior) for s, f in zip(scores, assignment, strict=True) if f == fold
        ]
    return CrossValidated(recall=recall_at(held_out_ranks), chosen_priors=chosen)


def _normalised_title(title: str) -> str:
    return " ".join(_NON_WORD.split(title.lower())).strip()


def replay_top1(
    index: DuplicateIndex,
    queries: Iterable[IssueRecord],
    pairs: Iterable[DuplicatePair],
    *,
    prior: TimePrior,
) -> list[Top1Candidate]:
    """Replay the issues as they were filed: each query sees only issues created before it (as a
    new issue would), and its best-scoring one is the would-be "possible duplicate of #N". A
    query with no earlier issue, or no shared term with any, yields nothing."""
    partners: dict[str, set[str]] = {}
    for pair in pairs:
        partners.setdefault(pair.query_id, set()).add(pair.duplicate_id)
        partners.setdefault(pair.duplicate_id, set()).add(pair.query_id)
    slot_ids = index.slot_ids()
    candidates = []
    for query in queries:
        if query.created_at is None:
            continue
        gaps_signed = index.creation_offsets_days(query.created_at)
        scores = index.similarities(query.title, query.body) * time_prior_factors(
            np.abs(gaps_signed), prior
        )
        # Only strictly earlier issues; unknown creation times never qualify.
        scores = np.where(gaps_signed < 0, scores, -np.inf)
        best = int(np.argmax(scores))
        if not scores[best] > 0.0:
            continue
        candidate_id = slot_ids[best]
        candidates.append(
            Top1Candidate(
                query_id=query.id,
                candidate_id=candidate_id,
                score=float(scores[best]),
                marked=candidate_id in partners.get(query.id, set()),
                same_title=_normalised_title(query.title)
                == _normalised_title(index.title_of(candidate_id)),
            )
        )
    return candidates


def outcomes_of(
    candidates: Iterable[Top1Candidate], *, identical_title_is_duplicate: bool
) -> list[Top1Outcome]:
    """Score and correctness of each replayed comment: correct when maintainers marked the pair,
    or also (if asked) when the two titles are identical up to case and punctuation."""
    return [
        Top1Outcome(
            score=c.score,
            correct=c.marked or (identical_title_is_duplicate and c.same_title),
        )
        for c in candidates
    ]


def precision_at(outcomes: Sequence[Top1Outcome], threshold: float) -> tuple[float, int]:
    """Precision of "possible duplicate of #N" comments posted when the score ≥ threshold, and
    how many comments that is (precision 1.0 when none would be posted)."""
    posted = [outcome.correct for outcome in outcomes if outcome.score >= threshold]
    return (float(np.mean(posted)) if posted else 1.0), len(posted)


def threshold_for_precision(outcomes: Sequence[Top1Outcome], *, target: float) -> float:
    """The lowest threshold whose precision on `outcomes` reaches `target`, requiring at least
    one correct comment; 1.0 (comment only on identical text) when no threshold does."""
    scores = np.array([outcome.score for outcome in outcomes])
    correct = np.array([outcome.correct for outcome in outcomes], dtype=np.int64)
    order = np.argsort(scores)
    scores, correct = scores[order], correct[order]
    candidates = np.unique(scores)
    # Comments posted at threshold t: every outcome from the first score ≥ t on.
    first = np.searchsorted(scores, candidates, side="left")
    correct_from = np.concatenate([np.cumsum(correct[::-1])[::-1], [0]])
    posted = len(scores) - first
    correct_posted = correct_from[first]
    reaching = (correct_posted > 0) & (correct_posted >= target * posted)
    return float(candidates[np.argmax(reaching)]) if reaching.any() else 1.0


@dataclass(frozen=True, slots=True)
class ThresholdValidation:
    """Held-out precision and comment count of thresholds chosen on the other folds."""

    precision: float
    comments: int
    correct_comments: int
    thresholds: list[float]


def cross_validate_threshold(
    outcomes: Sequence[Top1Outcome], *, target: float, folds: int = 5, seed: int = 0
) -> ThresholdValidation:
    assignment = fold_assignment(len(outcomes), folds=folds, seed=seed)
    posted: list[bool] = []
    thresholds: list[float] = []
    for fold in range(folds):
        training = [o for o, f in zip(outcomes, assignment, strict=True) if f != fold]
        threshold = threshold_for_precision(training, target=target)
        thresholds.append(threshold)
        posted += [
            o.correct
            for o, f in zip(outcomes, assignment, strict=True)
            if f == fold and o.score >= threshold
        ]
    return ThresholdValidation(
        precision=float(np.mean(posted)) if posted else 1.0,
        comments=len(posted),
        correct_comments=sum(posted),
        thresholds=thresholds,
    )
