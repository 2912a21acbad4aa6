"""Reading an untrusted log as a stream of bounded, decoded lines.

A log is attacker-controlled (a PR can print anything): it may be 100 MB, hold one 1 MB line,
or be binary. Lines are read in binary with a size limit, so memory stays bounded, decoded with
replacement characters, and cut to `MAX_LINE_CHARS` before any regex sees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

# Long enough for any real assertion message or compiler diagnostic, short enough that every
# per-line regex runs in bounded time.
MAX_LINE_CHARS = 4_096


def iter_stream_lines(stream: BinaryIO, *, max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """Yield the decoded lines of a binary stream without their line endings.

    The part of an over-long line beyond the read limit is skipped without being kept.
    """
    read_limit = max_chars * 4
    readline = stream.readline
    while True:
        chunk = readline(read_limit)
        if not chunk:
            return
        if not chunk.endswith(b"\n"):
            _skip_rest_of_line(stream, read_limit=read_limit)
        yield _decode(chunk, max_chars=max_chars)


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


def _skip_rest_of_line(stream: BinaryIO, *, read_limit: int) -> None:
    while True:
        rest = stream.readline(read_limit)
        if not rest or rest.endswith(b"\n"):
            return


def _decode(raw: bytes, *, max_chars: int) -> str:
    line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
    # A carriage return inside a line is a progress bar redrawing itself; the last frame is
    # what a terminal would show.
    if "\r" in line:
        line = line.rsplit("\r", 1)[-1] or line.replace("\r", "")
    if "\x00" in line:
        line = line.replace("\x00", "")
    return line[:max_chars]
