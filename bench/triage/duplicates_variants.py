"""Lexical ranking variants for duplicates, tried against the shipped TF-IDF `t̂ + f̂` cosine.

    .venv/bin/python -m bench.triage.duplicates_variants [--issues FILE] [--pairs FILE]

Same protocol as `bench.triage.duplicates` (rank every other issue of the project for each known
pair; Recall@1/5/10), on the same terms (`issue_term_counts`), with the similarity computed as
matrices rather than through the incremental index. For each variant: its figures under the
shipped time prior, and, last, a nested cross-validation in which the variant *and* the prior
are chosen on four folds of pairs and the fifth is ranked with that choice (3 fold seeds), so a
variant that only fits these 125 pairs does not look better than it is.

Variants: BM25 with title/body fields (BM25F-style: title counts weighted), the title's unit
vector weighted in `a·t̂ + f̂`, the cosine fused with latent semantic analysis (truncated SVD of
the TF-IDF vectors), and a light suffix-stripping stemmer on the terms.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD

from workers.agents.triage.duplicates.evaluation import (
    PRIOR_GRID,
    fold_assignment,
    usable_pairs,
)
from workers.agents.triage.duplicates.files import read_issues, read_pairs
from workers.agents.triage.duplicates.index import DEFAULT_PRIOR, TimePrior, time_prior_factors
from workers.agents.triage.duplicates.text import issue_term_counts

DATA = Path("../shared/datasets/duplicates-hadoop")
FloatArray = np.ndarray
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ed", "es", "s", "ly")


def light_stem(term: str) -> str:
    """Strip one common English suffix from alphabetic words longer than four letters."""
    if not term.isalpha() or len(term) <= 4:
        return term
    for suffix in _SUFFIXES:
        if term.endswith(suffix) and len(term) - len(suffix) >= 3:
            return term[: -len(suffix)]
    return term


class Corpus:
    """Term-count matrices of titles and whole texts, and the pairs as row numbers."""

    def __init__(
        self, title_counts: Sequence[Counter[str]], full_counts: Sequence[Counter[str]]
    ) -> None:
        vocabulary: dict[str, int] = {}
        self.title = self._matrix(title_counts, vocabulary)
        self.full = self._matrix(full_counts, vocabulary)
        self.full.resize(self.full.shape[0], len(vocabulary))
        self.title.resize(self.title.shape[0], len(vocabulary))
        count = self.full.shape[0]
        document_frequency = np.asarray((self.full > 0).sum(axis=0)).ravel()
        self.idf = np.log((1 + count) / (1 + document_frequency)) + 1
        self.bm25_idf = np.log(1 + (count - document_frequency + 0.5) / (document_frequency + 0.5))

    @staticmethod
    def _matrix(counts: Sequence[Counter[str]], vocabulary: dict[str, int]) -> sparse.csr_matrix:
        rows, cols, values = [], [], []
        for row, counter in enumerate(counts):
            for term, value in counter.items():
                rows.append(row)
                cols.append(vocabulary.setdefault(term, len(vocabulary)))
                values.append(value)
        return sparse.csr_matrix((values, (rows, cols)), dtype=np.float64)


def _unit_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sparse.diags(1 / np.where(norms > 0, norms, 1)) @ matrix


def _sublinear(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    result = matrix.copy().tocsr()
    result.data = 1 + np.log(result.data)
    return result


def cosine_vectors(corpus: Corpus, *, title_weight: float = 1.0) -> sparse.csr_matrix:
    idf = sparse.diags(corpus.idf)
    title = _unit_rows(_sublinear(corpus.title) @ idf)
    full = _unit_rows(_sublinear(corpus.full) @ idf)
    return _unit_rows(title_weight * title + full)


def bm25_scores(
    corpus: Corpus, queries: FloatArray, *, k1: float, b: float, title_weight: float
) -> FloatArray:
    fields = (title_weight * corpus.title + (corpus.full - corpus.title)).tocsr()
    lengths = np.asarray(fields.sum(axis=1)).ravel()
    per_entry = np.repeat(lengths / lengths.mean(), np.diff(fields.indptr))
    saturated = fields.copy()
    saturated.data = fields.data * (k1 + 1) / (fields.data + k1 * (1 - b + b * per_entry))
    documents = saturated @ sparse.diags(corpus.bm25_idf)
    return np.asarray((_sublinear(fields[queries]) @ documents.T).toarray())


def _weighted_cosine(
    corpus: Corpus, queries: FloatArray, *, title_weight: float = 1.0
) -> FloatArray:
    vectors = cosine_vectors(corpus, title_weight=title_weight)
    return np.asarray((vectors[queries] @ vectors.T).toarray())


def _fused(lexical: FloatArray, latent: FloatArray, *, weight: float) -> FloatArray:
    return np.asarray((lexical + weight * latent) / (1 + weight))


def ranks(
    similarity: FloatArray,
    queries: FloatArray,
    targets: FloatArray,
    created_days: FloatArray,
    prior: TimePrior,
) -> FloatArray:
    gaps = np.abs(created_days[None, :] - created_days[queries][:, None])
    scores = similarity * time_prior_factors(gaps, prior)
    scores[np.arange(len(queries)), queries] = -np.inf
    target_scores = scores[np.arange(len(queries)), targets]
    return np.asarray((scores >= target_scores[:, None]).sum(axis=1) - 1)


def recall(positions: FloatArray) -> dict[int, float]:
    return {k: float(np.mean(positions < k)) for k in (1, 5, 10)}


def nested_cross_validation(
    all_ranks: dict[tuple[str, TimePrior], FloatArray], *, seeds: Sequence[int] = (0, 1, 2)
) -> tuple[dict[int, float], Counter[str]]:
    """Variant and prior chosen on 4 folds of pairs (best Recall@1 + Recall@5), the 5th ranked."""
    count = len(next(iter(all_ranks.values())))
    results: list[dict[int, float]] = []
    chosen: Counter[str] = Counter()
    for seed in seeds:
        assignment = np.array(fold_assignment(count, folds=5, seed=seed))
        held_out = np.zeros(count)
        for fold in range(5):
            train = assignment != fold

            def key(choice: tuple[str, TimePrior], train: FloatArray = train) -> float:
                positions = all_ranks[choice][train]
                return float(np.mean(positions < 1) + np.mean(positions < 5))

            best = max(all_ranks, key=key)
            chosen[best[0]] += 1
            held_out[~train] = all_ranks[best][~train]
        results.append(recall(held_out))
    return {k: float(np.mean([r[k] for r in results])) for k in (1, 5, 10)}, chosen


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=Path, default=DATA / "issues.csv")
    parser.add_argument("--pairs", type=Path, default=DATA / "pairs.csv")
    args = parser.parse_args(argv)
    issues = read_issues(args.issues)
    slot = {issue.id: row for row, issue in enumerate(issues)}
    pairs = usable_pairs(read_pairs(args.pairs), set(slot))
    queries = np.array([slot[p.query_id] for p in pairs])
    targets = np.array([slot[p.duplicate_id] for p in pairs])
    created = np.array(
        [i.created_at.timestamp() / 86_400 if i.created_at else np.nan for i in issues]
    )
    counts = [issue_term_counts(i.title, i.body) for i in issues]
    corpus = Corpus([t for t, _ in counts], [f for _, f in counts])

    def stemmed(counter: Counter[str]) -> Counter[str]:
        result: Counter[str] = Counter()
        for term, value in counter.items():
            result[light_stem(term)] += value
        return result

    stem_corpus = Corpus([stemmed(t) for t, _ in counts], [stemmed(f) for _, f in counts])

    def cosine(vectors: sparse.csr_matrix) -> FloatArray:
        return np.asarray((vectors[queries] @ vectors.T).toarray())

    base_vectors = cosine_vectors(corpus)
    base = cosine(base_vectors)
    variants: dict[str, Callable[[], FloatArray]] = {"shipped cosine t̂ + f̂": lambda: base}
    for k1 in (0.8, 1.2, 2.0):
        for b in (0.5, 0.75, 1.0):
            for weight in (1.0, 2.0, 3.0):
                variants[f"BM25F k1={k1} b={b} title×{weight:g}"] = partial(
                    bm25_scores, corpus, queries, k1=k1, b=b, title_weight=weight
                )
    for weight in (0.5, 1.5, 2.0):
        variants[f"cosine {weight:g}·t̂ + f̂"] = partial(
            _weighted_cosine, corpus, queries, title_weight=weight
        )
    for dimensions in (100, 200, 400):
        latent = TruncatedSVD(dimensions, random_state=0).fit_transform(base_vectors)
        latent /= np.linalg.norm(latent, axis=1, keepdims=True) + 1e-12
        for weight in (0.25, 0.5, 1.0):
            variants[f"cosine + {weight:g}·LSA{dimensions}"] = partial(
                _fused, base, latent[queries] @ latent.T, weight=weight
            )
    variants["cosine, light stemming"] = partial(_weighted_cosine, stem_corpus, queries)

    all_ranks: dict[tuple[str, TimePrior], FloatArray] = {}
    print(f"{'variant':<34} R@1   R@5   R@10  (shipped prior)")
    for name, similarity in variants.items():
        scores = similarity()
        for prior in PRIOR_GRID:
            all_ranks[(name, prior)] = ranks(scores, queries, targets, created, prior)
        shipped = recall(ranks(scores, queries, targets, created, DEFAULT_PRIOR))
        print(f"{name:<34} {shipped[1]:.3f} {shipped[5]:.3f} {shipped[10]:.3f}", flush=True)
    only_shipped = {key: value for key, value in all_ranks.items() if key[0].startswith("shipped")}
    for label, candidates in (("shipped, prior", only_shipped), ("any variant, prior", all_ranks)):
        figures, chosen = nested_cross_validation(candidates)
        print(
            f"nested 5-fold CV, chosen on training pairs: {label}: R@1 {figures[1]:.3f} "
            f"R@5 {figures[5]:.3f} R@10 {figures[10]:.3f}; chosen {dict(chosen)}"
        )


if __name__ == "__main__":
    main()
