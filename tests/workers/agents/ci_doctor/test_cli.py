from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def test_parse_json_has_the_issue_shape(corpus: Path) -> None:
    log = corpus / "jest" / "load_errors" / "output.log"
    result = runner.invoke(app, ["ci-log", "parse", str(log), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["frameworks"] == ["jest"]
    assert report["build_error"] is True
    first = report["failures"][0]
    assert set(first) == {"id", "kind", "file", "line", "excerpt"}
    assert first["id"] == "math › add › adds wrongly"
    assert (first["file"], first["line"]) == ("test/math.test.js", 9)


def test_parse_prints_a_readable_report(corpus: Path) -> None:
    log = corpus / "unittest" / "verbose" / "output.log"
    result = runner.invoke(app, ["ci-log", "parse", str(log)])
    assert result.exit_code == 0, result.output
    assert "frameworks: unittest" in result.output
    assert "FAILED  tests.test_core.TestAdd.test_wrong  (tests/test_core.py:11)" in result.output
    assert "AssertionError: 3 != 4" in result.output


def test_parse_reads_stdin(corpus: Path) -> None:
    log = (corpus / "pytest" / "quiet" / "output.log").read_bytes()
    result = runner.invoke(app, ["ci-log", "parse", "-", "--json"], input=log)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["frameworks"] == ["pytest"]


def test_parse_rejects_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ci-log", "parse", str(tmp_path / "nope.log")])
    assert result.exit_code != 0


def test_terminal_control_sequences_in_a_log_are_not_printed(tmp_path: Path) -> None:
    log = tmp_path / "evil.log"
    log.write_bytes(
        b"============================= test session starts ==============================\n"
        b"=========================== short test summary info ============================\n"
        b"FAILED tests/test_x.py::test_a - boom \x1b]0;pwned\x07\x1b[2J\x08\x07\n"
    )
    result = runner.invoke(app, ["ci-log", "parse", str(log)])
    assert result.exit_code == 0, result.output
    assert "tests/test_x.py::test_a" in result.output
    assert not any(ch in result.output for ch in "\x1b\x07\x08")
