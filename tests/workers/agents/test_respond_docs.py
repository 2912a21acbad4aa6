"""docs/agents.md stays true for `respond`: its configs load, and the output it shows is what
`hookwise simulate` and `hookwise config check` print today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.triggers import ConfigError, load_config
from tests.conftest import REPO_ROOT, WEBHOOK_EXAMPLES
from workers.agents.registry import agent_options

DOCS = REPO_ROOT / "docs" / "agents.md"
# The documented command names the payload relative to the repository root.
DOCUMENTED_PAYLOAD = "../shared/fixtures/github-webhooks/payload-examples/api.github.com/"


def _respond_section() -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("## `respond`")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _blocks(language: str) -> list[str]:
    # A block that shows ``` inside is fenced with four backticks.
    fenced = re.findall(rf"^(`{{3,}}){language}\n(.*?)^\1$", _respond_section(), re.S | re.M)
    return [body for _, body in fenced]


def _configs() -> list[str]:
    return [block for block in _blocks("yaml") if block.startswith("version: 1\n")]


def _session(command: str) -> tuple[list[str], list[str]]:
    """The documented command's arguments (after `hookwise`) and its output lines."""
    block = next(block for block in _blocks("console") if block.startswith(f"$ hookwise {command}"))
    first, *output = block.splitlines()
    return first.removeprefix("$ hookwise ").split(), output


def _run(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, args)
    lines: list[str] = result.output.splitlines()
    return lines


def test_the_example_config_loads() -> None:
    example, broken = _configs()
    assert {
        a.agent for a in load_config(example, source="docs", agents=agent_options()).automations
    } == {"respond"}
    with pytest.raises(ConfigError):
        load_config(broken, source="docs", agents=agent_options())


def test_documented_simulate_output_is_real(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example, _ = _configs()
    (tmp_path / "hookwise.yml").write_text(example)
    args, documented = _session("simulate")
    assert args[1].startswith(DOCUMENTED_PAYLOAD)
    args[1] = str(WEBHOOK_EXAMPLES / args[1].removeprefix(DOCUMENTED_PAYLOAD))
    assert _run(args, tmp_path, monkeypatch) == documented


def test_documented_config_error_is_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, broken = _configs()
    (tmp_path / "hookwise.yml").write_text(broken)
    args, documented = _session("config check")
    assert _run(args, tmp_path, monkeypatch) == documented
