"""Requirement 7 through the job runner: each GitHub failure, injected in the simulator while a
`respond` job publishes, ends the job the way its rule says, and nothing is posted twice."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from service.github_sim.testing import SimHandle
from service.store.db import utcnow
from service.store.models import Job
from tests.workers.conftest import add_job
from tests.workers.github.conftest import app_settings
from workers.celery_app import create_celery
from workers.jobs import Outcome, WorkerRuntime, retry_delay, run_job
from workers.tasks import build_worker_runtime

COMMENTS = r"/repos/alice/demo/issues/\d+/comments$"
# How the runner reschedules is the same on both databases (tests/workers/test_jobs.py runs both);
# here PostgreSQL, as in production, keeps the suite short.
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
OPTIONS = {"comment": "Thanks @{{ issue.user.login }}!", "labels": ["triage"]}


@dataclass
class Scene:
    sim: SimHandle
    engine: Engine
    runtime: WorkerRuntime
    issue: int
    job_id: str

    def run(self) -> Outcome:
        return run_job(job_id=self.job_id, runtime=self.runtime)

    def row(self) -> Any:
        table = Job.__table__
        with self.engine.connect() as conn:
            return conn.execute(select(table).where(table.c.id == self.job_id)).one()

    def wait_s(self) -> float:
        """How long the rescheduled job waits, as stored in the database."""
        row = self.row()
        return float((row.not_before - row.updated_at).total_seconds())

    def make_due(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == self.job_id).values(not_before=utcnow()))

    def comments(self) -> list[dict[str, Any]]:
        api = self.sim.client(self.sim.token("alice"))
        response = api.get(f"/repos/alice/demo/issues/{self.issue}/comments")
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        return found


def scene_for(
    sim: SimHandle,
    *,
    engine: Engine,
    tmp_path: Path,
    database_url: str,
    installed: list[str] | None = None,
    **settings: Any,
) -> Scene:
    """alice/demo with the App installed (on `installed` only, if given), an issue opened by bob
    as the App's webhook carries it, and a `respond` job for that delivery."""
    unreachable = "http://127.0.0.1:9/unreachable"
    sim.admin.set_app_webhook(unreachable, secret="x")
    sim.admin.create_repo("alice", "demo")
    for name in installed or ():
        sim.admin.create_repo("alice", name)
    installation = sim.admin.create_installation("alice", repositories=installed)
    # A repository hook as well: GitHub sends the App nothing about a repository outside its
    # installation, but the event may still reach us (the repository was removed meanwhile).
    hook = {"config": {"url": unreachable}, "events": ["issues"]}
    sim.client(sim.token("alice")).post("/repos/alice/demo/hooks", json=hook).raise_for_status()
    issue = sim.admin.open_issue("alice", "demo", title="It crashes", author="bob")
    assert sim.admin.wait_for_deliveries(timeout=20)
    payload = {
        **sim.admin.deliveries(event="issues")[0]["payload"],
        "installation": {"id": installation},
    }
    config = app_settings(sim, tmp_path, database_url=database_url, **settings)
    runtime = build_worker_runtime(config, celery=create_celery(config))
    job_id = add_job(
        engine,
        agent="respond",
        options=OPTIONS,
        payload=json.dumps(payload).encode(),
        max_attempts=5,
    )
    return Scene(
        sim=sim,
        engine=engine,
        runtime=runtime,
        issue=int(issue["number"]),
        job_id=job_id,
    )


@pytest.fixture
def scene(sim: SimHandle, engine: Engine, tmp_path: Path, database_url: str) -> Scene:
    return scene_for(sim, engine=engine, tmp_path=tmp_path, database_url=database_url)


@postgresql_only
@pytest.mark.parametrize("status", [403, 429])
def test_primary_limit_on_a_write_waits_for_the_reset_in_the_database(
    scene: Scene, status: int
) -> None:
    scene.sim.admin.inject_fault(
        "primary_rate_limit", status=status, method="POST", path=COMMENTS, reset_in=1200
    )
    assert scene.run() is Outcome.RETRY
    row = scene.row()
    assert row.state == "queued"
    assert "primary rate limit" in row.reason
    assert 1190 <= scene.wait_s() <= 1300
    assert row.enqueued_at is None  # no Celery countdown: the reconciler publishes it when due
    assert scene.comments() == []
    scene.make_due()
    assert scene.run() is Outcome.SUCCEEDED
    assert len(scene.comments()) == 1


@postgresql_only
@pytest.mark.parametrize(
    "path", [r"/access_tokens$", r"/contents/\.github/hookwise\.yml$"], ids=["token", "config"]
)
def test_a_limit_outside_pygithub_calls_reschedules_too(scene: Scene, path: str) -> None:
    """Minting the installation token and reading the repository's config use raw requests;
    their rate limits must reschedule the job like any other call, not fail it."""
    scene.sim.admin.inject_fault("primary_rate_limit", status=429, path=path, reset_in=300)
    assert scene.run() is Outcome.RETRY
    assert "primary rate limit" in scene.row().reason
    assert 290 <= scene.wait_s() <= 400


@postgresql_only
def test_secondary_limit_honours_retry_after_then_backs_off(scene: Scene) -> None:
    admin = scene.sim.admin
    admin.inject_fault("secondary_rate_limit", method="POST", path=COMMENTS, retry_after=7)
    assert scene.run() is Outcome.RETRY
    assert "secondary rate limit" in scene.row().reason
    assert 7 <= scene.wait_s() <= 7 * 1.1 + 1
    assert scene.row().enqueued_at is not None  # short enough for a Celery countdown

    # Without `retry-after` GitHub means "a minute"; the limit coming back doubles the wait.
    scene.make_due()
    admin.inject_fault("secondary_rate_limit", method="POST", path=COMMENTS, retry_after=None)
    assert scene.run() is Outcome.RETRY
    assert 120 <= scene.wait_s() <= 120 * 1.1 + 1
    assert scene.row().enqueued_at is None  # too long for a countdown: waits in the database

    scene.make_due()
    assert scene.run() is Outcome.SUCCEEDED
    assert len(scene.comments()) == 1


@postgresql_only
def test_a_5xx_on_a_write_retries_after_a_short_jittered_backoff(scene: Scene) -> None:
    scene.sim.admin.inject_fault("error", status=502, method="POST", path=COMMENTS)
    assert scene.run() is Outcome.RETRY
    assert "GitHub 502" in scene.row().reason
    assert 2.5 <= scene.wait_s() <= 5 + 1  # attempt 1: uniform(2.5, 5)
    scene.make_due()
    assert scene.run() is Outcome.SUCCEEDED
    assert len(scene.comments()) == 1


@postgresql_only
def test_a_timeout_retries_the_job(
    sim: SimHandle, engine: Engine, tmp_path: Path, database_url: str
) -> None:
    scene = scene_for(
        sim, engine=engine, tmp_path=tmp_path, database_url=database_url, github_timeout_seconds=1
    )
    # Every read of the issue's labels hangs past the client's timeout, in-place retries included.
    sim.admin.inject_fault("slow", method="GET", path=r"/issues/\d+/labels$", delay=2.5, count=3)
    assert scene.run() is Outcome.RETRY
    assert "unreachable" in scene.row().reason
    assert [fault for fault in sim.admin.pending_faults() if fault["remaining"]] == []
    scene.make_due()
    assert scene.run() is Outcome.SUCCEEDED
    assert len(scene.comments()) == 1


@postgresql_only
def test_other_4xx_fail_the_job_with_githubs_message(
    sim: SimHandle, engine: Engine, tmp_path: Path, database_url: str
) -> None:
    # The App is installed on alice/other only: its token may read the public alice/demo but
    # not write there, and GitHub says so.
    scene = scene_for(
        sim, engine=engine, tmp_path=tmp_path, database_url=database_url, installed=["other"]
    )
    assert scene.run() is Outcome.FAILED
    row = scene.row()
    assert row.state == "failed"
    assert row.reason == "GitHub 403: Resource not accessible by integration"
    assert row.attempts == 1  # not retried
    assert scene.comments() == []


def test_retry_delays_are_jittered_capped_and_honour_githubs_wait() -> None:
    plain = [retry_delay(attempt=1, retry_after=None, escalate=False) for _ in range(200)]
    assert all(2.5 <= delay <= 5 for delay in plain)
    assert statistics.pstdev(plain) > 0.3  # jittered: jobs failed together do not retry together
    late = [retry_delay(attempt=30, retry_after=None, escalate=False) for _ in range(200)]
    assert max(late) <= 600  # capped
    # A primary limit's reset is a floor, not a start for growth.
    assert retry_delay(attempt=3, retry_after=900, escalate=False) == 900
    # A secondary limit doubles per attempt, capped at an hour, never below GitHub's wait.
    assert 240 <= retry_delay(attempt=3, retry_after=60, escalate=True) <= 264
    assert 3600 <= retry_delay(attempt=12, retry_after=60, escalate=True) <= 3960
    assert 5000 <= retry_delay(attempt=1, retry_after=5000, escalate=True) <= 5500
