"""docs/configuration.md stays true: its configs load and its sample output is what we print."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.triggers import load_config
from workers.agents.registry import agent_options

DOCS = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


def _full_configs() -> list[str]:
    return [block for block in _blocks("yaml") if block.startswith("version: 1\n")]


@pytest.mark.parametrize("text", _full_configs())
def test_documented_configs_load_with_the_real_registry(text: str) -> None:
    config = load_config(text, source="docs", agents=agent_options())
    assert config.automations


def test_documented_check_output_is_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (example,) = _full_configs()
    (tmp_path / "hookwise.yml").write_text(example)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["config", "check", "hookwise.yml"])
    assert result.exit_code == 0, result.output
    session = next(block for block in _blocks("console") if "config check" in block)
    documented = session.splitlines()[1:]  # after the `$ hookwise config check` line
    assert result.stdout.splitlines() == documented
