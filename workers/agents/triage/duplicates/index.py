"""An incremental index that ranks existing issues by similarity to a new one.

Similarity is TF-IDF cosine (sublinear term frequency, smoothed IDF) between issues represented as
`t̂ + f̂`: the unit vector of the title plus the unit vector of the whole text. Their dot product
sums the four pairings (title-title, title-text, text-title, text-text): a duplicate is often
recognisable from its title alone, or from a title that echoes the other's stack trace. Both sides
are then scaled to unit length, so identical issues score 1 and unrelated ones 0 in any repository.

Adding an issue appends to sparse postings: nothing is rebuilt. IDF is read live at query time; the
documents' vector norms use the IDF of when they were last computed and are all recomputed, in
one vectorised pass, whenever the index has grown by `NORM_REFRESH_GROWTH` since — so the cost of
refreshing stays a constant share of the cost of inserting.

Eligibility (open, or closed recently) and the created-at time prior are applied at query time, so
closing or reopening an issue is a flag change, not a re-index.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from workers.agents.triage.duplicates.dense import DenseVectors, TextEncoder, dense_text
from workers.agents.triage.duplicates.text import TITLE_MAX_CHARS, issue_term_counts

FloatArray = npt.NDArray[np.float64]
IssueState = Literal["open", "closed"]

NORM_REFRESH_GROWTH = 0.1
# Removed issues keep their postings until they are as many as the live ones (and at least this
# many); then the index is compacted in one vectorised pass, so that cost is also amortised.
COMPACT_MIN_REMOVED = 1_000
DEFAULT_RECENTLY_CLOSED = timedelta(days=30)
_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class IssueRecord:
    """One issue as data. `created_at`/`closed_at` should be timezone-aware (naive means UTC)."""

    id: str
    title: str
    body: str
    created_at: datetime | None = None
    state: IssueState = "open"
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TimePrior:
    """Duplicates tend to be filed close together in time: a candidate's similarity is multiplied by
    `(1 + gap_days / scale_days) ** -exponent`. `exponent` 0 switches the prior off."""

    # Defaults chosen by cross-validation over pair folds; see docs/triage-duplicates.md.
    scale_days: float = 365.0
    exponent: float = 0.5


@dataclass(frozen=True, slots=True)
class DuplicateCandidate:
    """A possible duplicate: `score` (similarity × time prior, what candidates are ranked by) and
    `similarity`, both in [0, 1]; `comment_score` is the lexical similarity × `DEFAULT_PRIOR`, the
    score `COMMENT_THRESHOLD` was calibrated on (equal to `score` without embeddings)."""

    id: str
    score: float
    similarity: float
    comment_score: float


# The lowest score at which a "possible duplicate of #N" comment was right ≥ 90% of the time in a
# replay of the development set (see docs/triage-duplicates.md); below it, suggest, don't claim.
COMMENT_THRESHOLD = 0.95

DEFAULT_PRIOR = TimePrior()
# With sentence embeddings fused in, cross-validation chose a weaker, shorter prior.
DENSE_PRIOR = TimePrior(scale_days=30.0, exponent=0.15)
DENSE_WEIGHT = 0.5


def duplicate_to_comment(
    candidates: Iterable[DuplicateCandidate], *, threshold: float = COMMENT_THRESHOLD
) -> DuplicateCandidate | None:
    """The best candidate if it is sure enough to post "possible duplicate of #N", else None."""
    best = max(candidates, key=lambda candidate: candidate.score, default=None)
    return best if best is not None and best.comment_score >= threshold else None


def time_prior_factors(gap_days: FloatArray, prior: TimePrior) -> FloatArray:
    """Multipliers in (0, 1] for absolute creation-time gaps in days; unknown gaps (NaN) get 1."""
    factors: FloatArray = np.power(1.0 + np.abs(gap_days) / prior.scale_days, -prior.exponent)
    return np.where(np.isnan(factors), 1.0, factors)


def _timestamp(moment: datetime | None) -> float:
    if moment is None:
        return math.nan
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _sublinear(counts: Counter[str]) -> dict[str, float]:
    return {term: 1.0 + math.log(count) for term, count in counts.items()}


class _Postings:
    """One term's postings, kept in compact append-only arrays: every issue containing the term,
    and apart the few that have it in their title. Most terms never occur in a title, so those
    arrays are only created when needed."""

    __slots__ = ("docs", "full_weights", "title_docs", "title_weights")

    def __init__(self) -> None:
        self.docs = array("i")
        # float32: at 50,000 issues postings dominate memory, and cosine scores need no more.
        self.full_weights = array("f")
        self.title_docs: array[int] | None = None
        self.title_weights: array[float] | None = None

    def append(self, doc: int, *, title_weight: float, full_weight: float) -> None:
        self.docs.append(doc)
        self.full_weights.append(full_weight)
        if title_weight:
            if self.title_docs is None or self.title_weights is None:
                self.title_docs, self.title_weights = array("i"), array("f")
            self.title_docs.append(doc)
            self.title_weights.append(title_weight)


class DuplicateIndex:
    """Issues of one repository, searchable by similarity; see the module docstring."""

    def __init__(
        self, *, encoder: TextEncoder | None = None, dense_weight: float = DENSE_WEIGHT
    ) -> None:
        """`encoder` (optional: `SentenceEncoder()`, or `OnnxEncoder(DIR)` without torch, both from
        `issue_type`) adds sentence embeddings, fused with the lexical similarity as
        `(lexical + dense_weight · cosine) / (1 + dense_weight)`."""
        self._encoder = encoder
        self._dense_weight = dense_weight
        self._dense = DenseVectors()
        self._slot_of: dict[str, int] = {}
        self._ids: list[str] = []
        self._titles: list[str] = []
        self._terms: dict[str, int] = {}
        self._postings: list[_Postings] = []
        self._document_frequency = array("i")
        self._alive = array("b")
        self._open = array("b")
        self._created = array("d")
        self._closed = array("d")
        self._title_scale = array("d")
        self._full_scale = array("d")
        # Every posting again, in insertion order (slot-major): norms are refreshed from it in one
        # vectorised pass, and a removed issue's terms are found from its slot's first entry.
        self._entry_slots = array("i")
        self._entry_terms = array("i")
        self._entry_title_weights = array("f")
        self._entry_full_weights = array("f")
        self._slot_first_entry = array("q")
        self._live_count = 0
        self._count_at_norm_refresh = 0

    def __len__(self) -> int:
        return self._live_count

    def __contains__(self, issue_id: object) -> bool:
        return issue_id in self._slot_of

    @property
    def default_prior(self) -> TimePrior:
        """The time prior chosen (by cross-validation) for this index's kind of similarity."""
        return DENSE_PRIOR if self._encoder is not None else DEFAULT_PRIOR

    def add_many(self, issues: Iterable[IssueRecord], *, batch_size: int = 256) -> None:
        batch: list[IssueRecord] = []
        for issue in issues:
            batch.append(issue)
            if len(batch) == batch_size:
                self._add_batch(batch)
                batch = []
        self._add_batch(batch)

    def _add_batch(self, issues: list[IssueRecord]) -> None:
        # Embedding models are much faster on batches than one text at a time.
        vectors = self._embed(issues)
        for position, issue in enumerate(issues):
            self._add(issue, None if vectors is None else vectors[position])

    def _embed(self, issues: Sequence[IssueRecord]) -> npt.NDArray[np.float32] | None:
        if self._encoder is None or not issues:
            return None
        return self._encoder.encode([dense_text(issue.title, issue.body) for issue in issues])

    def add(self, issue: IssueRecord) -> None:
        """Index `issue`; an issue already indexed under the same id is replaced."""
        self._add_batch([issue])

    def _add(self, issue: IssueRecord, vector: npt.NDArray[np.float32] | None) -> None:
        if issue.id in self._slot_of:
            self.remove(issue.id)
        title_counts, full_counts = issue_term_counts(issue.title, issue.body)
        title_weights = _sublinear(title_counts)
        full_weights = _sublinear(full_counts)
        slot = len(self._ids)
        self._slot_first_entry.append(len(self._entry_terms))
        for term, full_weight in full_weights.items():
            term_id = self._term_id(term)
            title_weight = title_weights.get(term, 0.0)
            self._postings[term_id].append(slot, title_weight=title_weight, full_weight=full_weight)
            self._document_frequency[term_id] += 1
            self._entry_slots.append(slot)
            self._entry_terms.append(term_id)
            self._entry_title_weights.append(title_weight)
            self._entry_full_weights.append(full_weight)
        self._slot_of[issue.id] = slot
        self._ids.append(issue.id)
        self._titles.append(issue.title[:TITLE_MAX_CHARS])
        if vector is not None:
            self._dense.append(vector)
        self._alive.append(1)
        self._open.append(1 if issue.state == "open" else 0)
        self._created.append(_timestamp(issue.created_at))
        self._closed.append(_timestamp(issue.closed_at))
        self._live_count += 1
        first_entry = self._slot_first_entry[slot]
        title_scale, full_scale = self._view_scales(
            self._idf(np.frombuffer(self._entry_terms, dtype=np.int32)[first_entry:]),
            np.frombuffer(self._entry_title_weights, dtype=np.float32)[first_entry:],
            np.frombuffer(self._entry_full_weights, dtype=np.float32)[first_entry:],
        )
        self._title_scale.append(float(title_scale[0]))
        self._full_scale.append(float(full_scale[0]))
        if self._live_count > (1.0 + NORM_REFRESH_GROWTH) * self._count_at_norm_refresh:
            self._refresh_norms()

    def remove(self, issue_id: str) -> bool:
        """Forget an issue (deleted, transferred, or closed too long ago to matter); False when
        it was not indexed. GitHub redelivers webhooks and names issues filed before the index
        existed, so an unknown id is not an error."""
        slot = self._slot_of.pop(issue_id, None)
        if slot is None:
            return False
        self._alive[slot] = 0
        first_entry = self._slot_first_entry[slot]
        end_entry = (
            self._slot_first_entry[slot + 1]
            if slot + 1 < len(self._slot_first_entry)
            else len(self._entry_terms)
        )
        for term_id in self._entry_terms[first_entry:end_entry]:
            self._document_frequency[term_id] -= 1
        self._live_count -= 1
        removed = len(self._ids) - self._live_count
        if removed >= max(COMPACT_MIN_REMOVED, self._live_count):
            self.compact()
        return True

    def compact(self) -> None:
        """Drop removed issues' slots and postings (renumbering slots; ids are unaffected)."""
        alive = np.frombuffer(self._alive, dtype=np.int8).astype(bool)
        survivors = np.flatnonzero(alive)
        new_slot = np.cumsum(alive) - 1
        old_entry_slots = np.frombuffer(self._entry_slots, dtype=np.int32)
        keep = alive[old_entry_slots]
        entry_slots = new_slot[old_entry_slots[keep]].astype(np.int32)
        entry_terms = np.frombuffer(self._entry_terms, dtype=np.int32)[keep]
        title_weights = np.frombuffer(self._entry_title_weights, dtype=np.float32)[keep]
        full_weights = np.frombuffer(self._entry_full_weights, dtype=np.float32)[keep]
        del old_entry_slots  # no view may outlive the arrays replaced below

        self._ids = [self._ids[slot] for slot in survivors]
        self._titles = [self._titles[slot] for slot in survivors]
        self._slot_of = {issue_id: slot for slot, issue_id in enumerate(self._ids)}
        for name, typecode in (
            ("_alive", "b"),
            ("_open", "b"),
            ("_created", "d"),
            ("_closed", "d"),
            ("_title_scale", "d"),
            ("_full_scale", "d"),
        ):
            values = np.frombuffer(getattr(self, name), dtype=np.dtype(typecode))[survivors]
            setattr(self, name, array(typecode, values.tobytes()))
        self._entry_slots = array("i", entry_slots.tobytes())
        self._entry_terms = array("i", entry_terms.tobytes())
        self._entry_title_weights = array("f", title_weights.tobytes())
        self._entry_full_weights = array("f", full_weights.tobytes())
        # Entries are slot-major in slot order, and filtering keeps that order.
        first_entries = np.searchsorted(entry_slots, np.arange(len(self._ids), dtype=np.int32))
        self._slot_first_entry = array("q", first_entries.astype(np.int64).tobytes())
        self._rebuild_postings(entry_slots, entry_terms, title_weights, full_weights)
        self._dense.keep(survivors)

    def _rebuild_postings(
        self,
        entry_slots: npt.NDArray[np.int32],
        entry_terms: npt.NDArray[np.int32],
        title_weights: npt.NDArray[np.float32],
        full_weights: npt.NDArray[np.float32],
    ) -> None:
        # A stable sort by term keeps each term's postings in slot order.
        order = np.argsort(entry_terms, kind="stable")
        sorted_terms = entry_terms[order]
        bounds = np.searchsorted(sorted_terms, np.arange(len(self._postings) + 1))
        slots, titles, fulls = entry_slots[order], title_weights[order], full_weights[order]
        for term_id in range(len(self._postings)):
            start, end = bounds[term_id], bounds[term_id + 1]
            postings = _Postings()
            postings.docs = array("i", slots[start:end].tobytes())
            postings.full_weights = array("f", fulls[start:end].tobytes())
            in_title = np.flatnonzero(titles[start:end]) + start
            if len(in_title):
                postings.title_docs = array("i", slots[in_title].tobytes())
                postings.title_weights = array("f", titles[in_title].tobytes())
            self._postings[term_id] = postings

    def forget_closed(self, *, now: datetime, older_than: timedelta) -> list[str]:
        """Remove issues closed more than `older_than` before `now` (they can no longer be
        candidates); returns their ids. Keeps a long-lived index at the size that matters."""
        closed_at = np.frombuffer(self._closed)
        is_open = np.frombuffer(self._open, dtype=np.int8).astype(bool)
        alive = np.frombuffer(self._alive, dtype=np.int8).astype(bool)
        cutoff = _timestamp(now) - older_than.total_seconds()
        with np.errstate(invalid="ignore"):
            stale = alive & ~is_open & (closed_at < cutoff)
        stale_ids = [self._ids[slot] for slot in np.flatnonzero(stale)]
        del closed_at, is_open, alive  # release the buffers before `remove` writes to them
        for issue_id in stale_ids:
            self.remove(issue_id)
        return stale_ids

    def set_state(self, issue_id: str, *, state: IssueState, closed_at: datetime | None) -> bool:
        """Record that an issue was closed or reopened; its text stays indexed. False when it
        is not indexed (as for `remove`, an unknown id is not an error)."""
        slot = self._slot_of.get(issue_id)
        if slot is None:
            return False
        self._open[slot] = 1 if state == "open" else 0
        self._closed[slot] = _timestamp(closed_at)
        return True

    def slot_ids(self) -> list[str]:
        """Issue id of every slot, in the order of `similarities` (removed slots included)."""
        return list(self._ids)

    def similarities(self, title: str, body: str) -> FloatArray:
        """Similarity in [0, 1] of the given text to every slot (lexical, fused with embeddings
        when the index has an encoder); removed slots get -inf."""
        lexical = self.lexical_similarities(title, body)
        if self._encoder is None:
            return lexical
        [vector] = self._encoder.encode([dense_text(title, body)])
        fused = (lexical + self._dense_weight * self._dense.cosines(vector)) / (
            1.0 + self._dense_weight
        )
        return np.where(np.isfinite(lexical), fused, -np.inf)

    def lexical_similarities(self, title: str, body: str) -> FloatArray:
        """TF-IDF similarity in [0, 1] of the given text to every slot; removed slots get -inf."""
        title_counts, full_counts = issue_term_counts(title, body)
        query_vector, query_idf = self._query_vector(title_counts, full_counts)
        # Gather the postings of all query terms, then score them in one vectorised pass.
        docs: list[npt.NDArray[np.int32]] = []
        weights: list[npt.NDArray[np.float32]] = []
        coefficients: list[float] = []
        in_title: list[bool] = []
        for term, query_weight in query_vector.items():
            term_id = self._terms.get(term)
            if term_id is None or self._document_frequency[term_id] == 0:
                continue
            coefficient = query_weight * query_idf[term] ** 2
            postings = self._postings[term_id]
            for view_docs, view_weights, is_title in (
                (postings.docs, postings.full_weights, False),
                (postings.title_docs, postings.title_weights, True),
            ):
                if view_docs and view_weights is not None:
                    docs.append(np.frombuffer(view_docs, dtype=np.int32))
                    weights.append(np.frombuffer(view_weights, dtype=np.float32))
                    coefficients.append(coefficient)
                    in_title.append(is_title)
        scores = self._accumulate(docs, weights, coefficients, in_title)
        alive = np.frombuffer(self._alive, dtype=np.int8).astype(bool)
        return np.where(alive, np.clip(scores, 0.0, 1.0), -np.inf)

    def _accumulate(
        self,
        docs: list[npt.NDArray[np.int32]],
        weights: list[npt.NDArray[np.float32]],
        coefficients: list[float],
        in_title: list[bool],
    ) -> FloatArray:
        """Σ over entries of coefficient × weight × the entry's view scale, per slot."""
        if not docs:
            return np.zeros(len(self._ids))
        lengths = [len(part) for part in docs]
        all_docs = np.concatenate(docs)
        is_title = np.repeat(in_title, lengths)
        entry_scale = np.where(
            is_title,
            np.frombuffer(self._title_scale)[all_docs],
            np.frombuffer(self._full_scale)[all_docs],
        )
        entry_weight = np.concatenate(weights) * np.repeat(coefficients, lengths) * entry_scale
        return np.asarray(
            np.bincount(all_docs, entry_weight, minlength=len(self._ids)), dtype=np.float64
        )

    def creation_offsets_days(self, created_at: datetime | None) -> FloatArray:
        """Days from `created_at` to each slot's creation, negative for earlier issues (NaN where
        either is unknown)."""
        created = np.frombuffer(self._created)
        offsets: FloatArray = (created - _timestamp(created_at)) / _SECONDS_PER_DAY
        return offsets

    def creation_gaps_days(self, created_at: datetime | None) -> FloatArray:
        """Absolute days between `created_at` and each slot's creation (NaN where unknown)."""
        gaps: FloatArray = np.abs(self.creation_offsets_days(created_at))
        return gaps

    def title_of(self, issue_id: str) -> str:
        return self._titles[self._slot_of[issue_id]]

    def eligible(
        self, *, now: datetime, recently_closed: timedelta | None = DEFAULT_RECENTLY_CLOSED
    ) -> npt.NDArray[np.bool_]:
        """Slots a duplicate comment may point to: live and open, or closed within
        `recently_closed` of `now` (any closed issue when it is None)."""
        alive = np.frombuffer(self._alive, dtype=np.int8).astype(bool)
        is_open = np.frombuffer(self._open, dtype=np.int8).astype(bool)
        if recently_closed is None:
            return alive
        closed_at = np.frombuffer(self._closed)
        cutoff = _timestamp(now) - recently_closed.total_seconds()
        with np.errstate(invalid="ignore"):
            recent = closed_at >= cutoff
        return alive & (is_open | recent)

    def query(
        self,
        issue: IssueRecord,
        *,
        k: int = 10,
        now: datetime,
        recently_closed: timedelta | None = DEFAULT_RECENTLY_CLOSED,
        prior: TimePrior | None = None,
    ) -> list[DuplicateCandidate]:
        """The `k` eligible issues most likely to be duplicates of `issue`, best first
        (`prior` defaults to `default_prior`)."""
        lexical = self.lexical_similarities(issue.title, issue.body)
        similarity = (
            lexical if self._encoder is None else self.similarities(issue.title, issue.body)
        )
        gaps = self.creation_gaps_days(issue.created_at)
        factors = time_prior_factors(gaps, prior or self.default_prior)
        scores = np.where(self.eligible(now=now, recently_closed=recently_closed), similarity, -1.0)
        scores = np.where(scores > 0.0, scores * factors, scores)
        own_slot = self._slot_of.get(issue.id)
        if own_slot is not None:
            scores[own_slot] = -1.0
        comment_scores = lexical * time_prior_factors(gaps, DEFAULT_PRIOR)
        return self._top(scores, similarity, comment_scores, k=k)

    def _top(
        self, scores: FloatArray, similarity: FloatArray, comment_scores: FloatArray, *, k: int
    ) -> list[DuplicateCandidate]:
        count = min(k, int(np.count_nonzero(scores > 0.0)))
        if count == 0:
            return []
        best = np.argpartition(-scores, count - 1)[:count]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [
            DuplicateCandidate(
                id=self._ids[slot],
                score=float(scores[slot]),
                similarity=float(similarity[slot]),
                comment_score=float(comment_scores[slot]),
            )
            for slot in best
        ]

    def _term_id(self, term: str) -> int:
        term_id = self._terms.get(term)
        if term_id is None:
            term_id = len(self._postings)
            self._terms[term] = term_id
            self._postings.append(_Postings())
            self._document_frequency.append(0)
        return term_id

    def _idf(self, term_ids: npt.NDArray[np.int32] | None = None) -> FloatArray:
        """IDF of the given terms (of all terms when None)."""
        # scikit-learn's smoothed IDF: never zero, so a term in every issue still counts a little.
        document_frequency = np.frombuffer(self._document_frequency, dtype=np.int32)
        if term_ids is not None:
            document_frequency = document_frequency[term_ids]
        idf: FloatArray = np.log((1.0 + self._live_count) / (1.0 + document_frequency)) + 1.0
        return idf

    def _query_vector(
        self, title_counts: Counter[str], full_counts: Counter[str]
    ) -> tuple[dict[str, float], dict[str, float]]:
        """The query's unit `t̂ + f̂` *without* its IDF factor (applied per term while scoring),
        and the IDF of each of its terms (a term the index has never seen gets the highest)."""
        terms = list(full_counts)
        term_ids = np.array([self._terms.get(term, -1) for term in terms], dtype=np.int32)
        unseen_idf = math.log(1.0 + self._live_count) + 1.0
        idf = np.where(term_ids >= 0, self._idf(np.maximum(term_ids, 0)), unseen_idf)
        title_weights = _sublinear(title_counts)
        full_weights = _sublinear(full_counts)
        title_array = np.array([title_weights.get(term, 0.0) for term in terms])
        full_array = np.array([full_weights[term] for term in terms])
        title_scale, full_scale = self._view_scales(idf, title_array, full_array)
        weights = title_array * title_scale[0] + full_array * full_scale[0]
        return (
            dict(zip(terms, weights.tolist(), strict=True)),
            dict(zip(terms, idf.tolist(), strict=True)),
        )

    @staticmethod
    def _view_scales(
        entry_idf: FloatArray,
        title_weights: npt.NDArray[np.floating[Any]],
        full_weights: npt.NDArray[np.floating[Any]],
        slots: npt.NDArray[np.int32] | None = None,
        slot_count: int = 1,
    ) -> tuple[FloatArray, FloatArray]:
        """Per slot, the factors `a`, `b` that make `a·title + b·text` (IDF-weighted vectors) the
        unit vector along `t̂ + f̂`; 0 for an empty view. Computed from postings entries."""
        squared_idf = entry_idf**2
        entry_slots = np.zeros(len(entry_idf), dtype=np.int32) if slots is None else slots

        def per_slot(values: FloatArray) -> FloatArray:
            return np.asarray(
                np.bincount(entry_slots, values, minlength=slot_count), dtype=np.float64
            )

        title_sq = per_slot(title_weights**2 * squared_idf)
        full_sq = per_slot(full_weights**2 * squared_idf)
        cross = per_slot(title_weights * full_weights * squared_idf)
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse_title = np.where(title_sq > 0, 1.0 / np.sqrt(title_sq), 0.0)
            inverse_full = np.where(full_sq > 0, 1.0 / np.sqrt(full_sq), 0.0)
            # ‖t̂ + f̂‖² = ‖t̂‖² + ‖f̂‖² + 2 t̂·f̂, each unit norm present only when the view is.
            sum_sq = (
                (title_sq > 0).astype(np.float64)
                + (full_sq > 0)
                + 2.0 * cross * inverse_title * inverse_full
            )
            inverse_sum = np.where(sum_sq > 0, 1.0 / np.sqrt(sum_sq), 0.0)
        return inverse_title * inverse_sum, inverse_full * inverse_sum

    def _refresh_norms(self) -> None:
        term_ids = np.frombuffer(self._entry_terms, dtype=np.int32)
        title_scale, full_scale = self._view_scales(
            self._idf()[term_ids],
            np.frombuffer(self._entry_title_weights, dtype=np.float32),
            np.frombuffer(self._entry_full_weights, dtype=np.float32),
            np.frombuffer(self._entry_slots, dtype=np.int32),
            len(self._ids),
        )
        self._title_scale = array("d", title_scale.tobytes())
        self._full_scale = array("d", full_scale.tobytes())
        self._count_at_norm_refresh = self._live_count
