"""Unit tests of the duplicate index, its tokenizer and its evaluation helpers."""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pytest

from workers.agents.triage.duplicates import (
    DEFAULT_PRIOR,
    DuplicateCandidate,
    DuplicateIndex,
    IssueRecord,
    TimePrior,
    duplicate_to_comment,
)
from workers.agents.triage.duplicates.dense import dense_text
from workers.agents.triage.duplicates.evaluation import (
    DuplicatePair,
    Top1Outcome,
    build_index,
    cross_validate_prior,
    fold_assignment,
    pair_scores,
    precision_at,
    recall_at,
    threshold_for_precision,
    usable_pairs,
)
from workers.agents.triage.duplicates.index import DENSE_PRIOR, time_prior_factors
from workers.agents.triage.duplicates.text import identifier_terms, tokenize

NOW = datetime(2026, 6, 1, tzinfo=UTC)

CORPUS = [
    ("1", "NameNode crashes on startup with NullPointerException", "FSNamesystem.loadFSImage NPE"),
    ("2", "Upgrade jackson-databind to 2.13.4", "Fixes CVE-2022-42003 in jackson-databind."),
    ("3", "S3A connector leaks threads on close", "S3AFileSystem.close does not stop the pool."),
    ("4", "Docs: typo in the YARN scheduler guide", "capacity scheduler page says 'queus'."),
    ("5", "DistCp fails for paths with spaces", "distcp -update with a space in the path fails."),
    ("6", "Add metrics for RPC queue time", "Expose the RPC call queue time as a metric."),
]


def _issue(issue_id: str, title: str, body: str = "", **kwargs: object) -> IssueRecord:
    return IssueRecord(id=issue_id, title=title, body=body, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def index() -> DuplicateIndex:
    return build_index(
        _issue(issue_id, title, body, created_at=NOW - timedelta(days=10))
        for issue_id, title, body in CORPUS
    )


def test_identifiers_yield_the_whole_name_its_parts_and_its_words() -> None:
    terms = identifier_terms("org.apache.hadoop.fs.FileSystem")
    assert terms[0] == "org.apache.hadoop.fs.filesystem"
    assert {"hadoop", "filesystem", "file"} <= set(terms)
    assert set(identifier_terms("getHTTPServer")) >= {"gethttpserver", "http", "server"}


def test_tokenize_drops_stop_words_and_single_letters() -> None:
    assert tokenize("the NameNode is a x down") == ["namenode", "name", "node", "down"]


def test_rewritten_report_ranks_its_original_first(index: DuplicateIndex) -> None:
    query = _issue("new", "NPE in NameNode startup", "NullPointerException in loadFSImage")
    candidates = index.query(query, now=NOW)
    assert candidates[0].id == "1"
    assert all(0.0 < c.score <= c.similarity <= 1.0 for c in candidates)
    assert [c.score for c in candidates] == sorted((c.score for c in candidates), reverse=True)


def test_identical_text_scores_one_and_the_query_itself_is_excluded(
    index: DuplicateIndex,
) -> None:
    title, body = CORPUS[2][1], CORPUS[2][2]
    similarity = index.similarities(title, body)
    assert similarity[index.slot_ids().index("3")] == pytest.approx(1.0)
    own = _issue("3", title, body, created_at=NOW - timedelta(days=10))
    assert "3" not in [c.id for c in index.query(own, now=NOW)]


def test_unrelated_text_finds_nothing(index: DuplicateIndex) -> None:
    assert index.query(_issue("q", "zebra giraffe", "okapi"), now=NOW) == []


def test_closed_issues_are_candidates_only_while_recently_closed(index: DuplicateIndex) -> None:
    query = _issue("q", "S3A connector thread leak on close", created_at=NOW)
    index.set_state("3", state="closed", closed_at=NOW - timedelta(days=3))
    assert index.query(query, now=NOW)[0].id == "3"
    index.set_state("3", state="closed", closed_at=NOW - timedelta(days=300))
    assert "3" not in [c.id for c in index.query(query, now=NOW)]
    everything = index.query(query, now=NOW, recently_closed=None)
    assert everything[0].id == "3"
    index.set_state("3", state="open", closed_at=None)
    assert index.query(query, now=NOW)[0].id == "3"


def test_forget_closed_drops_only_long_closed_issues(index: DuplicateIndex) -> None:
    index.set_state("2", state="closed", closed_at=NOW - timedelta(days=400))
    index.set_state("5", state="closed", closed_at=NOW - timedelta(days=5))
    assert index.forget_closed(now=NOW, older_than=timedelta(days=90)) == ["2"]
    assert "2" not in index
    assert "5" in index
    assert len(index) == len(CORPUS) - 1


def test_removed_issue_disappears_and_its_terms_stop_counting(index: DuplicateIndex) -> None:
    query_title = "S3A connector thread leak"
    before = index.similarities(query_title, "")
    index.remove("3")
    assert "3" not in index
    assert len(index) == len(CORPUS) - 1
    after = index.similarities(query_title, "")
    assert after[index.slot_ids().index("3")] == -np.inf
    rebuilt = build_index(_issue(i, t, b) for i, t, b in CORPUS if i != "3")
    assert rebuilt.query(_issue("q", query_title), now=NOW) == []
    assert np.all(after[np.isfinite(after)] <= before[np.isfinite(after)] + 1e-9)


def test_unknown_or_already_removed_issues_change_nothing(index: DuplicateIndex) -> None:
    # GitHub redelivers webhooks, and closes or deletes issues filed before the index existed.
    query = _issue("q", "S3A connector thread leak")
    before = index.query(query, now=NOW)
    assert "3" in [c.id for c in before]
    assert index.remove("3") is True
    assert index.remove("3") is False
    assert index.remove("no-such-issue") is False
    assert index.set_state("3", state="closed", closed_at=NOW) is False
    assert index.set_state("no-such-issue", state="open", closed_at=None) is False
    assert index.set_state("5", state="closed", closed_at=NOW) is True
    assert len(index) == len(CORPUS) - 1
    after = index.query(query, now=NOW)
    assert [c.id for c in after] == [c.id for c in before if c.id != "3"]


def test_compaction_keeps_scores_and_drops_removed_issues() -> None:
    issues = [
        _issue(str(n), f"component{n % 7} fails", f"error code {n} in module{n % 5}")
        for n in range(60)
    ]
    index = build_index(issues)
    for issue in issues[::3]:
        index.remove(issue.id)
    query = _issue("q", "component3 fails", "error code 17 in module2")
    before = {c.id: c.score for c in index.query(query, now=NOW, k=50)}
    index.compact()
    assert len(index.slot_ids()) == len(index) == 40
    after = {c.id: c.score for c in index.query(query, now=NOW, k=50)}
    assert after.keys() == before.keys()
    assert all(after[i] == pytest.approx(before[i]) for i in before)
    index.add(_issue("new", "component3 fails", "error code 17 in module2"))
    assert index.query(query, now=NOW)[0].id == "new"


def test_adding_an_issue_with_a_known_id_replaces_it(index: DuplicateIndex) -> None:
    index.add(_issue("4", "Balancer ignores storage policies", "balancer moves blocks"))
    assert len(index) == len(CORPUS)
    candidates = index.query(_issue("q", "balancer storage policies ignored"), now=NOW)
    assert candidates[0].id == "4"
    assert index.query(_issue("q", "typo in capacity scheduler guide queus"), now=NOW) == []


def test_incremental_index_ranks_like_a_fresh_one() -> None:
    rng = np.random.default_rng(7)
    vocabulary = [f"word{n}" for n in range(300)]
    issues = [
        _issue(
            str(n),
            " ".join(rng.choice(vocabulary, 5)),
            " ".join(rng.choice(vocabulary, 40)),
        )
        for n in range(400)
    ]
    grown = build_index(issues[:10])
    for issue in issues[10:]:
        grown.add(issue)
    fresh = build_index(issues)
    query = issues[123]
    grown_scores = grown.similarities(query.title, query.body)
    fresh_scores = fresh.similarities(query.title, query.body)
    assert np.allclose(grown_scores, fresh_scores, atol=0.02)
    assert np.argmax(grown_scores) == 123
    top = np.argsort(-fresh_scores)[:10]
    assert set(np.argsort(-grown_scores)[:10]) == set(top)


def test_time_prior_prefers_issues_filed_close_together() -> None:
    gaps = np.array([0.0, 10.0, 100.0, 1000.0, math.nan])
    factors = time_prior_factors(gaps, TimePrior(scale_days=90.0, exponent=0.3))
    assert factors[0] == 1.0
    assert np.all(np.diff(factors[:4]) < 0)
    assert factors[4] == 1.0
    off = time_prior_factors(gaps, TimePrior(scale_days=90.0, exponent=0.0))
    assert np.all(off == 1.0)


def test_time_prior_breaks_a_tie_towards_the_recent_issue() -> None:
    index = build_index(
        [
            _issue("old", "Balancer hangs forever", created_at=NOW - timedelta(days=900)),
            _issue("recent", "Balancer hangs forever", created_at=NOW - timedelta(days=2)),
        ]
    )
    query = _issue("q", "Balancer hangs forever", created_at=NOW)
    assert [c.id for c in index.query(query, now=NOW)] == ["recent", "old"]


def test_hidden_and_invisible_text_does_not_match(index: DuplicateIndex) -> None:
    hidden = "<!-- NameNode crashes on startup with NullPointerException FSNamesystem -->"
    scores = index.similarities("", hidden)
    assert np.all(scores[np.isfinite(scores)] == 0.0)
    split = "Name\u200bNode cra\u200bshes NullPointer\u200dException"
    assert index.query(_issue("q", split), now=NOW)[0].id == "1"


def test_huge_and_binary_bodies_are_cut_and_do_not_crash(index: DuplicateIndex) -> None:
    junk = bytes(range(256)).decode("latin-1") * 2_000 + "\x00\ufffd" * 100_000
    huge = "S3A connector leaks threads " + "lorem ipsum dolor " * 500_000
    started = time.perf_counter()
    index.add(_issue("junk", junk[:50], junk))
    index.add(_issue("huge", "huge", huge))
    candidates = index.query(_issue("q", "S3A connector thread leak", huge), now=NOW)
    assert time.perf_counter() - started < 5.0
    assert {c.id for c in candidates} >= {"3", "huge"}


def test_recall_at_counts_ranks_below_k() -> None:
    assert recall_at([0, 1, 4, 5, 20], (1, 5, 10)) == {1: 0.2, 5: 0.6, 10: 0.8}
    assert recall_at([], (1,)) == {1: 0.0}


def test_usable_pairs_skip_unknown_and_self_pairs() -> None:
    pairs = [DuplicatePair("1", "2"), DuplicatePair("1", "1"), DuplicatePair("1", "99")]
    assert usable_pairs(pairs, {"1", "2"}) == [DuplicatePair("1", "2")]


def test_pair_ranks_put_ties_against_the_duplicate(index: DuplicateIndex) -> None:
    issues = {issue_id: _issue(issue_id, t, b) for issue_id, t, b in CORPUS}
    issues["1"] = _issue("1", CORPUS[0][1], CORPUS[0][2])
    [scores] = pair_scores(index, issues, [DuplicatePair("1", "4")])
    assert scores.rank(TimePrior(exponent=0.0)) == len(CORPUS) - 2


def test_fold_assignment_is_balanced_and_reproducible() -> None:
    folds = fold_assignment(23, folds=5, seed=1)
    assert sorted(folds.count(f) for f in range(5)) == [4, 4, 5, 5, 5]
    assert folds == fold_assignment(23, folds=5, seed=1)


def test_cross_validation_picks_a_grid_prior_per_fold(index: DuplicateIndex) -> None:
    issues = {issue_id: _issue(issue_id, t, b) for issue_id, t, b in CORPUS}
    pairs = [DuplicatePair("1", "3"), DuplicatePair("2", "6"), DuplicatePair("5", "4")]
    grid = (TimePrior(exponent=0.0), TimePrior(exponent=0.5))
    result = cross_validate_prior(pair_scores(index, issues, pairs), folds=3, grid=grid)
    assert len(result.chosen_priors) == 3
    assert set(result.chosen_priors) <= set(grid)
    assert set(result.recall) == {1, 5, 10}


def test_threshold_is_the_lowest_score_reaching_the_target_precision() -> None:
    outcomes = [
        Top1Outcome(0.9, True),
        Top1Outcome(0.8, True),
        Top1Outcome(0.7, False),
        Top1Outcome(0.6, True),
        Top1Outcome(0.5, False),
        Top1Outcome(0.4, False),
    ]
    assert threshold_for_precision(outcomes, target=0.75) == 0.6
    assert threshold_for_precision(outcomes, target=1.0) == 0.8
    assert precision_at(outcomes, 0.6) == (0.75, 4)
    assert precision_at(outcomes, 0.95) == (1.0, 0)
    assert threshold_for_precision([Top1Outcome(0.3, False)], target=0.5) == 1.0


def test_removing_many_issues_compacts_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.agents.triage.duplicates import index as index_module

    monkeypatch.setattr(index_module, "COMPACT_MIN_REMOVED", 10)
    index = build_index(_issue(str(n), f"title {n}", f"body word{n}") for n in range(30))
    for n in range(15):
        index.remove(str(n))
    assert len(index.slot_ids()) == 15
    assert index.query(_issue("q", "title", "word20"), now=NOW)[0].id == "20"


class _HashedWordsEncoder:
    """A stand-in sentence encoder for tests: unit vectors of hashed lower-case words, so texts
    sharing words are close. It exercises the index's fusion, growth and compaction paths; the
    real model is measured by the bench (`--dense`)."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(len(texts))
        vectors = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, zlib.crc32(word.encode()) % 64] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)


def test_embeddings_are_fused_with_the_lexical_similarity() -> None:
    encoder = _HashedWordsEncoder()
    issues = [_issue(i, t, b, created_at=NOW - timedelta(days=3)) for i, t, b in CORPUS]
    lexical = build_index(issues)
    dense = DuplicateIndex(encoder=encoder, dense_weight=1.0)
    dense.add_many(issues)
    assert encoder.calls == [len(CORPUS)]  # one batch for the whole load
    assert dense.default_prior == DENSE_PRIOR
    assert lexical.default_prior == DEFAULT_PRIOR
    title, body = "S3A connector leaks threads", "on close"
    fused = dense.similarities(title, body)
    words = lexical.similarities(title, body)
    [vector] = encoder.encode([dense_text(title, body)])
    expected = (
        words
        + np.clip(
            np.asarray(
                encoder.encode([dense_text(t, b) for _, t, b in CORPUS]) @ vector, dtype=np.float64
            ),
            0,
            1,
        )
    ) / 2
    assert np.allclose(fused, expected)
    candidates = dense.query(_issue("q", title, body, created_at=NOW), now=NOW)
    assert candidates[0].id == "3"
    assert candidates[0].comment_score == pytest.approx(
        lexical.query(_issue("q", title, body, created_at=NOW), now=NOW)[0].score
    )


def test_embeddings_follow_removal_and_compaction() -> None:
    encoder = _HashedWordsEncoder()
    dense = DuplicateIndex(encoder=encoder)
    dense.add_many(_issue(i, t, b) for i, t, b in CORPUS)
    dense.add(_issue("7", "Balancer hangs", "balancer never finishes"))
    dense.remove("1")
    dense.remove("2")
    dense.compact()
    scores = dense.similarities("balancer hangs", "never finishes")
    assert len(scores) == len(dense) == len(CORPUS) - 1
    assert dense.slot_ids()[int(np.argmax(scores))] == "7"


def test_duplicate_to_comment_uses_the_calibrated_score() -> None:
    sure = DuplicateCandidate(id="1", score=0.5, similarity=0.6, comment_score=0.97)
    unsure = DuplicateCandidate(id="2", score=0.4, similarity=0.9, comment_score=0.9)
    assert duplicate_to_comment([unsure, sure]) == sure
    assert duplicate_to_comment([unsure]) is None
    assert duplicate_to_comment([]) is None
