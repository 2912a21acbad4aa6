from __future__ import annotations

from pathlib import Path

from workers.agents.ci_doctor.actions import wrap_like_actions
from workers.agents.ci_doctor.registry import parse_file, parse_text


def test_a_job_running_two_frameworks_reports_both(corpus: Path) -> None:
    pytest_log = (corpus / "pytest" / "default" / "output.log").read_text(encoding="utf-8")
    jest_log = (corpus / "jest" / "default" / "output.log").read_text(encoding="utf-8")
    report = parse_text(wrap_like_actions(pytest_log) + wrap_like_actions(jest_log))
    assert report.frameworks == ["pytest", "jest"]
    ids = {failure.id for failure in report.failures}
    assert "tests/test_math.py::test_add_wrong" in ids
    assert "math › add › adds wrongly" in ids


def test_a_passing_run_is_detected_with_no_failures(tmp_path: Path) -> None:
    log = tmp_path / "ok.log"
    log.write_text(
        "...\n----------------------------------------------------------------------\n"
        "Ran 3 tests in 0.001s\n\nOK\n"
    )
    report = parse_file(log)
    assert report.frameworks == ["unittest"]
    assert report.failures == []
    assert report.build_error is False
