from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from service.app import create_app
from service.cli import app as cli
from service.store.models import Delivery
from tests.conftest import WEBHOOK_EXAMPLES
from tests.service.conftest import SECRET, make_config, make_settings

ISSUE_OPENED = WEBHOOK_EXAMPLES / "issues" / "opened.payload.json"
runner = CliRunner()

CONFIG = """\
version: 1
automations:
  - name: announce
    on:
      issues: {types: [opened]}
    agent: notify
    with: {url: "https://chat.example/hook"}
  - name: only-closed
    on:
      issues: {types: [closed]}
    agent: notify
    with: {url: "https://chat.example/hook"}
"""


@pytest.fixture
def live_url(tmp_path: Path, database_url: str) -> Iterator[str]:
    app = create_app(make_settings(tmp_path, database_url), config=make_config())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/webhooks/github"
    server.should_exit = True
    thread.join(10)


def test_replay_signs_and_posts_like_github(live_url: str, engine: Engine) -> None:
    result = runner.invoke(
        cli,
        ["replay", str(ISSUE_OPENED), "--event", "issues", "--url", live_url, "--delivery", "r-1"],
        env={"HOOKWISE_WEBHOOK_SECRET": SECRET},
    )
    assert result.exit_code == 0, result.output
    # The in-process server logs to the same output; find the command's own line.
    (answer,) = [line for line in result.output.splitlines() if line.startswith("202 ")]
    assert json.loads(answer[4:])["delivery_id"] == "r-1"
    with engine.connect() as conn:
        assert conn.execute(select(Delivery.id)).scalars().all() == ["r-1"]


def test_replay_with_the_wrong_secret_exits_non_zero(live_url: str) -> None:
    result = runner.invoke(
        cli,
        ["replay", str(ISSUE_OPENED), "--event", "issues", "--url", live_url],
        env={"HOOKWISE_WEBHOOK_SECRET": "not-the-secret"},
    )
    assert result.exit_code == 1
    assert "401" in result.output


def test_simulate_explains_matches_and_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hookwise.yml"
    config.write_text(CONFIG)
    monkeypatch.chdir(tmp_path)  # where the data directory (var/) would appear
    result = runner.invoke(
        cli, ["simulate", str(ISSUE_OPENED), "--event", "issues", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert [path.name for path in tmp_path.iterdir()] == ["hookwise.yml"]  # wrote nothing
    assert "MATCH    announce → agent notify" in result.output
    assert '"url": "https://chat.example/hook"' in result.output
    assert "Spelling error in the README file" in result.output
    assert "SKIP     only-closed:" in result.output
    assert "closed" in result.output.split("SKIP     only-closed:")[1]


def test_simulate_gives_the_agent_the_command_and_its_arguments(tmp_path: Path) -> None:
    payload = json.loads((WEBHOOK_EXAMPLES / "issue_comment" / "created.payload.json").read_bytes())
    payload["comment"]["body"] = "Looks odd.\n/echo hello  world"
    comment = tmp_path / "comment.json"
    comment.write_text(json.dumps(payload))
    config = tmp_path / "hookwise.yml"
    config.write_text(
        "version: 1\nautomations:\n"
        "  - name: echo\n"
        "    on: {issue_comment: {command: /echo}}\n"
        "    agent: respond\n"
        "    with: {comment: 'echo {{ command.argv | join(\"+\") }}'}\n"
    )
    result = runner.invoke(
        cli, ["simulate", str(comment), "--event", "issue_comment", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert "command /echo args 'hello  world'" in result.output
    assert "echo hello+world" in result.output


def test_simulate_reports_a_broken_config(tmp_path: Path) -> None:
    config = tmp_path / "hookwise.yml"
    config.write_text("version: 1\nautomations:\n  - name: x\n    on: issues\n    agent: nope\n")
    result = runner.invoke(
        cli, ["simulate", str(ISSUE_OPENED), "--event", "issues", "--config", str(config)]
    )
    assert result.exit_code == 2
    assert "hookwise.yml:5:" in result.output


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["worker"], ["beat"]])
def test_processes_refuse_to_start_on_a_broken_config(tmp_path: Path, command: list[str]) -> None:
    config = tmp_path / "hookwise.yml"
    config.write_text("version: 1\nautomations:\n  - name: x\n    on: issues\n    agent: nope\n")
    result = runner.invoke(
        cli,
        command,
        env={
            "HOOKWISE_CONFIG": str(config),
            "HOOKWISE_DATA_DIR": str(tmp_path / "var"),
            "HOOKWISE_WEBHOOK_SECRET": SECRET,
        },
    )
    assert result.exit_code == 2
    assert "refusing to start" in result.output
    assert "hookwise.yml:5:" in result.output


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    env = {"HOOKWISE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "HOOKWISE_LOG_JSON": "0"}
    for _ in range(2):
        result = runner.invoke(cli, ["db", "upgrade"], env=env)
        assert result.exit_code == 0, result.output
        assert "latest schema" in result.output
