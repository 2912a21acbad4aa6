"""`hookwise config check FILE` with the real agent registry."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from service.cli import app

VALID = """\
version: 1
automations:
  - name: announce-issues
    on:
      issues: {types: [opened, reopened]}
    agent: notify
    with: {url: "https://chat.example.com/hook"}
  - name: paused
    enabled: false
    on: [push, pull_request]
    agent: notify
    with: {url: "https://chat.example.com/hook"}
"""

BROKEN = """\
version: 1
automations:
  - name: announce-issues
    on:
      issues: {types: [opend]}
    agent: notify
    with: {url: "not a url"}
  - name: fixer
    on: {issue_comment: {command: /fix}}
    agent: coder
"""


def test_a_valid_file_prints_a_summary_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "hookwise.yml"
    path.write_text(VALID)
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{path}: OK, 2 automations (1 enabled)",
        "  announce-issues: on issues → notify",
        "  paused: on push, pull_request → notify (disabled)",
    ]


def test_every_error_is_printed_with_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "hookwise.yml"
    path.write_text(BROKEN)
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        f"{path}:5:24",
        f"{path}:7:17",
        f"{path}:10:12",
    ]
    assert "unknown activity type 'opend' for issues; did you mean 'opened'?" in lines[0]
    assert "automations[0].with.url:" in lines[1]
    # The real registry: unknown agents are config errors, naming the agents that exist.
    assert "unknown agent 'coder'" in lines[2]
    assert "notify" in lines[2]


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{path}:1:1: cannot read config")
