"""The cargo test parser on real cargo output (the corpus) and on hostile input."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from workers.agents.ci_doctor.cargo import (
    MAX_FAILURES,
    CargoParser,
    doctest_location,
    parse_panic_header,
)
from workers.agents.ci_doctor.report import FailureKind, FrameworkResult

CORPUS = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "ci_logs" / "corpus" / "cargo"
CASES = sorted(path.parent for path in CORPUS.glob("*/expected.json"))


def parse(lines: list[str]) -> FrameworkResult:
    parser = CargoParser()
    for line in lines:
        parser.feed(line)
    return parser.finish()


def parse_case(case: Path) -> tuple[FrameworkResult, dict[str, Any]]:
    log = (case / "output.log").read_text(encoding="utf-8")
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return parse(log.splitlines()), expected


def test_corpus_covers_every_mode() -> None:
    names = {case.name for case in CASES}
    assert {"fail_fast", "no_fail_fast", "quiet", "nocapture", "compile_error"} <= names
    assert {"nocapture_one_thread", "doctests_only", "workspace", "test_compile_error"} <= names


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_corpus_case(case: Path) -> None:
    result, expected = parse_case(case)
    assert result.detected
    assert result.build_error == expected["build_error"]
    got = sorted((failure.id, str(failure.kind)) for failure in result.failures)
    assert got == sorted((failure["id"], failure["kind"]) for failure in expected["failures"])
    excerpts = {failure.id: failure.excerpt for failure in result.failures}
    for failure_id, message in expected["messages"].items():
        assert message in excerpts[failure_id]


def test_excerpt_is_the_panic_not_the_backtrace() -> None:
    result, _ = parse_case(CORPUS / "backtrace")
    (failure,) = result.failures
    assert failure.excerpt.splitlines()[1] == "a degenerate rectangle has area zero"
    assert "stack backtrace" not in failure.excerpt
    assert (failure.file, failure.line) == ("tests/geometry.rs", 8)


def test_doctest_points_at_its_line_in_the_source() -> None:
    result, _ = parse_case(CORPUS / "doctests_only")
    (failure,) = result.failures
    assert (failure.id, failure.file, failure.line) == (
        "src/lib.rs - area (line 5)",
        "src/lib.rs",
        5,
    )


def test_compile_error_names_the_crate_and_the_first_error() -> None:
    result, _ = parse_case(CORPUS / "compile_error")
    (failure,) = result.failures
    assert failure.kind is FailureKind.BUILD
    assert (failure.id, failure.file, failure.line) == ("shapes", "src/lib.rs", 2)
    assert failure.excerpt.startswith("error[E0425]: cannot find value `heigth`")
    assert "could not compile" not in failure.excerpt


def test_workspace_doctests_and_should_panic_locations() -> None:
    result, _ = parse_case(CORPUS / "workspace")
    failures = {failure.id: failure for failure in result.failures}
    doctest = failures["shapes/src/lib.rs - area (line 5)"]
    assert (doctest.file, doctest.line) == ("shapes/src/lib.rs", 5)
    did_not_panic = failures["tests::negative_width_panics"]
    assert (did_not_panic.file, did_not_panic.line) == ("shapes/src/lib.rs", 78)
    binary = failures["tests::converts_one_inch"]
    assert binary.excerpt.endswith("conversion is off\n  got: 2.5\n  want: 2.54")


def test_nocapture_panic_is_matched_to_its_test_by_thread_name() -> None:
    lines = [
        "running 2 tests",
        "",
        "thread 'b::slow' (77) panicked at src/b.rs:9:5:",
        "slow went wrong",
        "test a::fast ... ok",
        "test b::slow ... FAILED",
        "",
        "failures:",
        "",
        "failures:",
        "    b::slow",
        "",
        "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out",
    ]
    (failure,) = parse(lines).failures
    assert failure.id == "b::slow"
    assert failure.excerpt.endswith("slow went wrong")
    assert (failure.file, failure.line) == ("src/b.rs", 9)


def test_pre_1_73_panic_format() -> None:
    header = "thread 'tests::old' panicked at 'assertion failed: x', src/lib.rs:12:9"
    assert parse_panic_header(header) == ("tests::old", "src/lib.rs", 12)
    assert parse_panic_header("thread 'main' (5) panicked at src/main.rs:3:1:") == (
        "main",
        "src/main.rs",
        3,
    )
    assert parse_panic_header("thread without quotes panicked at x") is None


def test_doctest_location() -> None:
    assert doctest_location("src/lib.rs - m::f (line 40) - compile fail") == ("src/lib.rs", 40)
    assert doctest_location("tests::plain") == (None, None)


def test_other_frameworks_output_is_not_claimed() -> None:
    result = parse(["===== 1 failed in 0.1s =====", "FAILED tests/test_x.py::test_a - boom"])
    assert not result.detected
    assert result.failures == []


def test_a_log_cut_off_mid_run_still_reports_what_failed() -> None:
    result = parse(["running 3 tests", "test a::one ... FAILED", "test a::two ... ok"])
    assert [failure.id for failure in result.failures] == ["a::one"]


def test_adversarial_long_lines_are_fast() -> None:
    megabyte = 1_000_000
    hostile = [
        "running 1 test",
        "test " + "a" * megabyte,
        "test " + " ... " * (megabyte // 5),
        "thread '" + "'" * megabyte,
        "thread 'x' panicked at " + "1:" * (megabyte // 2),
        "---- " + "-" * megabyte,
        "error[E0001]: " + " --> " * (megabyte // 5),
        " --> " + "a:1:" * (megabyte // 4),
        "\ufffd\x00\x1b" * (megabyte // 3),
    ]
    started = time.perf_counter()
    result = parse(hostile)
    assert time.perf_counter() - started < 1.0
    assert all(len(failure.excerpt) < 50_000 for failure in result.failures)


def test_memory_stays_bounded_on_endless_failures() -> None:
    lines = ["running 9 tests"]
    lines += [f"test t{index} ... FAILED" for index in range(MAX_FAILURES * 3)]
    result = parse(lines)
    assert len(result.failures) == MAX_FAILURES


def test_memory_stays_bounded_on_endless_sections_and_crates() -> None:
    lines = ["running 9 tests", "failures:", ""]
    for index in range(MAX_FAILURES * 2):
        lines += [f"---- t{index} stdout ----", "x" * 100]
    lines.append("test result: FAILED. 0 passed; 9 failed")
    lines += [f"error: could not compile `c{index}` (lib)" for index in range(MAX_FAILURES * 2)]
    parser = CargoParser()
    for line in lines:
        parser.feed(line)
    result = parser.finish()
    assert len(result.failures) == MAX_FAILURES
    assert result.build_error


def test_stack_overflow_names_the_test_that_aborted_its_binary() -> None:
    result, _ = parse_case(CORPUS / "no_fail_fast")
    (overflow,) = [failure for failure in result.failures if failure.id == "recursion_is_bounded"]
    assert overflow.excerpt.startswith("thread 'recursion_is_bounded'")
    assert overflow.excerpt.endswith("has overflowed its stack")
    # The binaries after the aborted one still report their own failures.
    assert "area_of_line_is_zero" in {failure.id for failure in result.failures}


def test_many_long_doctest_like_ids_are_fast() -> None:
    lines = ["running 9 tests"]
    lines += [
        f"test src/a.rs - {'(line ' * 300}{index}) ... FAILED" for index in range(MAX_FAILURES)
    ]
    started = time.perf_counter()
    result = parse(lines)
    assert time.perf_counter() - started < 1.0
    assert len(result.failures) == MAX_FAILURES
