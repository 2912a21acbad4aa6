from __future__ import annotations

import io
import tracemalloc

from workers.agents.ci_doctor.lines import MAX_LINE_CHARS, iter_stream_lines, iter_text_lines


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
    assert peak < 1_000_000
