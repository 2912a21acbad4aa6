"""all-MiniLM-L6-v2 exported to ONNX: the same vectors as under torch (full precision), close ones
in int8, and usable wherever an encoder is (the test command installs the `dense` extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from service.cli import app
from workers.agents.triage.issue_type.embeddings import (
    MINILM_NAME,
    SentenceEncoder,
    embedding_text,
    with_shipped_vectors,
)
from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.model import LabelledIssue, train_type_model
from workers.agents.triage.issue_type.onnx_encoder import (
    CORPUS_VECTORS_FILE,
    OnnxEncoder,
    export_minilm,
    is_onnx_encoder,
)

LABELS = TypeLabels.of(["bug", "feature", "question"])


def _texts(issues: list[LabelledIssue]) -> list[str]:
    return [embedding_text(i.title, i.body) for i in issues]


@pytest.fixture(scope="module")
def corpus(nlbse_train_slice: list[LabelledIssue]) -> list[LabelledIssue]:
    return nlbse_train_slice[::5]


@pytest.fixture(scope="module")
def torch_vectors(corpus: list[LabelledIssue]) -> np.ndarray:
    return SentenceEncoder().encode(_texts(corpus))


@pytest.fixture(scope="module")
def int8_dir(tmp_path_factory: pytest.TempPathFactory, corpus: list[LabelledIssue]) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "int8"
    export_minilm(out, corpus=corpus)
    return out


def test_full_precision_export_computes_the_torch_vectors(
    minilm_fp32_dir: Path, corpus: list[LabelledIssue], torch_vectors: np.ndarray
) -> None:
    encoder = OnnxEncoder(minilm_fp32_dir)
    assert encoder.name == f"{MINILM_NAME}-onnx-fp32"
    vectors = encoder.encode(_texts(corpus))
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.min() > 0.9999


def test_int8_export_stays_close_and_has_its_own_name(
    int8_dir: Path, corpus: list[LabelledIssue], torch_vectors: np.ndarray
) -> None:
    assert is_onnx_encoder(int8_dir)
    assert not is_onnx_encoder(int8_dir.parent)
    encoder = OnnxEncoder(int8_dir)
    assert encoder.name == f"{MINILM_NAME}-onnx-int8"
    vectors = encoder.encode(_texts(corpus))
    assert vectors.shape == torch_vectors.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.mean() > 0.9
    # A text's vector does not depend on the texts encoded with it.
    one_by_one = np.vstack([encoder.encode([text]) for text in _texts(corpus)[:4]])
    np.testing.assert_allclose(one_by_one, vectors[:4], atol=1e-6)
    assert encoder.encode([]).shape == (0, 0)


def test_stored_corpus_vectors_are_used_only_for_their_own_texts(
    int8_dir: Path, corpus: list[LabelledIssue]
) -> None:
    encoder = OnnxEncoder(int8_dir)
    texts = _texts(corpus)
    stored = encoder.corpus_vectors(texts)
    assert stored is not None
    assert (int8_dir / CORPUS_VECTORS_FILE).is_file()
    np.testing.assert_allclose(stored, encoder.encode(texts), atol=2e-3)
    assert encoder.corpus_vectors(texts[:-1]) is None
    # The shipped corpus is not the one stored here: nothing is remembered for it.
    assert len(with_shipped_vectors(encoder)) == 0


def test_a_model_trained_with_the_int8_encoder_refuses_another_encoder(
    int8_dir: Path, nlbse_train_slice: list[LabelledIssue]
) -> None:
    react = [i for i in nlbse_train_slice if i.repo == "facebook/react"]
    model = train_type_model(react, labels=LABELS, encoder=OnnxEncoder(int8_dir))
    assert model.dense is not None
    assert model.dense.encoder_name == f"{MINILM_NAME}-onnx-int8"
    with pytest.raises(ValueError, match="onnx-int8"):
        model.with_encoder(SentenceEncoder())


def test_cli_trains_and_predicts_with_an_exported_encoder(
    int8_dir: Path, nlbse_train_csv: Path, nlbse_test_csv: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    model = tmp_path / "onnx.npz"
    trained = runner.invoke(
        app,
        [
            "triage",
            "train",
            "--issues",
            str(nlbse_train_csv),
            "--out",
            str(model),
            "--no-background",
            "--encoder-dir",
            str(int8_dir),
        ],
    )
    assert trained.exit_code == 0, trained.output
    predicted = runner.invoke(
        app,
        [
            "triage",
            "predict",
            "--model",
            str(model),
            "--issues",
            str(nlbse_test_csv),
            "--encoder-dir",
            str(int8_dir),
        ],
    )
    assert predicted.exit_code == 0, predicted.output
    mean = float(predicted.output.strip().splitlines()[-1].rsplit(" ", 1)[1])
    assert mean > 0.6
