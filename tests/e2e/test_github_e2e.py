"""The whole loop over real HTTP: the GitHub simulator sends a signed webhook to the service, a
Celery worker runs the agent, PyGithub posts the result back, checked through the simulator's API.
Real PostgreSQL and Redis."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from service.github_sim.testing import SimHandle, run_simulator
from tests.e2e.conftest import Stack, free_port, wait_until

pytestmark = pytest.mark.slow

SECRET = "e2e-github-secret"
CONFIG = """\
version: 1
automations:
  - name: welcome
    on: {issues: {types: [opened]}}
    agent: respond
    with:
      comment: "Thanks @{{ sender.login }} for reporting {{ issue.title }}!"
      labels: [triage]
"""


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with run_simulator(users={"alice": "alice-token"}) as handle:
        yield handle


def comments(sim: SimHandle, number: int) -> list[dict[str, Any]]:
    api = sim.client(sim.token("alice"))
    result: list[dict[str, Any]] = api.get(f"/repos/acme/widgets/issues/{number}/comments").json()
    return result


def test_issue_opened_in_github_gets_the_respond_comment_once(
    stack_factory: Callable[[dict[str, str]], Stack],
    tmp_path: Path,
    sim: SimHandle,
    pg_database_url: str,
    pg_engine: Engine,
    redis_broker_url: str,
) -> None:
    config = tmp_path / "hookwise.yml"
    config.write_text(CONFIG)
    port = free_port()
    stack = stack_factory(
        {
            "HOOKWISE_DATABASE_URL": pg_database_url,
            "HOOKWISE_BROKER_URL": redis_broker_url,
            "HOOKWISE_WEBHOOK_SECRET": SECRET,
            "HOOKWISE_CONFIG": str(config),
            "HOOKWISE_DATA_DIR": str(tmp_path / "var"),
            "HOOKWISE_GITHUB_API_URL": sim.api_url,
            "HOOKWISE_GITHUB_APP_ID": str(sim.app_id),
            "HOOKWISE_GITHUB_PRIVATE_KEY_PATH": str(sim.app_key_path),
            "HOOKWISE_GITHUB_WRITE_INTERVAL_SECONDS": "0",
        }
    )
    url = stack.serve(port=port)
    stack.worker("--concurrency", "2", "--beat")
    sim.admin.set_app_webhook(f"{url}/webhooks/github", secret=SECRET)
    sim.admin.create_user("acme")
    sim.admin.create_repo("acme", "widgets")
    sim.admin.create_installation("acme")
    issue = sim.admin.open_issue("acme", "widgets", title="Crash on start", author="acme")

    wait_until(lambda: len(comments(sim, issue["number"])) == 1, timeout=60, what="the comment")
    (comment,) = comments(sim, issue["number"])
    assert "Thanks @acme for reporting Crash on start!" in comment["body"]
    assert comment["user"]["login"] == sim.bot_login
    api = sim.client(sim.token("alice"))
    labels = [
        label["name"]
        for label in api.get(f"/repos/acme/widgets/issues/{issue['number']}").json()["labels"]
    ]
    assert "triage" in labels

    # GitHub redelivers the same delivery: Hookwise answers duplicate and posts nothing more.
    delivery = next(
        d
        for d in sim.admin.deliveries(target="app")
        if d["event"] == "issues" and d["action"] == "opened"
    )
    response = httpx.post(
        f"{sim.api_url}/app/hook/deliveries/{delivery['id']}/attempts",
        headers={"Authorization": f"Bearer {sim.app_jwt()}"},
        timeout=10,
    )
    assert response.status_code == 202
    assert sim.admin.wait_for_deliveries(timeout=20)
    time.sleep(3)
    assert len(comments(sim, issue["number"])) == 1
