from __future__ import annotations

from pathlib import Path

import pytest

from workers.agents.ci_doctor.registry import parse_file


@pytest.mark.parametrize("case", ["holdout_default_tap", "holdout_spec", "holdout_dot"])
def test_a_describe_hook_error_explains_its_cancelled_tests(corpus: Path, case: str) -> None:
    report = parse_file(corpus / "node" / case / "output.log")
    by_id = {failure.id: failure for failure in report.failures}
    assert "db" not in by_id  # the describe block is not a test
    assert "before hook: migrations failed" in by_id["db > reads"].excerpt


@pytest.mark.parametrize("case", ["tap", "spec", "dot"])
def test_nesting_is_rebuilt_in_every_reporter(corpus: Path, case: str) -> None:
    report = parse_file(corpus / "node" / case / "output.log")
    ids = {failure.id for failure in report.failures}
    assert {"math > add > adds wrongly", "parent test > child fails"} <= ids
    assert "math" not in ids  # failed only through its children
