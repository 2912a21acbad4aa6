"""The sentence-embedding part of the type model, with a stand-in encoder (no torch needed), and
the real encoder (the test command installs the `dense` extra; without it that test fails)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from workers.agents.triage.issue_type.embeddings import (
    MINILM_NAME,
    CachedEncoder,
    embedding_text,
    shipped_vectors,
    with_shipped_vectors,
)
from workers.agents.triage.issue_type.evaluation import evaluate_model
from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.model import (
    EncoderRequiredError,
    LabelledIssue,
    TypeModel,
    train_type_model,
)
from workers.agents.triage.issue_type.prior import shipped_corpus
from workers.agents.triage.issue_type.storage import (
    DENSE_FORMAT_VERSION,
    load_model,
    model_bytes,
    model_from_bytes,
    save_model,
)

LABELS = TypeLabels.of(["bug", "feature", "question"])


class HashingEncoder:
    """Deterministic unit vectors of hashed words: a stand-in for a sentence model."""

    def __init__(self, name: str = "hashing-test") -> None:
        self._name = name
        self._vectorizer = HashingVectorizer(n_features=64, alternate_sign=False, norm="l2")
        self.calls: list[int] = []

    @property
    def name(self) -> str:
        return self._name

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(len(texts))
        return np.asarray(self._vectorizer.transform(list(texts)).toarray(), dtype=np.float32)


def _react(issues: list[LabelledIssue]) -> list[LabelledIssue]:
    return [i for i in issues if i.repo == "facebook/react"]


@pytest.fixture(scope="module")
def dense_model(nlbse_train_slice: list[LabelledIssue]) -> TypeModel:
    return train_type_model(
        _react(nlbse_train_slice),
        labels=LABELS,
        background=[i for i in nlbse_train_slice if i.repo == "opencv/opencv"],
        encoder=HashingEncoder(),
    )


def test_embedding_text_is_the_visible_prose_of_the_issue() -> None:
    hidden = "<!-- hidden: feature feature -->"
    body = hidden + "It cra\u200bshes\n\n```\nTraceback x\n```\n" + "a" * 5000
    text = embedding_text("App  crashes", body)
    assert text.startswith("App  crashes\nIt crashes [code]")
    assert "hidden" not in text
    assert "Traceback" not in text
    assert len(text) < 1_100


def test_the_cache_encodes_each_text_once_and_forgets_the_oldest() -> None:
    inner = HashingEncoder()
    cached = CachedEncoder(inner, max_entries=3)
    first = cached.encode(["a b", "c d", "a b"])
    assert inner.calls == [2]
    assert np.allclose(first[0], first[2])
    assert np.allclose(cached.encode(["c d"]), first[1])
    assert inner.calls == [2]
    cached.encode(["e", "f"])
    assert len(cached) == 3
    cached.encode(["a b"])  # the oldest, evicted
    assert inner.calls == [2, 2, 1]


def test_shipped_vectors_match_the_shipped_corpus() -> None:
    vectors = shipped_vectors()
    assert vectors.shape == (len(shipped_corpus()), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    inner = HashingEncoder(name=MINILM_NAME)
    cached = with_shipped_vectors(inner)
    corpus = shipped_corpus()[:5]
    texts = [embedding_text(i.title, i.body) for i in corpus]
    assert np.allclose(cached.encode(texts), vectors[:5])
    assert inner.calls == []
    # Another model's vectors are never mixed in.
    assert len(with_shipped_vectors(HashingEncoder())) == 0


def test_a_model_with_embeddings_fuses_them_and_beats_chance(
    dense_model: TypeModel, nlbse_test_slice: list[LabelledIssue]
) -> None:
    assert dense_model.dense is not None
    assert dense_model.dense.encoder_name == "hashing-test"
    assert dense_model.dense.lexical_scale > 0
    assert dense_model.dense.dense_scale > 0
    result = evaluate_model(dense_model, _react(nlbse_test_slice))
    assert result.macro_f1 > 0.6
    for prediction in dense_model.predict(_react(nlbse_test_slice)):
        assert 0.0 <= prediction.confidence <= 1.0
        assert abs(sum(prediction.probabilities.values()) - 1.0) < 1e-6


def test_untrusted_input_predicts_with_embeddings(dense_model: TypeModel) -> None:
    class Issue:
        def __init__(self, title: str, body: str) -> None:
            self.title, self.body = title, body

    junk = bytes(range(256)).decode("latin-1") * 40_000
    issues = [Issue("\x00\ud800", junk), Issue("", ""), Issue("crash", "x" * 10_000_000)]
    for prediction in dense_model.predict(issues):
        assert 0.0 <= prediction.confidence <= 1.0


def test_a_saved_model_with_embeddings_needs_its_encoder(
    dense_model: TypeModel, nlbse_test_slice: list[LabelledIssue], tmp_path: Path
) -> None:
    path = tmp_path / "dense.npz"
    save_model(dense_model, path)
    test = _react(nlbse_test_slice)
    without = load_model(path)
    assert without.dense is not None
    with pytest.raises(EncoderRequiredError):
        without.predict(test)
    with pytest.raises(ValueError, match="hashing-test"):
        without.with_encoder(HashingEncoder(name="another-model"))
    loaded = load_model(path, encoder=HashingEncoder())
    assert np.allclose(loaded.probabilities(test), dense_model.probabilities(test), atol=1e-4)


def test_format_versions_tell_lexical_and_dense_models_apart(
    dense_model: TypeModel, nlbse_train_slice: list[LabelledIssue]
) -> None:
    dense_meta = np.load(io.BytesIO(model_bytes(dense_model)))["meta"]
    assert f'"format":{DENSE_FORMAT_VERSION}' in dense_meta.tobytes().decode()
    lexical = train_type_model(_react(nlbse_train_slice), labels=LABELS)
    assert lexical.dense is None
    assert lexical.encoder is None
    assert model_from_bytes(model_bytes(lexical)).dense is None


def test_the_real_encoder_embeds_offline() -> None:
    from workers.agents.triage.issue_type.embeddings import SentenceEncoder

    encoder = SentenceEncoder()
    vectors = encoder.encode(["App crashes on start", "Support dark mode"])
    assert encoder.name == MINILM_NAME
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
