"""Reading an untrusted log as a stream of bounded, decoded lines.

A log is attacker-controlled (a PR can print anything): it may be 100 MB, hold one 1 MB line,
or be binary. Lines are read in binary with a size limit, so memory stays bounded, decoded with
replacement characters, and cut to `MAX_LINE_CHARS` before any regex sees them.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from typing import BinaryIO

# Long enough for any real assertion message or compiler diagnostic, short enough that every
# per-line regex runs in bounded time.
MAX_LINE_CHARS = 4_096
CHUNK_BYTES = 1 << 20


def iter_stream_lines(
    stream: BinaryIO, *, max_chars: int = MAX_LINE_CHARS, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[str]:
    """Yield the decoded lines of a binary stream without their line endings.

    The stream is read and decoded in large chunks (splitting and decoding in C is what makes
    a 10 MB log fast); an over-long line is cut to `max_chars` and the rest of it is skipped
    without being kept, so memory stays bounded by the chunk size.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    partial = ""  # the start of a line that continues into the next chunk, already capped
    skipping = False  # the current line is already longer than the cap: drop until newline
    while True:
        chunk = stream.read(chunk_bytes)
        text = decoder.decode(chunk, final=not chunk)
        if text:
            pieces = text.split("\n")
            last = pieces.pop()
            if pieces:
                first = partial if skipping else partial + pieces[0]
                partial, skipping = "", False
                yield _clean(first, max_chars=max_chars)
            # Most chunks hold no carriage return or NUL: their lines only need the length cap,
            # checked here rather than in a call per line.
            if "\r" in text or "\x00" in text:
                for piece in pieces[1:]:
                    yield _clean(piece, max_chars=max_chars)
            else:
                for piece in pieces[1:]:
                    yield piece if len(piece) <= max_chars else piece[:max_chars]
            if pieces:
                partial, skipping = last[: max_chars + 1], len(last) > max_chars
            elif not skipping:
                partial += last
                if len(partial) > max_chars:
                    partial, skipping = partial[: max_chars + 1], True
        if not chunk:
            if partial:
                yield _clean(partial, max_chars=max_chars)
            return


def iter_text_lines(text: str | bytes, *, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The same lines for a log already in memory (tests, small inputs)."""
    data = text.encode("utf-8", errors="replace") if isinstance(text, str) else text
    raws = data.split(b"\n")
    if raws and not raws[-1]:
        raws.pop()
    for raw in raws:
        yield _decode(raw[: max_chars * 4], max_chars=max_chars)


def cap_lines(lines: Iterable[str], *, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """Bound lines that come from a text source the reader did not produce."""
    for line in lines:
        yield line[:max_chars].rstrip("\r\n")


def _decode(raw: bytes, *, max_chars: int) -> str:
    return _clean(raw.decode("utf-8", errors="replace"), max_chars=max_chars)


def _clean(line: str, *, max_chars: int) -> str:
    if len(line) > max_chars:
        line = line[:max_chars]
    if line.endswith("\r"):
        line = line.rstrip("\r")
    # A carriage return inside a line is a progress bar redrawing itself; the last frame is
    # what a terminal would show.
    if "\r" in line:
        line = line.rsplit("\r", 1)[-1] or line.replace("\r", "")
    if "\x00" in line:
        line = line.replace("\x00", "")
    return line[:max_chars]
