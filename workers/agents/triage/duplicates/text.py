"""Issue text to index terms.

Bug reports name code: Java classes (`FileSystem`), dotted names and stack frames
(`org.apache.hadoop.fs.FileSystem.get`), config keys (`dfs.namenode.rpc-address`), versions
(`3.3.1`). A reporter may write the class while the other writes its words ("file system"), so each
identifier yields itself, its dotted parts, and its camelCase words; the whole identifier is the
rare, precise token and its pieces are the fuzzy ones.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from workers.agents.untrusted import sanitize

TITLE_MAX_CHARS = 1_000
# Long pasted logs repeat themselves; the head (description, first trace) and the tail (final
# error) carry the signal, which `sanitize` keeps.
BODY_MAX_CHARS = 20_000
_MAX_TOKEN_CHARS = 80

_WORD = re.compile(r"[^\W\d_][\w$]*(?:[.$][^\W\d][\w$]*)*|\d+(?:\.\d+)*", re.UNICODE)
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_DOTTED_SEPARATOR = re.compile(r"[.$_]")


# English function words only. scikit-learn's list is not used: it also drops words that carry
# meaning in bug reports ("system", "name", "empty", "fill", "move", "show", "find", "call").
_STOP_WORDS_TEXT = """
    a about after again all also am an and any are as at be because been before being but by
    can could did do does doing done for from had has have having he her here hers him his
    how i if in into is it its itself just me more most my no nor not of off on once only or
    other our ours out over own same she should so some such than that the their theirs them
    then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def _keep(token: str) -> bool:
    return 1 < len(token) <= _MAX_TOKEN_CHARS and token not in STOP_WORDS


def identifier_terms(word: str) -> list[str]:
    """The word itself plus, for identifiers, their dotted parts and camelCase words (lowercase)."""
    terms = [word.lower()]
    if word[0].isdigit():
        return terms
    parts = [part for part in _DOTTED_SEPARATOR.split(word) if part]
    if len(parts) > 1:
        terms.extend(part.lower() for part in parts)
    for part in parts:
        pieces = _CAMEL_PART.findall(part)
        if len(pieces) > 1:
            terms.extend(piece.lower() for piece in pieces)
    return terms


@lru_cache(maxsize=100_000)
def _kept_terms(word: str) -> tuple[str, ...]:
    # Word frequencies follow Zipf's law, so a bounded cache answers most lookups.
    return tuple(term for term in identifier_terms(word) if _keep(term))


def tokenize(text: str) -> list[str]:
    """Index terms of already-sanitised text, stop words and one-letter tokens dropped."""
    return [term for match in _WORD.finditer(text) for term in _kept_terms(match.group(0))]


def issue_term_counts(title: str, body: str) -> tuple[Counter[str], Counter[str]]:
    """Term counts of the title and of the whole issue (title + body), from untrusted text."""
    title_terms = tokenize(sanitize(title, max_chars=TITLE_MAX_CHARS))
    body_terms = tokenize(sanitize(body, max_chars=BODY_MAX_CHARS))
    title_counts = Counter(title_terms)
    return title_counts, title_counts + Counter(body_terms)
