"""Rebuild the shipped background corpus of the issue-type classifier from the NLBSE'24 split.

    .venv/bin/python -m bench.triage.prior_corpus [--data FILE]

Writes `workers/agents/triage/issue_type/nlbse24_train.jsonl.gz`: one JSON object per issue with
repo, label, title, body, created_at; text sanitized (`workers.agents.untrusted.sanitize`), bodies
capped at 12,000 characters (the model reads the first 3,000 after cleaning, and cleaning can
shrink a body a lot). gzip's timestamp is zeroed so a rebuild from the same data is byte-identical.
"""

from __future__ import annotations

import argparse
import gzip
from collections.abc import Sequence
from pathlib import Path

import orjson

from workers.agents.triage.issue_type import prior
from workers.agents.triage.issue_type.files import read_labelled_issues
from workers.agents.untrusted import sanitize

DEFAULT_DATA = Path("../shared/datasets/nlbse24/issues_train.csv")
TITLE_MAX_CHARS = 500
BODY_MAX_CHARS = 12_000


def corpus_bytes(data: Path) -> bytes:
    lines = [
        orjson.dumps(
            {
                "repo": issue.repo,
                "label": ",".join(issue.labels),
                "title": sanitize(issue.title, max_chars=TITLE_MAX_CHARS),
                "body": sanitize(issue.body, max_chars=BODY_MAX_CHARS)[:BODY_MAX_CHARS],
                "created_at": issue.created_at.isoformat() if issue.created_at else "",
            }
        )
        for issue in read_labelled_issues(data)
    ]
    return gzip.compress(b"\n".join(lines) + b"\n", compresslevel=9, mtime=0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    target = Path(prior.__file__).with_name(prior.CORPUS_RESOURCE)
    target.write_bytes(corpus_bytes(args.data))
    print(f"{target}: {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
