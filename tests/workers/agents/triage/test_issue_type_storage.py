from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import orjson
import pytest

from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.model import LabelledIssue, train_type_model
from workers.agents.triage.issue_type.storage import (
    ModelFormatError,
    load_model,
    model_bytes,
    model_from_bytes,
    save_model,
)


def test_a_saved_model_loads_with_the_same_predictions_and_summary(
    nlbse_train_slice: list[LabelledIssue], nlbse_test_slice: list[LabelledIssue], tmp_path: Path
) -> None:
    react = [i for i in nlbse_train_slice if i.repo == "facebook/react"]
    model = train_type_model(react, labels=TypeLabels.of(["bug", "feature", "question"]))
    path = tmp_path / "model.npz"
    save_model(model, path)
    loaded = load_model(path)
    # Weights are stored as float32: equal to float32 precision, same decisions.
    assert np.allclose(
        loaded.probabilities(nlbse_test_slice), model.probabilities(nlbse_test_slice), atol=1e-4
    )
    assert [p.label for p in loaded.predict(nlbse_test_slice)] == [
        p.label for p in model.predict(nlbse_test_slice)
    ]
    assert loaded.summary == model.summary
    assert loaded.labels == model.labels


def test_garbage_is_not_a_model() -> None:
    with pytest.raises(ModelFormatError):
        model_from_bytes(b"not a zip file")


def test_an_other_format_version_is_refused(nlbse_train_slice: list[LabelledIssue]) -> None:
    react = [i for i in nlbse_train_slice if i.repo == "facebook/react"]
    data = model_bytes(
        train_type_model(react, labels=TypeLabels.of(["bug", "feature", "question"]))
    )
    arrays = dict(np.load(io.BytesIO(data), allow_pickle=False))
    meta = orjson.loads(arrays["meta"].tobytes())
    arrays["meta"] = np.frombuffer(orjson.dumps({**meta, "format": 999}), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    with pytest.raises(ModelFormatError, match="format 999"):
        model_from_bytes(buffer.getvalue())
