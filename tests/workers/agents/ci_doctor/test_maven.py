"""The Maven Surefire parser on real Maven output (the corpus) and on hostile input."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from workers.agents.ci_doctor.actions import unwrap
from workers.agents.ci_doctor.maven import (
    MAX_FAILURES,
    MavenParser,
    excerpt_lines,
    failed_compile_project,
    parse_compiler_error,
    parse_frame,
    parse_header,
)
from workers.agents.ci_doctor.report import FailureKind, FrameworkResult

CORPUS = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "ci_logs" / "corpus" / "maven"
CASES = sorted(path.parent for path in CORPUS.glob("*/expected.json"))


def parse(lines: list[str]) -> FrameworkResult:
    parser = MavenParser()
    # Maven resets colours even in batch mode; the shared normaliser removes them.
    for line in unwrap(lines):
        parser.feed(line)
    return parser.finish()


def parse_case(case: Path) -> tuple[FrameworkResult, dict[str, Any]]:
    log = (case / "output.log").read_text(encoding="utf-8")
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return parse(log.splitlines()), expected


def by_id(result: FrameworkResult) -> dict[str, Any]:
    return {failure.id: failure for failure in result.failures}


def test_corpus_covers_every_mode() -> None:
    names = {case.name for case in CASES}
    assert {"test", "quiet_verify", "full_stack_traces", "compile_error"} <= names
    assert {"test_compile_error", "multi_module", "junit5_features"} <= names


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


@pytest.mark.parametrize("mode", ["test", "quiet_verify"])
def test_parameterised_nested_and_class_level_ids(mode: str) -> None:
    failures = by_id(parse_case(CORPUS / mode)[0])
    parameterised = failures["com.example.shop.PriceCalculatorTest.discounts{int, int, int}[1]"]
    assert (parameterised.file, parameterised.line) == ("PriceCalculatorTest.java", 38)
    assert parameterised.excerpt.startswith("org.opentest4j.AssertionFailedError: expected: <900>")
    nested = failures["com.example.shop.inventory.StockTest$WhenEmpty.takeLeavesNothing"]
    assert (nested.file, nested.line) == ("StockTest.java", 27)
    setup = failures["com.example.shop.inventory.WarehouseTest"]
    assert setup.kind is FailureKind.ERROR
    assert (setup.file, setup.line) == ("WarehouseTest.java", 11)


def test_full_stack_trace_is_cut_to_the_message_frames_and_causes() -> None:
    (failure,) = parse_case(CORPUS / "full_stack_traces")[0].failures
    lines = failure.excerpt.splitlines()
    assert lines[0] == "java.lang.IllegalStateException: cannot load stock line: pear=three"
    assert any(line.startswith("Caused by: java.lang.NumberFormatException") for line in lines)
    assert len(lines) <= 8
    assert (failure.file, failure.line) == ("StockTest.java", 20)


def test_compile_error_names_the_project_and_javacs_message() -> None:
    (failure,) = parse_case(CORPUS / "compile_error")[0].failures
    assert failure.kind is FailureKind.BUILD
    assert failure.id == "shop"
    assert failure.file is not None
    assert failure.file.endswith("src/main/java/com/example/shop/PriceCalculator.java")
    assert failure.line == 5
    assert "cannot find symbol" in failure.excerpt
    assert "symbol:   method sum(int[])" in failure.excerpt


def test_fail_at_end_reports_one_modules_tests_and_the_others_compile_error() -> None:
    result = parse_case(CORPUS / "multi_module")[0]
    assert result.build_error
    kinds = {failure.id: failure.kind for failure in result.failures}
    assert kinds["web"] is FailureKind.BUILD
    assert kinds["com.example.shop.PriceCalculatorTest.bigCartTotal"] is FailureKind.FAILED


def test_grouped_assertions_keep_every_failure_message() -> None:
    failures = by_id(parse_case(CORPUS / "junit5_features")[0])
    grouped = failures["ReportTest.groupedAssertions"].excerpt
    assert "first total ==> expected: <1> but was: <2>" in grouped
    assert "second total ==> expected: <3> but was: <4>" in grouped


def test_surefire_3_and_junit_4_headers() -> None:
    lines = [
        "[INFO]  T E S T S",
        "[ERROR] Tests run: 2, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.05 s"
        " <<< FAILURE! -- in com.example.FooTest",
        "[ERROR] com.example.FooTest.adds -- Time elapsed: 0.01 s <<< FAILURE!",
        "org.opentest4j.AssertionFailedError: expected: <1> but was: <2>",
        "\tat com.example.FooTest.adds(FooTest.java:9)",
        "",
        "[ERROR] subtracts(com.example.BarTest)  Time elapsed: 0.002 sec  <<< FAILURE!",
        "java.lang.AssertionError: expected:<1> but was:<0>",
        "\tat com.example.BarTest.subtracts(BarTest.java:14)",
        "",
    ]
    failures = by_id(parse(lines))
    assert set(failures) == {"com.example.FooTest.adds", "com.example.BarTest.subtracts"}
    assert failures["com.example.BarTest.subtracts"].line == 14


def test_helpers_on_edge_cases() -> None:
    assert parse_header("adds  Time elapsed: 0 s  <<< ERROR!") == "adds"
    assert parse_header("Tests run: 1  Time elapsed: 0 s  <<< FAILURE! - in x") is None
    frame = parse_frame("\tat java.base/java.lang.Thread.run(Thread.java:833)")
    assert frame is not None
    assert (frame.class_name, frame.method, frame.line) == ("java.lang.Thread", "run", 833)
    native = parse_frame("\tat jdk.internal.Foo.bar(Native Method)")
    assert native is not None
    assert native.file is None
    assert parse_compiler_error("/a b/Foo.java:[1,2] x") is None
    assert parse_compiler_error("/src/Foo.java:[12,5] cannot find symbol") == ("/src/Foo.java", 12)
    assert (
        failed_compile_project("Failed to execute goal x:maven-surefire-plugin on project a:")
        is None
    )
    assert excerpt_lines(["E: boom", "\tat a.B.c(B.java:1)", "\t... 5 more"]) == [
        "E: boom",
        "\tat a.B.c(B.java:1)",
    ]


def test_other_frameworks_output_is_not_claimed() -> None:
    result = parse(["[ERROR] something broke", "FAILED tests/test_x.py::test_a", "at x (y.js:1)"])
    assert not result.detected
    assert result.failures == []


def test_adversarial_long_lines_are_fast() -> None:
    megabyte = 1_000_000
    hostile = [
        "[ERROR] Tests run: 1, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 1 s - in C",
        "[ERROR] " + "x" * megabyte + "  Time elapsed: 0 s  <<< FAILURE!",
        "\tat " + "a." * (megabyte // 2) + "(",
        "\tat " + "(" * megabyte,
        "Caused by: " + "y" * megabyte,
        "",
        "[ERROR] " + " Time elapsed: 1 s" * (megabyte // 20),
        "[ERROR] " + ":[" * (megabyte // 2),
        "[ERROR] /a.java:[" + "1," * (megabyte // 2),
        "[ERROR] Failed to execute goal maven-compiler-plugin" + " on project " * megabyte,
        "[ERROR] " + "Tests run: 1, " * (megabyte // 14),
        "\ufffd\x00\x1b" * (megabyte // 3),
    ]
    started = time.perf_counter()
    result = parse(hostile)
    assert time.perf_counter() - started < 1.0
    assert all(len(failure.excerpt) < 50_000 for failure in result.failures)


def test_memory_stays_bounded_on_endless_failures() -> None:
    lines = ["[ERROR] Tests run: 9, Failures: 9, Errors: 0, Skipped: 0, Time elapsed: 1 s - in C"]
    for index in range(MAX_FAILURES * 2):
        lines += [f"[ERROR] t{index}  Time elapsed: 0 s  <<< FAILURE!", "E: boom", ""]
    assert len(parse(lines).failures) == MAX_FAILURES
