"""Untrusted text (issue bodies, diffs, comments, logs) is data, never instructions.

Before such text reaches a model or a classifier it loses what a human reader of GitHub's rendered
page would not see: HTML comments (GitHub hides them), zero-width and bidi control characters (used
to smuggle instructions or to split words), NUL bytes and other control characters. Bodies are also
capped so one huge paste cannot dominate memory or a model's context.
"""

from __future__ import annotations

import re
import unicodedata

DEFAULT_MAX_CHARS = 20_000

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# Zero-width, bidi embedding/override/isolate marks, word joiner, BOM, soft hyphen, tag characters.
_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\U000e0000-\U000e007f]"
)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_html_comments(text: str) -> str:
    """Remove `<!-- … -->` blocks; an unterminated comment hides the rest, as on GitHub."""
    return _HTML_COMMENT.sub("", text)


def strip_invisible(text: str) -> str:
    """Remove invisible format characters and control characters other than tab and newline."""
    return _CONTROL.sub("", _INVISIBLE.sub("", text))


def decode(data: bytes | str) -> str:
    """Bytes from the outside world as text; invalid UTF-8 becomes U+FFFD instead of an error."""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")


def truncate(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Keep the head and the tail of an over-long text: titles, templates and stack traces sit at
    the start, and the final error usually at the end."""
    if len(text) <= max_chars:
        return text
    head = max_chars * 3 // 4
    tail = max_chars - head
    return f"{text[:head]}\n…\n{text[-tail:]}"


def sanitize(data: bytes | str | None, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Text fit for a model: decoded, comments and invisible characters removed, NFC, capped."""
    if not data:
        return ""
    text = decode(data)
    # Cap before the regexes too, so a 100 MB body costs no more than a large one.
    text = truncate(text, max_chars * 4)
    text = strip_invisible(strip_html_comments(text))
    text = unicodedata.normalize("NFC", text)
    return truncate(text, max_chars)
