"""Embed every issue of a labelled file once, for quality experiments with slow encoders.

    python -m bench.triage.embed_corpus --out VECTORS.npz [--data FILE] [--encoder-dir DIR]

Writes the texts' vectors (the library's `embedding_text` of each issue, so `classify --vectors`
finds them) and the encoder's name. Needs the `dense` extra. all-mpnet-base-v2 takes about 600 ms
of CPU per issue on a 2-core machine: too slow to embed afresh in every fold of a benchmark, fine
to embed once.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.triage.classify import DEFAULT_DATA
from workers.agents.triage.issue_type.embeddings import SentenceEncoder, embedding_text
from workers.agents.triage.issue_type.files import read_labelled_issues


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--encoder-dir", type=Path, help="a local sentence-transformers model")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    encoder = SentenceEncoder(directory=args.encoder_dir)
    texts = [embedding_text(i.title, i.body) for i in read_labelled_issues(args.data)]
    started, cpu = time.perf_counter(), time.process_time()
    vectors = encoder.encode(texts)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    np.savez_compressed(
        args.out, texts=np.array(texts), vectors=vectors, name=np.array(encoder.name)
    )
    print(
        f"{encoder.name}: {len(texts)} issues, {1000 * wall / len(texts):.0f} ms/issue "
        f"wall-clock, {1000 * cpu / len(texts):.0f} ms/issue CPU"
    )


if __name__ == "__main__":
    main()
