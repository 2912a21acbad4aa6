from __future__ import annotations

from pathlib import Path

from workers.agents.ci_doctor.registry import parse_text
from workers.agents.ci_doctor.report import FailureKind


def test_a_log_cut_before_the_summary_still_yields_ids(corpus: Path) -> None:
    log = (corpus / "pytest" / "default" / "output.log").read_text(encoding="utf-8")
    cut = log.split("short test summary info", 1)[0]
    report = parse_text(cut)
    ids = {failure.id for failure in report.failures}
    assert "tests/test_math.py::TestDivision::TestNested::test_inner" in ids
    assert "tests/test_fixtures.py::test_uses_db" in ids


def test_parameter_ids_with_separators_stay_whole(corpus: Path) -> None:
    report = parse_text((corpus / "pytest" / "holdout_default" / "output.log").read_text())
    ids = {failure.id for failure in report.failures}
    assert "tests/unit/test_ports.py::test_parse[a - b]" in ids
    assert "tests/unit/test_ports.py::test_parse[x y]" in ids


def test_setup_and_collection_errors_have_their_kinds(corpus: Path) -> None:
    report = parse_text((corpus / "pytest" / "collection_errors" / "output.log").read_text())
    assert report.build_error is True
    assert {(f.id, f.kind) for f in report.failures} == {
        ("tests/test_broken_import.py", FailureKind.COLLECTION),
        ("tests/test_syntax.py", FailureKind.COLLECTION),
    }
    setup = parse_text((corpus / "pytest" / "xdist" / "output.log").read_text())
    kinds = {f.id: f.kind for f in setup.failures}
    assert kinds["tests/test_fixtures.py::test_uses_db"] == FailureKind.ERROR


def test_a_conftest_that_fails_to_import_is_a_build_error(corpus: Path) -> None:
    report = parse_text((corpus / "pytest" / "conftest_import_error" / "output.log").read_text())
    assert report.build_error is True
    [failure] = report.failures
    assert (failure.id, failure.kind, failure.line) == ("tests/conftest.py", FailureKind.BUILD, 1)
    assert "No module named 'missing_fixture_helpers_pkg'" in failure.excerpt
