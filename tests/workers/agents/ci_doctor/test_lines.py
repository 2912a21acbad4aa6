from __future__ import annotations

import io
import tracemalloc

from workers.agents.ci_doctor.lines import (
    CHUNK_BYTES,
    MAX_LINE_CHARS,
    iter_stream_lines,
    iter_text_lines,
)


def test_stream_lines_are_decoded_and_capped() -> None:
    data = b"ok\r\n" + b"x" * 1_000_000 + b"\nafter\n\xff\xfe bad utf8\nno newline"
    lines = list(iter_stream_lines(io.BytesIO(data)))
    assert lines[0] == "ok"
    assert len(lines[1]) == MAX_LINE_CHARS
    assert lines[2:] == ["after", "\ufffd\ufffd bad utf8", "no newline"]


def test_carriage_return_progress_keeps_the_last_frame() -> None:
    assert list(iter_text_lines(b"10%\r50%\r100% done\n")) == ["100% done"]


def test_a_huge_single_line_costs_bounded_memory() -> None:
    data = io.BytesIO(b"y" * 20_000_000)
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_stream_lines(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 1
    assert peak < 4 * CHUNK_BYTES  # bounded by the read size, not by the 20 MB line


def test_lines_spanning_chunks_and_split_characters_survive() -> None:
    text = "héllo wörld ✓\n" * 50 + "x" * 100 + "\n" + "tail ✓"
    data = text.encode("utf-8")
    for chunk_bytes in (1, 3, 7, 64):
        lines = list(iter_stream_lines(io.BytesIO(data), max_chars=50, chunk_bytes=chunk_bytes))
        assert lines[:50] == ["héllo wörld ✓"] * 50
        assert lines[50] == "x" * 50
        assert lines[51:] == ["tail ✓"]


def test_stream_and_text_readers_agree_on_awkward_bytes() -> None:
    # Carriage returns, NULs, invalid UTF-8 and over-long lines, in chunks that split them:
    # the stream reader's fast path for plain chunks must give what the per-line path gives.
    pieces = [b"plain", b"a\rb", b"\x00x", b"\xff\xfe", b"y" * 70, b"", b"\r", "✓ü".encode()]
    data = b"\n".join(pieces[(n * 7) % len(pieces)] + str(n).encode() for n in range(300))
    expected = list(iter_text_lines(data, max_chars=50))
    for chunk_bytes in (1, 5, 64, 4096):
        streamed = list(iter_stream_lines(io.BytesIO(data), max_chars=50, chunk_bytes=chunk_bytes))
        assert streamed == expected, chunk_bytes
