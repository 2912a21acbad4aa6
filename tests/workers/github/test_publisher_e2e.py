"""Issue item 11 end to end: the simulator sends a signed webhook to the real service, a Celery
worker runs the `respond` agent and publishes through PyGithub, and the worker is SIGKILLed after
the comment is created but before the job is marked done. After recovery exactly one comment
exists, and the job finished once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from service.github_sim.testing import SimHandle
from service.store.db import create_db_engine
from tests.e2e.conftest import Stack, free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SECRET = "publisher-e2e-secret"
API_TOKEN = "publisher-e2e-token"
CONFIG = """\
version: 1
automations:
  - name: greet
    on: {issues: {types: [opened]}}
    agent: respond
    with:
      comment: "Thanks @{{ issue.user.login }}, we will look at it."
      labels: [triage]
"""


@pytest.fixture
def stack(tmp_path: Path, pg_database_url: str, redis_broker_url: str) -> Iterator[Stack]:
    engine = create_db_engine(pg_database_url)
    with engine.begin() as conn:
        conn.execute(
            text("TRUNCATE attempts, jobs, deliveries, group_locks, published_outputs CASCADE")
        )
    engine.dispose()
    base = {k: v for k, v in os.environ.items() if not k.startswith("HOOKWISE_")}
    stack = Stack(env=base, tmp=tmp_path)
    yield stack
    stack.close()


def env_for(
    tmp_path: Path, sim: SimHandle, *, database_url: str, broker_url: str
) -> dict[str, str]:
    config = tmp_path / "hookwise.yml"
    config.write_text(CONFIG)
    return {
        "HOOKWISE_DATABASE_URL": database_url,
        "HOOKWISE_BROKER_URL": broker_url,
        "HOOKWISE_WEBHOOK_SECRET": SECRET,
        "HOOKWISE_API_TOKEN": API_TOKEN,
        "HOOKWISE_CONFIG": str(config),
        "HOOKWISE_DATA_DIR": str(tmp_path / "var"),
        "HOOKWISE_JOB_LEASE_SECONDS": "2",
        "HOOKWISE_JOB_REQUEUE_AFTER_SECONDS": "2",
        "HOOKWISE_RECONCILE_INTERVAL_SECONDS": "1",
        "HOOKWISE_BROKER_TIMEOUT_SECONDS": "1",
        "HOOKWISE_GITHUB_API_URL": sim.api_url,
        "HOOKWISE_GITHUB_APP_ID": str(sim.app_id),
        "HOOKWISE_GITHUB_PRIVATE_KEY_PATH": str(sim.app_key_path),
        "HOOKWISE_GITHUB_WRITE_INTERVAL_SECONDS": "0",
    }


def jobs(url: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{url}/api/jobs", headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=5
    )
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    return found


def job(url: str, job_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{url}/api/jobs/{job_id}", headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=5
    )
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def test_worker_killed_after_the_comment_posts_it_once_after_recovery(
    publishing_sim: SimHandle,
    stack: Stack,
    tmp_path: Path,
    pg_database_url: str,
    redis_broker_url: str,
) -> None:
    sim = publishing_sim
    stack.env.update(
        env_for(tmp_path, sim, database_url=pg_database_url, broker_url=redis_broker_url)
    )
    url = stack.serve(port=free_port())
    sim.admin.create_repo("alice", "demo")
    sim.admin.create_installation("alice")
    sim.admin.set_app_webhook(f"{url}/webhooks/github", secret=SECRET, events=["issues"])
    # The publisher writes the comment, then reads the issue's labels: that read hangs, holding
    # the worker inside the kill window (comment on GitHub, job not done). 20 s is ample for the
    # kill and short enough that the simulator has answered it before the test ends.
    sim.admin.inject_fault("slow", method="GET", path=r"/issues/\d+/labels$", delay=20)
    alice = sim.client(sim.token("alice"))

    def comments() -> list[dict[str, Any]]:
        response = alice.get("/repos/alice/demo/issues/1/comments")
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        return found

    worker = stack.worker("--concurrency", "1", "--beat")
    sim.admin.open_issue("alice", "demo", title="It crashes", author="bob")
    wait_until(lambda: len(comments()) == 1, timeout=60, what="the comment")
    [running] = jobs(url)
    assert running["state"] == "running"
    worker.kill_tree()

    stack.worker("--concurrency", "1", "--beat")
    wait_until(
        lambda: job(url, running["id"])["state"] == "succeeded",
        timeout=60,
        what="the job to succeed after recovery",
    )
    finished = job(url, running["id"])
    assert [attempt["outcome"] for attempt in finished["attempt_history"]] == [None, "succeeded"]
    [comment] = comments()
    assert comment["body"].startswith("Thanks @bob, we will look at it.")
    assert comment["user"]["login"] == sim.bot_login
    labels = alice.get("/repos/alice/demo/issues/1/labels").json()
    assert [label["name"] for label in labels] == ["triage"]
