"""Issue type: cross-validated quality and cost on the NLBSE'24 training split.

    .venv/bin/python -m bench.triage.classify [--data FILE] [--folds 5] [--repos a,b] [--json]
                                              [--embeddings] [--encoder-dir DIR]

The competition protocol is one classifier per repository, macro F1 over bug/feature/question,
the mean over the five repositories. Its test split scores finished work; tuning happens only
here, by stratified k-fold cross-validation inside each repository's 300 training issues. For each
fold, three models are trained on the other folds and scored on the held-out one:

- `hookwise`: the shipped model (`train_type_model`), with the other four repositories' training
  issues as down-weighted background (never the held-out repository's issues);
- `own only`: the same model without background;
- `baseline`: a plain scikit-learn TF-IDF (word 1–2-grams of title + body) + LogisticRegression;
- with `--embeddings` (needs the `dense` extra), `dense`: the shipped model with sentence
  embeddings fused in (all-MiniLM-L6-v2, or the encoder in `--encoder-dir`: one written by
  `hookwise triage export-encoder`, or a sentence-transformers model).
  Each fold embeds its own training and test issues afresh, so its cost is what a worker pays;
  only the background issues' vectors are reused across folds, as the shipped ones are.

Cost, on the machine it runs on: training seconds per repository model (300 issues, or the folds'
240 here), prediction milliseconds per issue one at a time (how a worker sees issues), each as
wall-clock and as CPU time (the two differ when other processes share the cores), and the
process's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import orjson
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from workers.agents.triage.issue_type.embeddings import (
    CachedEncoder,
    TextEncoder,
    embedding_text,
    with_shipped_vectors,
)
from workers.agents.triage.issue_type.evaluation import true_label
from workers.agents.triage.issue_type.files import by_repository, read_labelled_issues
from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.model import LabelledIssue, train_type_model
from workers.agents.triage.issue_type.onnx_encoder import encoder_in
from workers.agents.untrusted import sanitize

DEFAULT_DATA = Path("../shared/datasets/nlbse24/issues_train.csv")
LABELS = TypeLabels.of(["bug", "feature", "question"])
# Issues predicted one at a time per fold to measure a worker's latency.
LATENCY_SAMPLE = 10

Predictor = Callable[[Sequence[LabelledIssue]], list[str]]


@dataclass(frozen=True, slots=True)
class FoldResult:
    macro_f1: float
    train_seconds: float
    train_cpu_seconds: float
    predict_ms_per_issue: float
    predict_cpu_ms_per_issue: float
    applied: int = 0
    applied_correct: int = 0


@dataclass(frozen=True, slots=True)
class RepositoryResult:
    repo: str
    hookwise: float
    own_only: float
    baseline: float
    hookwise_train_seconds: float
    hookwise_train_cpu_seconds: float
    baseline_train_seconds: float
    hookwise_predict_ms: float
    hookwise_predict_cpu_ms: float
    baseline_predict_ms: float
    applied_share: float
    applied_precision: float
    dense: float | None = None
    dense_train_seconds: float | None = None
    dense_train_cpu_seconds: float | None = None
    dense_predict_ms: float | None = None
    dense_predict_cpu_ms: float | None = None
    dense_applied_share: float | None = None
    dense_applied_precision: float | None = None


def _latency_ms(predict: Predictor, issues: Sequence[LabelledIssue]) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds per issue, predicting one issue at a time."""
    wall, cpu = time.perf_counter(), time.process_time()
    for issue in issues[:LATENCY_SAMPLE]:
        predict([issue])
    count = min(len(issues), LATENCY_SAMPLE)
    return 1000 * (time.perf_counter() - wall) / count, 1000 * (time.process_time() - cpu) / count


def _truth(issues: Sequence[LabelledIssue]) -> list[str]:
    labels = [true_label(issue, LABELS) for issue in issues]
    return [label for label in labels if label is not None]


def _hookwise_fold(
    train: Sequence[LabelledIssue],
    test: Sequence[LabelledIssue],
    background: list[LabelledIssue],
    *,
    encoder: TextEncoder | None = None,
) -> FoldResult:
    started, cpu = time.perf_counter(), time.process_time()
    model = train_type_model(train, labels=LABELS, background=background, encoder=encoder)
    train_seconds, train_cpu = time.perf_counter() - started, time.process_time() - cpu
    latency, latency_cpu = _latency_ms(lambda i: [p.label for p in model.predict(i)], test)
    predictions = model.predict(test)
    truth = _truth(test)
    applied = [
        p.label == t for p, t in zip(predictions, truth, strict=True) if p.decision == "apply"
    ]
    return FoldResult(
        macro_f1=float(f1_score(truth, [p.label for p in predictions], average="macro")),
        train_seconds=train_seconds,
        train_cpu_seconds=train_cpu,
        predict_ms_per_issue=latency,
        predict_cpu_ms_per_issue=latency_cpu,
        applied=len(applied),
        applied_correct=sum(applied),
    )


def _baseline_text(issue: LabelledIssue) -> str:
    return sanitize(issue.title) + "\n" + sanitize(issue.body)


def _baseline_fold(train: Sequence[LabelledIssue], test: Sequence[LabelledIssue]) -> FoldResult:
    started, cpu = time.perf_counter(), time.process_time()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    classifier = LogisticRegression(max_iter=1000)
    classifier.fit(vectorizer.fit_transform([_baseline_text(i) for i in train]), _truth(train))
    train_seconds, train_cpu = time.perf_counter() - started, time.process_time() - cpu

    def predict(issues: Sequence[LabelledIssue]) -> list[str]:
        matrix = vectorizer.transform([_baseline_text(i) for i in issues])
        return [str(label) for label in classifier.predict(matrix)]

    latency, latency_cpu = _latency_ms(predict, test)
    return FoldResult(
        macro_f1=float(f1_score(_truth(test), predict(test), average="macro")),
        train_seconds=train_seconds,
        train_cpu_seconds=train_cpu,
        predict_ms_per_issue=latency,
        predict_cpu_ms_per_issue=latency_cpu,
    )


class PrecomputedEncoder:
    """Vectors of known texts, from `bench.triage.embed_corpus`; any other text is an error."""

    def __init__(self, name: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        self._name = name
        self._rows = {text: row for row, text in enumerate(texts)}
        self._vectors = vectors.astype(np.float32)

    @classmethod
    def load(cls, path: Path) -> PrecomputedEncoder:
        with np.load(path, allow_pickle=False) as archive:
            return cls(str(archive["name"]), list(archive["texts"]), archive["vectors"])

    @property
    def name(self) -> str:
        return self._name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors[[self._rows[text] for text in texts]]


def _fold_encoder(shared: CachedEncoder, background: Sequence[LabelledIssue]) -> CachedEncoder:
    """An encoder that knows only the background's vectors (from `shared`), so the fold's own
    issues are embedded, and timed, as a worker would embed them."""
    texts = [embedding_text(issue.title, issue.body) for issue in background]
    fold_encoder = CachedEncoder(shared.inner)
    fold_encoder.remember(texts, shared.encode(texts))
    return fold_encoder


def _dense_fields(folds: Sequence[FoldResult], issues: int) -> dict[str, float]:
    applied = sum(f.applied for f in folds)
    return {
        "dense": statistics.mean(f.macro_f1 for f in folds),
        "dense_train_seconds": statistics.mean(f.train_seconds for f in folds),
        "dense_train_cpu_seconds": statistics.mean(f.train_cpu_seconds for f in folds),
        "dense_predict_ms": statistics.mean(f.predict_ms_per_issue for f in folds),
        "dense_predict_cpu_ms": statistics.mean(f.predict_cpu_ms_per_issue for f in folds),
        "dense_applied_share": applied / issues,
        "dense_applied_precision": (
            sum(f.applied_correct for f in folds) / applied if applied else 0.0
        ),
    }


def evaluate_repository(
    repo: str,
    repos: dict[str, list[LabelledIssue]],
    *,
    folds: int,
    seed: int = 0,
    encoder: CachedEncoder | None = None,
) -> RepositoryResult:
    own = repos[repo]
    background = [i for other, issues in repos.items() if other != repo for i in issues]
    truth = np.array(_truth(own))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    hookwise: list[FoldResult] = []
    own_only: list[FoldResult] = []
    baseline: list[FoldResult] = []
    dense: list[FoldResult] = []
    for train_rows, test_rows in splitter.split(np.zeros(len(truth)), truth):
        train = [own[i] for i in train_rows]
        test = [own[i] for i in test_rows]
        hookwise.append(_hookwise_fold(train, test, background))
        own_only.append(_hookwise_fold(train, test, []))
        baseline.append(_baseline_fold(train, test))
        if encoder is not None:
            fold_encoder = _fold_encoder(encoder, background)
            dense.append(_hookwise_fold(train, test, background, encoder=fold_encoder))
    applied = sum(f.applied for f in hookwise)
    extra = _dense_fields(dense, len(own)) if dense else {}
    return RepositoryResult(
        repo=repo,
        hookwise=statistics.mean(f.macro_f1 for f in hookwise),
        own_only=statistics.mean(f.macro_f1 for f in own_only),
        baseline=statistics.mean(f.macro_f1 for f in baseline),
        hookwise_train_seconds=statistics.mean(f.train_seconds for f in hookwise),
        hookwise_train_cpu_seconds=statistics.mean(f.train_cpu_seconds for f in hookwise),
        baseline_train_seconds=statistics.mean(f.train_seconds for f in baseline),
        hookwise_predict_ms=statistics.mean(f.predict_ms_per_issue for f in hookwise),
        hookwise_predict_cpu_ms=statistics.mean(f.predict_cpu_ms_per_issue for f in hookwise),
        baseline_predict_ms=statistics.mean(f.predict_ms_per_issue for f in baseline),
        applied_share=applied / len(own),
        applied_precision=sum(f.applied_correct for f in hookwise) / applied if applied else 0.0,
        **extra,
    )


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repos", help="comma-separated subset of the repositories")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--embeddings", action="store_true", help="also the model with sentence embeddings"
    )
    parser.add_argument("--encoder-dir", type=Path, help="a local sentence-transformers model")
    parser.add_argument(
        "--vectors",
        type=Path,
        help="vectors from bench.triage.embed_corpus instead of an encoder (quality only: the "
        "embedding cost is not in the timings)",
    )
    args = parser.parse_args(argv)
    repos = by_repository(read_labelled_issues(args.data))
    chosen = args.repos.split(",") if args.repos else sorted(repos)
    encoder = (
        with_shipped_vectors(encoder_in(args.encoder_dir))
        if args.embeddings or args.encoder_dir
        else None
    )
    if args.vectors:
        encoder = CachedEncoder(PrecomputedEncoder.load(args.vectors))
    results = []
    for repo in chosen:
        result = evaluate_repository(repo, repos, folds=args.folds, seed=args.seed, encoder=encoder)
        results.append(result)
        if not args.json:
            print(
                f"{repo:<24} hookwise {result.hookwise:.3f}  own only {result.own_only:.3f}  "
                f"baseline {result.baseline:.3f}  | train {result.hookwise_train_seconds:.1f} s "
                f"(CPU {result.hookwise_train_cpu_seconds:.1f} s; baseline "
                f"{result.baseline_train_seconds:.2f} s), predict "
                f"{result.hookwise_predict_ms:.1f} ms/issue (CPU "
                f"{result.hookwise_predict_cpu_ms:.1f}; baseline "
                f"{result.baseline_predict_ms:.1f})  | labels applied to "
                f"{result.applied_share:.0%} at precision {result.applied_precision:.3f}",
                flush=True,
            )
            if result.dense is not None:
                print(
                    f"{'':<24} + embeddings {result.dense:.3f}  | train "
                    f"{result.dense_train_seconds:.1f} s (CPU {result.dense_train_cpu_seconds:.1f}"
                    f" s), predict {result.dense_predict_ms:.1f} ms/issue (CPU "
                    f"{result.dense_predict_cpu_ms:.1f})  | labels applied to "
                    f"{result.dense_applied_share:.0%} at precision "
                    f"{result.dense_applied_precision:.3f}",
                    flush=True,
                )
    means = {
        "hookwise": statistics.mean(r.hookwise for r in results),
        "own_only": statistics.mean(r.own_only for r in results),
        "baseline": statistics.mean(r.baseline for r in results),
    }
    if encoder is not None:
        means["embeddings"] = statistics.mean(r.dense or 0.0 for r in results)
    peak_rss_mb = _peak_rss_mb()
    if args.json:
        summary = {
            "folds": args.folds,
            "repositories": [asdict(r) for r in results],
            "mean_macro_f1": means,
            "peak_rss_mb": peak_rss_mb,
        }
        print(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
        return
    print(f"peak resident memory: {peak_rss_mb:.0f} MB")
    print(
        f"mean macro F1 ({args.folds}-fold CV): hookwise {means['hookwise']:.3f}, "
        f"own only {means['own_only']:.3f}, baseline TF-IDF+LR {means['baseline']:.3f}"
        + (f", with embeddings {means['embeddings']:.3f}" if "embeddings" in means else "")
    )


if __name__ == "__main__":
    main()
