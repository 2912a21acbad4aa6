from __future__ import annotations

from workers.agents.ci_doctor.actions import unwrap, unwrap_line, wrap_like_actions


def test_unwrap_strips_timestamp_colours_and_markers() -> None:
    assert unwrap_line("2024-01-15T10:20:30.1234567Z \x1b[31mFAILED\x1b[0m x") == "FAILED x"
    assert unwrap_line("2024-01-15T10:20:30.1234567Z ##[group]Run pytest") is None
    assert unwrap_line("2024-01-15T10:20:30.1234567Z ##[endgroup]") is None
    assert unwrap_line("2024-01-15T10:20:30.1234567Z ##[error]boom") == "boom"
    assert unwrap_line("2024-01-15T10:20:30.1234567Z") == ""


def test_unwrap_keeps_raw_lines() -> None:
    raw = "2024 was a year: tests/test_x.py::test_a PASSED"
    assert unwrap_line(raw) == raw
    assert unwrap_line("") == ""


def test_wrap_then_unwrap_keeps_the_tool_output_in_order() -> None:
    text = "line one\nFAIL tests/a.test.js\n\n  ✓ passes\nlast"
    wrapped = wrap_like_actions(text, command="npx jest")
    assert "\x1b[31m" in wrapped
    assert wrapped.startswith("\ufeff2024-01-15T10:20:30.1234560Z ##[group]")
    unwrapped = list(unwrap(wrapped.splitlines()))
    start = unwrapped.index("line one")
    assert unwrapped[start : start + 5] == text.splitlines()


def test_osc_hyperlinks_are_removed() -> None:
    line = "\x1b]8;;file:///x\x07link\x1b]8;;\x07 text"
    assert unwrap_line(line) == "link text"
