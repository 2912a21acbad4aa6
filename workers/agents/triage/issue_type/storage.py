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
from workers.agents.triage.issue_type.features import BLOCKS, FeatureSpace
from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.model import TrainingSummary, TypeModel

# Bump when features or text cleaning change meaning: an old file would silently mispredict.
FORMAT_VERSION = 1


class ModelFormatError(ValueError):
    """A file that is not a type model this code can use."""


def _json_array(value: Any) -> npt.NDArray[np.uint8]:
    return np.frombuffer(orjson.dumps(value), dtype=np.uint8)


def _from_json_array(array: npt.NDArray[np.uint8]) -> Any:
    return orjson.loads(array.tobytes())


def model_bytes(model: TypeModel) -> bytes:
    """The model as the bytes of a compressed `.npz` file."""
    summary = model.summary
    meta = {
        "format": FORMAT_VERSION,
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
    for index, (terms, idf) in enumerate(
        zip(model.features.vocabularies, model.features.idfs, strict=True)
    ):
        arrays[f"vocabulary_{index}"] = _json_array(terms)
        arrays[f"idf_{index}"] = idf.astype(np.float32)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def model_from_bytes(data: bytes) -> TypeModel:
    """The model of `model_bytes`; `ModelFormatError` for anything else."""
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
        arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as error:
        raise ModelFormatError(f"not a type model file: {error}") from error
    if "meta" not in arrays:
        raise ModelFormatError("not a type model file: no metadata")
    meta = _from_json_array(arrays["meta"])
    if meta.get("format") != FORMAT_VERSION:
        raise ModelFormatError(
            f"type model format {meta.get('format')!r}; this version reads "
            f"{FORMAT_VERSION}: retrain"
        )
    features = FeatureSpace(
        [_from_json_array(arrays[f"vocabulary_{i}"]) for i in range(len(BLOCKS))],
        [arrays[f"idf_{i}"].astype(np.float64) for i in range(len(BLOCKS))],
    )
    threshold = meta["threshold"]
    return TypeModel(
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
    )


def save_model(model: TypeModel, path: Path) -> None:
    path.write_bytes(model_bytes(model))


def load_model(path: Path) -> TypeModel:
    return model_from_bytes(path.read_bytes())
