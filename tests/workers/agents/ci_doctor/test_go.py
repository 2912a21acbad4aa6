"""The go test parser on real `go test` output (the corpus) and on hostile input."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from workers.agents.ci_doctor.go import (
    MAX_FAILURES,
    GoParser,
    assertion_lines,
    decode_event,
    frame_test_name,
)
from workers.agents.ci_doctor.report import FailureKind, FrameworkResult

CORPUS = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "ci_logs" / "corpus" / "go"
CASES = sorted(path.parent for path in CORPUS.glob("*/expected.json"))


def parse(lines: list[str]) -> FrameworkResult:
    parser = GoParser()
    for line in lines:
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
    assert {"plain", "verbose", "json", "race", "failfast", "timeout"} <= names
    assert {"build_failure", "build_failure_json", "vet_failure", "timeout_json"} <= names


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


@pytest.mark.parametrize("mode", ["plain", "verbose", "json"])
def test_text_and_json_agree_on_locations_and_excerpts(mode: str) -> None:
    failures = by_id(parse_case(CORPUS / mode)[0])
    subtest = failures["TestDiscounts/percent_10"]
    assert (subtest.file, subtest.line) == ("cart_test.go", 28)
    assert subtest.excerpt == "cart_test.go:28: discount 10%: got 89\nwant 90"
    # A parent that failed only through its subtests is left out; one with its own error is not.
    assert "TestDiscounts" not in failures
    assert failures["TestParentAndChild"].excerpt.endswith("parent: cart header is missing")
    assert failures["TestParentAndChild/child"].excerpt.endswith("child: cart footer is missing")
    panic = failures["TestRestock"]
    assert panic.excerpt.startswith("panic: assignment to entry in nil map")
    assert "goroutine" not in panic.excerpt
    assert panic.file is not None
    assert (Path(panic.file).name, panic.line) == ("inventory_test.go", 12)


def test_build_failure_names_the_package_and_the_compiler_error() -> None:
    failures = by_id(parse_case(CORPUS / "build_failure")[0])
    build = failures["example.com/shop/broken"]
    assert build.kind is FailureKind.BUILD
    assert (build.file, build.line) == ("broken/broken.go", 3)
    assert build.excerpt == "broken/broken.go:3:27: undefined: basePrice"


def test_go_1_20_timeout_lists_running_tests() -> None:
    lines = [
        "=== RUN   TestSlow",
        "panic: test timed out after 1s",
        "running tests:",
        "\tTestSlow (1s)",
        "",
        "goroutine 7 [running]:",
        "FAIL\texample.com/m/slow\t1.010s",
    ]
    (failure,) = parse(lines).failures
    assert failure.id == "TestSlow"
    assert failure.excerpt.startswith("panic: test timed out after 1s")


def test_go_1_24_json_build_events() -> None:
    events = [
        {"ImportPath": "example.com/m/b [example.com/m/b.test]", "Action": "build-output",
         "Output": "# example.com/m/b [example.com/m/b.test]\n"},
        {"ImportPath": "example.com/m/b [example.com/m/b.test]", "Action": "build-output",
         "Output": "b/b.go:3:9: undefined: x\n"},
        {"ImportPath": "example.com/m/b [example.com/m/b.test]", "Action": "build-fail"},
        {"Action": "start", "Package": "example.com/m/b"},
        {"Action": "output", "Package": "example.com/m/b",
         "Output": "FAIL\texample.com/m/b [build failed]\n"},
        {"Action": "fail", "Package": "example.com/m/b", "FailedBuild": "example.com/m/b"},
    ]  # fmt: skip
    result = parse([json.dumps(event) for event in events])
    assert result.build_error
    (failure,) = result.failures
    assert (failure.id, failure.file, failure.line) == ("example.com/m/b", "b/b.go", 3)
    assert "undefined: x" in failure.excerpt


def test_decode_event_ignores_json_that_is_not_test2json() -> None:
    assert decode_event('{"Action": 3, "Package": "x"}') is None
    assert decode_event('{"Action": "output"') is None
    assert decode_event('{"other": 1}') is None
    assert decode_event('["Action"]') is None
    assert decode_event('{"Action":"pass","Package":"p"}') == ("pass", "p", None, None)


def test_frames_name_their_test() -> None:
    assert frame_test_name("example.com/m/calc.TestTable.func1(0xc000)") == "TestTable"
    assert frame_test_name("example.com/m/calc.TestTable(0xc000)") == "TestTable"
    assert frame_test_name("testing.tRunner(0xc000, 0x1)") is None
    assert frame_test_name("main.main()") is None
    assert frame_test_name("\t/usr/lib/go/src/testing/testing.go:1446 +0x10b") is None


def test_assertion_lines_keep_continuations() -> None:
    lines = ["    x_test.go:5: got 1", "        want 2", "unrelated", "        not mine"]
    assert assertion_lines(lines) == ["x_test.go:5: got 1", "want 2"]


def test_other_frameworks_output_is_not_claimed() -> None:
    result = parse(["FAIL src/app.test.js", "# Heading", "panic: nope", "ok 1 - test"])
    assert not result.detected
    assert result.failures == []


def test_adversarial_long_lines_are_fast() -> None:
    megabyte = 1_000_000
    hostile = [
        "=== RUN   " + "T" * megabyte,
        "--- FAIL: " + "a" * megabyte,
        "    " + "x.go:" * (megabyte // 5),
        "FAIL\t" + "p" * megabyte,
        "# " + "p" * megabyte,
        "a" * megabyte + ".go:1: x",
        "panic: " + "(" * megabyte,
        "example.com/" + "a.Test" * (megabyte // 6) + "(",
        '{"Action":"output","Package":"p","Output":"' + "\\n" * megabyte + '"}',
        '{"' + "[" * megabyte,
        "\ufffd\x00\x1b" * (megabyte // 3),
    ]
    started = time.perf_counter()
    result = parse(hostile)
    assert time.perf_counter() - started < 1.0
    assert all(len(failure.excerpt) < 50_000 for failure in result.failures)


def test_memory_stays_bounded_on_endless_tests() -> None:
    lines = [f"=== RUN   Test{index}" for index in range(20_000)]
    lines += [f"--- FAIL: Test{index} (0.00s)" for index in range(MAX_FAILURES * 2)]
    lines.append("FAIL\texample.com/m\t0.1s")
    result = parse(lines)
    assert len(result.failures) == MAX_FAILURES


@pytest.mark.parametrize("mode", ["verbose", "json"])
def test_a_test_that_kills_the_binary_is_the_one_left_running(mode: str) -> None:
    failures = by_id(parse_case(CORPUS / mode)[0])
    crashed = failures["TestExitsEarly"]
    assert crashed.excerpt.endswith("config file missing: shop.yaml")
    assert "TestConfigLoads" not in failures


def test_example_output_mismatch_keeps_got_and_want() -> None:
    example = by_id(parse_case(CORPUS / "plain")[0])["ExampleTotal"]
    assert example.excerpt == "got:\n349\nwant:\n350"
