"""TF-IDF features of an issue: word 1–2-grams and character 2–5-grams, of title and body apart.

A title is short and dense ("[Feature] …", "How to …?", "crash when …"), so it gets its own blocks
rather than drowning in the body. Character n-grams (`char_wb`) catch what word tokens split badly:
identifiers, inflections, "feat"/"feature", emoji. Each block is L2-normalised on its own, so each
weighs the same whatever its length.

A fitted space is only its vocabularies and IDF weights, plain lists and arrays, so a saved model
does not depend on the scikit-learn version (a pickle would).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from workers.agents.triage.issue_type.text import ModelText

FloatArray = npt.NDArray[np.float64]
# Below this many documents a term seen once is kept: small repositories have few words to spare.
_MIN_DOCS_FOR_PRUNING = 100


@dataclass(frozen=True, slots=True)
class Block:
    field: Literal["title", "body"]
    analyzer: Literal["word", "char_wb"]
    ngram_range: tuple[int, int]


BLOCKS: tuple[Block, ...] = (
    Block("title", "word", (1, 2)),
    Block("title", "char_wb", (2, 5)),
    Block("body", "word", (1, 2)),
    Block("body", "char_wb", (2, 5)),
)


def _vectorizer(block: Block, *, min_df: int = 1) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer=block.analyzer,
        ngram_range=block.ngram_range,
        sublinear_tf=True,
        lowercase=True,
        min_df=min_df,
        dtype=np.float64,
    )


def _field(text: ModelText, block: Block) -> str:
    return text.title if block.field == "title" else text.body


class FeatureSpace:
    """Fitted vocabularies and IDF weights, one per block of `BLOCKS`."""

    def __init__(self, vocabularies: Sequence[Sequence[str]], idfs: Sequence[FloatArray]) -> None:
        if len(vocabularies) != len(BLOCKS) or len(idfs) != len(BLOCKS):
            raise ValueError(f"expected {len(BLOCKS)} blocks")
        self._vectorizers: list[TfidfVectorizer] = []
        for block, terms, idf in zip(BLOCKS, vocabularies, idfs, strict=True):
            if len(terms) != len(idf):
                raise ValueError("vocabulary and IDF weights differ in length")
            vectorizer = _vectorizer(block)
            vectorizer.vocabulary_ = {term: index for index, term in enumerate(terms)}
            vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
            self._vectorizers.append(vectorizer)

    @classmethod
    def fit(cls, texts: Sequence[ModelText]) -> FeatureSpace:
        """Learn the vocabularies (terms in column order) and IDF weights from `texts`."""
        vocabularies: list[list[str]] = []
        idfs: list[FloatArray] = []
        for block in BLOCKS:
            min_df = 2 if block.field == "body" and len(texts) >= _MIN_DOCS_FOR_PRUNING else 1
            vectorizer = _vectorizer(block, min_df=min_df)
            vectorizer.fit([_field(text, block) for text in texts])
            vocabularies.append([str(term) for term in vectorizer.get_feature_names_out()])
            idfs.append(np.asarray(vectorizer.idf_, dtype=np.float64))
        return cls(vocabularies, idfs)

    @property
    def vocabularies(self) -> list[list[str]]:
        return [[str(term) for term in v.get_feature_names_out()] for v in self._vectorizers]

    @property
    def idfs(self) -> list[FloatArray]:
        return [np.asarray(v.idf_, dtype=np.float64) for v in self._vectorizers]

    @property
    def n_features(self) -> int:
        return sum(len(v.vocabulary_) for v in self._vectorizers)

    def transform(self, texts: Sequence[ModelText]) -> sparse.csr_matrix:
        blocks = [
            vectorizer.transform([_field(text, block) for text in texts])
            for block, vectorizer in zip(BLOCKS, self._vectorizers, strict=True)
        ]
        return sparse.hstack(blocks, format="csr")
