"""Save and load a `TypeModel` as one `.npz` file of plain arrays and JSON.

No pickle: a pickled scikit-learn object only loads under the version that wrote it, and loading a
pickle runs code. Here a model is its vocabularies, IDF weights, linear weights and calibration,
which any later numpy reads back (`allow_pickle=False`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from workers.agents.triage.issue_type.calibration import Calibration, ThresholdChoice
from workers.agents.triage.issue_type.embeddings import TextEncoder
from workers.agents.triage.issue_type.features import BLOCKS, FeatureSpace
from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.model import DenseHead, TrainingSummary, TypeModel

# Bump when features or text cleaning change meaning: an old file would silently mispredict.
FORMAT_VERSION = 1
# A model with a sentence-embedding part: code that reads only version 1 would ignore that part
# and mispredict, so such a file says it needs newer code.
DENSE_FORMAT_VERSION = 2


class ModelFormatError(ValueError):
    """A file that is not a type model this code can use."""


def _json_array(value: Any) -> npt.NDArray[np.uint8]:
    return np.frombuffer(orjson.dumps(value), dtype=np.uint8)


def _from_json_array(array: npt.NDArray[np.uint8]) -> Any:
    return orjson.loads(array.tobytes())


def model_bytes(model: TypeModel) -> bytes:
    """The model as the bytes of a compressed `.npz` file."""
    summary = model.summary
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION if model.dense is None else DENSE_FORMAT_VERSION,
        "labels": list(model.labels.names),
        "canonical": dict(model.labels.canonical),
        "source": summary.source,
        "issues_per_label": summary.issues_per_label,
        "background_issues": summary.background_issues,
        "cv_macro_f1": summary.cv_macro_f1,
        "threshold": {
            "threshold": summary.threshold.threshold,
            "precision": summary.threshold.precision,
            "coverage": summary.threshold.coverage,
            "target_precision": summary.threshold.target_precision,
        },
    }
    arrays: dict[str, npt.NDArray[Any]] = {
        "meta": _json_array(meta),
        # float32 halves the file; the predictions do not notice.
        "weights": model.weights.astype(np.float32),
        "intercept": model.intercept,
        "calibration_weights": model.calibration.weights,
        "calibration_bias": model.calibration.bias,
    }
    if model.dense is not None:
        meta["dense"] = {
            "encoder": model.dense.encoder_name,
            "lexical_scale": model.dense.lexical_scale,
            "dense_scale": model.dense.dense_scale,
            "weight": model.dense.weight,
        }
        arrays["meta"] = _json_array(meta)
        arrays["dense_weights"] = model.dense.weights.astype(np.float32)
        arrays["dense_intercept"] = model.dense.intercept
    for index, (terms, idf) in enumerate(
        zip(model.features.vocabularies, model.features.idfs, strict=True)
    ):
        arrays[f"vocabulary_{index}"] = _json_array(terms)
        arrays[f"idf_{index}"] = idf.astype(np.float32)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def _dense_head(meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> DenseHead | None:
    if "dense" not in meta:
        return None
    dense = meta["dense"]
    return DenseHead(
        encoder_name=str(dense["encoder"]),
        weights=arrays["dense_weights"].astype(np.float64),
        intercept=arrays["dense_intercept"],
        lexical_scale=float(dense["lexical_scale"]),
        dense_scale=float(dense["dense_scale"]),
        weight=float(dense["weight"]),
    )


def model_from_bytes(data: bytes, *, encoder: TextEncoder | None = None) -> TypeModel:
    """The model of `model_bytes`; `ModelFormatError` for anything else. A model with a
    sentence-embedding part predicts only with its `encoder` (see `TypeModel.with_encoder`)."""
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
        arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as error:
        raise ModelFormatError(f"not a type model file: {error}") from error
    if "meta" not in arrays:
        raise ModelFormatError("not a type model file: no metadata")
    meta = _from_json_array(arrays["meta"])
    if meta.get("format") not in (FORMAT_VERSION, DENSE_FORMAT_VERSION):
        raise ModelFormatError(
            f"type model format {meta.get('format')!r}; this version reads "
            f"{FORMAT_VERSION} and {DENSE_FORMAT_VERSION}: retrain"
        )
    features = FeatureSpace(
        [_from_json_array(arrays[f"vocabulary_{i}"]) for i in range(len(BLOCKS))],
        [arrays[f"idf_{i}"].astype(np.float64) for i in range(len(BLOCKS))],
    )
    threshold = meta["threshold"]
    model = TypeModel(
        labels=TypeLabels(names=tuple(meta["labels"]), canonical=meta["canonical"]),
        features=features,
        weights=arrays["weights"].astype(np.float64),
        intercept=arrays["intercept"],
        calibration=Calibration(
            weights=arrays["calibration_weights"], bias=arrays["calibration_bias"]
        ),
        summary=TrainingSummary(
            source=meta["source"],
            issues_per_label=meta["issues_per_label"],
            background_issues=meta["background_issues"],
            cv_macro_f1=meta["cv_macro_f1"],
            threshold=ThresholdChoice(**threshold),
        ),
        dense=_dense_head(meta, arrays),
    )
    return model if encoder is None or model.dense is None else model.with_encoder(encoder)


def save_model(model: TypeModel, path: Path) -> None:
    path.write_bytes(model_bytes(model))


def load_model(path: Path, *, encoder: TextEncoder | None = None) -> TypeModel:
    return model_from_bytes(path.read_bytes(), encoder=encoder)
