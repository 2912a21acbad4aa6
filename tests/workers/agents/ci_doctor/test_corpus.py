"""The corpus of real framework output, raw and wrapped like a GitHub Actions job log.

Every case under `tests/fixtures/ci_logs/corpus/<framework>/<case>/` was captured by running the
framework (see `tests/fixtures/ci_logs/build.py`); its `expected.json` comes from the framework's
own machine-readable report. Ids are scored over the whole corpus and, separately, over the
held-out cases (`holdout_*`, suites written after the parsers); both need recall and precision
≥ 0.98. Build errors, detected frameworks and excerpt messages (where the log shows the message
at all) are checked case by case. Failures of kind `build` are compile/import errors rather than
tests, so they count through `build_error` only. The `generic` cases are tools no parser knows:
the fallback must report framework `unknown`, no id, and each error the tool's own JSON lists.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from workers.agents.ci_doctor.actions import wrap_like_actions
from workers.agents.ci_doctor.registry import UNKNOWN_FRAMEWORK, parse_file, parse_text
from workers.agents.ci_doctor.report import Report

CORPUS = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "ci_logs" / "corpus"
MIN_RECALL = 0.98
MIN_PRECISION = 0.98
CASES = sorted(path.parent for path in CORPUS.glob("*/*/expected.json"))
HOLDOUT_CASES = [case for case in CASES if case.name.startswith("holdout_")]
GENERIC_CASES = [case for case in CASES if case.parent.name == "generic"]
FORMS = ("raw", "actions")


@dataclass(frozen=True)
class Outcome:
    case: Path
    form: str
    expected: dict[str, Any]
    report: Report


@cache
def outcome(case: Path, form: str) -> Outcome:
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    log_path = case / "output.log"
    if form == "raw":
        report = parse_file(log_path)
    else:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        report = parse_text(wrap_like_actions(text, command=case.parent.name))
    return Outcome(case=case, form=form, expected=expected, report=report)


def case_id(case: Path) -> str:
    return f"{case.parent.name}/{case.name}"


def test_corpus_is_present() -> None:
    assert len(CASES) >= 10, f"corpus missing under {CORPUS}"
    frameworks = {case.parent.name for case in CASES}
    assert frameworks >= {"pytest", "unittest", "jest", "vitest", "node", "cargo", "go", "maven"}
    assert {case.parent.name for case in HOLDOUT_CASES} == frameworks - {"generic"}
    assert GENERIC_CASES


def _test_ids(failures: list[dict[str, Any]] | list[Any]) -> set[str]:
    """Test ids, build failures left out. The fallback's blocks (framework `unknown`, no id)
    are not test ids either; that they carry none is checked on the generic cases."""
    ids = set()
    for failure in failures:
        if isinstance(failure, dict):
            kind, failure_id = failure["kind"], failure["id"]
        elif failure.framework == UNKNOWN_FRAMEWORK:
            continue
        else:
            kind, failure_id = failure.kind, failure.id
        if str(kind) != "build":
            ids.add(failure_id)
    return ids


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("part", ["corpus", "holdout"])
def test_ids_recall_and_precision(part: str, form: str) -> None:
    true_positive, expected_total, reported_total = Counter[str](), Counter[str](), Counter[str]()
    misses: list[str] = []
    for case in CASES if part == "corpus" else HOLDOUT_CASES:
        result = outcome(case, form)
        framework = case.parent.name
        expected = _test_ids(result.expected["failures"])
        reported = _test_ids(result.report.failures)
        true_positive[framework] += len(expected & reported)
        expected_total[framework] += len(expected)
        reported_total[framework] += len(reported)
        misses += [f"{case_id(case)}: missed {i!r}" for i in sorted(expected - reported)]
        misses += [f"{case_id(case)}: invented {i!r}" for i in sorted(reported - expected)]
    recall = sum(true_positive.values()) / max(sum(expected_total.values()), 1)
    precision = sum(true_positive.values()) / max(sum(reported_total.values()), 1)
    per_framework = ", ".join(
        f"{name}: recall {true_positive[name] / max(expected_total[name], 1):.3f}"
        f" precision {true_positive[name] / max(reported_total[name], 1):.3f}"
        for name in sorted(expected_total)
    )
    detail = per_framework + "\n" + "\n".join(misses[:40])
    assert recall >= MIN_RECALL, f"recall {recall:.3f}\n{detail}"
    assert precision >= MIN_PRECISION, f"precision {precision:.3f}\n{detail}"


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_build_error_and_frameworks(case: Path, form: str) -> None:
    result = outcome(case, form)
    assert result.report.build_error == result.expected["build_error"]
    assert sorted(result.report.frameworks) == sorted(result.expected["frameworks"])


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_excerpts_contain_the_failure_message(case: Path, form: str) -> None:
    result = outcome(case, form)
    # A message the log itself cut short (pytest truncates its summary to the terminal width
    # outside CI) cannot be asked of the excerpt.
    log = _squash((case / "output.log").read_text(encoding="utf-8", errors="replace"))
    missing = []
    for failure_id, message in result.expected["messages"].items():
        if _squash(message) not in log:
            continue
        excerpts = [_squash(f.excerpt) for f in result.report.failures if f.id == failure_id]
        if excerpts and not any(_squash(message) in excerpt for excerpt in excerpts):
            missing.append(f"{failure_id}: {message!r} not in {excerpts!r}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", GENERIC_CASES, ids=case_id)
def test_the_fallback_finds_every_error_and_invents_no_id(case: Path, form: str) -> None:
    result = outcome(case, form)
    assert result.report.frameworks == [UNKNOWN_FRAMEWORK]
    assert all(failure.id == "" for failure in result.report.failures)
    missing = []
    for block in result.expected["blocks"]:
        where = (block["file"], block["line"])
        found = [
            failure
            for failure in result.report.failures
            if _squash(block["message"]) in _squash(failure.excerpt)
            and (block["file"] is None or (failure.file, failure.line) == where)
        ]
        if not found:
            missing.append(f"{block!r} not among {result.report.failures!r}")
    assert not missing, "\n".join(missing)
