"""Issue text as the type classifier sees it.

The text is untrusted: `sanitize` drops what GitHub's rendered page hides (HTML comments, invisible
characters) and caps its length. Then what carries no type signal but floods the vocabulary is
replaced by one placeholder word each: pasted code and logs, URLs, hashes and numbers. The fact
that a body *has* a code block or a URL is kept; it is a signal (bugs paste traces, features link
docs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workers.agents.untrusted import sanitize

TITLE_MAX_CHARS = 500
# The head of a body (the template's answers, the first paragraph) decides its type; a long log
# pasted below it adds cost, not signal.
BODY_MAX_CHARS = 3_000
# `sanitize` keeps a huge body's head and tail; only the head is used, so little is worth decoding.
_SANITIZE_MAX_CHARS = 4 * BODY_MAX_CHARS

_FENCED_CODE = re.compile(r"(?:```|~~~).*?(?:```|~~~|\Z)", re.DOTALL)
_URL = re.compile(r"https?://\S+")
_HEX = re.compile(r"\b[0-9a-fA-F]{7,}\b")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)*\b")


@dataclass(frozen=True, slots=True)
class ModelText:
    """The two fields the model reads, cleaned."""

    title: str
    body: str


def clean_body(body: str) -> str:
    """Placeholders for code, URLs, hashes and numbers; cut to the first `BODY_MAX_CHARS`."""
    text = _FENCED_CODE.sub(" xxcode ", body)
    text = _URL.sub(" xxurl ", text)
    text = _HEX.sub(" xxhex ", text)
    text = _NUMBER.sub(" xxnum ", text)
    return text[:BODY_MAX_CHARS]


def model_text(title: str | bytes | None, body: str | bytes | None) -> ModelText:
    """The cleaned title and body of one issue, from raw untrusted input."""
    return ModelText(
        # `sanitize` marks a cut with an ellipsis line, a few characters over its cap.
        title=sanitize(title, max_chars=TITLE_MAX_CHARS)[:TITLE_MAX_CHARS],
        body=clean_body(sanitize(body, max_chars=_SANITIZE_MAX_CHARS)),
    )
